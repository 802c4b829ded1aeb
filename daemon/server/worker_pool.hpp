// A few threads for the unary calls' work (reports, status, announcements, collect), so that a
// gRPC callback thread only hands a call over and returns: SQLite reads and a VACUUM never run
// on, and never wait on, a thread gRPC needs to move every other call along. The task finishes
// its reactor itself (grpc::ServerUnaryReactor::Finish may be called from any thread).
//
// Several threads: a slow report or a Collect waiting for its VACUUM takes one, and a `status`
// call finds another.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ca::server {

class WorkerPool {
public:
  static constexpr unsigned k_default_threads = 4;

  explicit WorkerPool(unsigned threads = k_default_threads);
  ~WorkerPool(); // stop()s
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` for a worker. After stop() it runs at once on the caller's thread, so that a
  // call is always finished. A task that throws is a bug: it is logged and the worker goes on.
  void post(std::function<void()> task);

  // Runs every task queued so far, then joins the workers. Idempotent.
  void stop();

private:
  void work();

  std::mutex m_mutex;
  std::condition_variable m_has_work;
  std::deque<std::function<void()>> m_tasks;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

} // namespace ca::server
