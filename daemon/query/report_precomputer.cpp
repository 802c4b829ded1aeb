#include "daemon/query/report_precomputer.hpp"

#include "daemon/query/query_engine.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <vector>

namespace ca::query {

ReportPrecomputer::ReportPrecomputer(QueryEngine& engine, store::BatchSink& sink)
    : m_engine(engine), m_sink(sink), m_thread([this] { loop(); }) {}

ReportPrecomputer::~ReportPrecomputer() {
  stop();
}

void ReportPrecomputer::run_ended(std::string run_id) {
  push(std::move(run_id));
}

Result<size_t> ReportPrecomputer::catch_up(store::ReaderPool& readers) {
  CA_TRY_ASSIGN(auto reader, readers.lease());
  CA_TRY_ASSIGN(auto runs, reader->runs_without_reports(k_stored_kinds, k_report_format));
  for (std::string& run_id : runs) {
    push(std::move(run_id));
  }
  return runs.size();
}

void ReportPrecomputer::push(std::string run_id) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      return; // the reports are computed when first asked for, and stored then
    }
    m_queue.push_back(std::move(run_id));
    ++m_stats.pending;
  }
  m_cv.notify_one();
}

void ReportPrecomputer::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_stop_requested = true;
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void ReportPrecomputer::flush() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [this] { return (m_queue.empty() && !m_busy) || m_exited; });
  lock.unlock();
  m_sink.flush();
}

ReportPrecomputer::Stats ReportPrecomputer::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

void ReportPrecomputer::loop() {
  // Below the threads that answer requests and store events: a catch-up of thousands of runs
  // after an upgrade must not slow either down. (Linux: a thread's nice value is its own.)
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10) != 0) {
    spdlog::debug("reports thread keeps its priority: {}", std::strerror(errno));
  }
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_cv.wait(lock, [this] { return !m_queue.empty() || m_stopping; });
    if (m_queue.empty()) {
      break; // stopping, and nothing left
    }
    // Everything queued now, as one batch for the writer: a back-fill ends hundreds of runs in
    // a row, and one transaction stores all their reports.
    std::deque<std::string> runs;
    runs.swap(m_queue);
    m_busy = true;
    lock.unlock();

    store::Batch batch;
    batch.source = "reports";
    uint64_t computed = 0;
    uint64_t failed = 0;
    for (const std::string& run_id : runs) {
      if (m_stop_requested.load(std::memory_order_relaxed)) {
        continue; // only store what is computed: a catch-up of many runs never holds up a stop
      }
      auto done = m_engine.precompute(run_id, &m_stop_requested);
      if (done) {
        ++computed;
        std::move(done->begin(), done->end(), std::back_inserter(batch.reports));
      } else if (m_stop_requested.load(std::memory_order_relaxed)) {
        continue; // cut short by stop(): computed when first asked for
      } else {
        ++failed;
        spdlog::warn("reports of run {}: {}", run_id, done.error().message);
      }
    }
    const uint64_t stored = batch.reports.size();
    if (!batch.reports.empty()) {
      m_sink.submit(std::move(batch)); // the rows are a cache: a failed commit loses nothing
    }

    lock.lock();
    m_busy = false;
    m_stats.pending -= runs.size();
    m_stats.computed += computed;
    m_stats.failed += failed;
    m_stats.stored += stored;
    if (m_queue.empty()) {
      m_idle.notify_all();
    }
  }
  m_busy = false;
  m_exited = true;
  m_idle.notify_all();
}

} // namespace ca::query
