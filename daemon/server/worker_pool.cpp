#include "daemon/server/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace ca::server {

namespace {

void run_task(const std::function<void()>& task) {
  try {
    task();
  } catch (const std::exception& e) {
    spdlog::error("worker: a task failed: {}", e.what()); // never take the worker down
  }
}

} // namespace

WorkerPool::WorkerPool(unsigned threads) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    m_threads.emplace_back([this] { work(); });
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_stopping) {
      m_tasks.push_back(std::move(task));
      m_has_work.notify_one();
      return;
    }
  }
  run_task(task);
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_has_work.notify_all();
  for (auto& t : m_threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_has_work.wait(lock, [&] { return m_stopping || !m_tasks.empty(); });
      if (m_tasks.empty()) {
        return; // stopping, and drained
      }
      task = std::move(m_tasks.front());
      m_tasks.pop_front();
    }
    run_task(task);
  }
}

} // namespace ca::server
