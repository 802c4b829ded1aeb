// Reports computed once, when a run ends, and stored with it.
//
// A report on a run the daemon has not answered for since it started would otherwise decode
// every stored line of the run and analyse it: a few milliseconds for a build of a few hundred
// units, most of the time of a `report` command. Once a run has ended its events no longer
// change, so its rebuilds (the roots, what the text report reads) and its timings are computed
// right then, on a thread of their own, and stored in `run_reports` through the writer; a later
// report reads one row. Stored reports carry what they were computed from (the run's event
// count and state, and k_report_format), so a run that gets more lines afterwards, or a daemon
// whose analysis changed, computes them again instead of answering from a stale row.
//
// What a query computes for an ended run that had no stored report (a run from before this
// daemon version, or one the thread had not reached yet) is stored too, by the QueryEngine
// through the same sink (see QueryEngine's constructor), so every ended run is analysed at most
// once per format. The engine knows nothing of this class: it returns what precompute()
// computed, and this thread submits it.
#pragma once

#include "daemon/query/stored_kind.hpp"
#include "daemon/store/batch_sink.hpp"
#include "daemon/store/run_reader.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace ca::query {

class QueryEngine;

class ReportPrecomputer {
public:
  // Starts the thread. `engine` and `sink` outlive this object (stop() it before either).
  ReportPrecomputer(QueryEngine& engine, store::BatchSink& sink);
  ~ReportPrecomputer(); // stop()s
  ReportPrecomputer(const ReportPrecomputer&) = delete;
  ReportPrecomputer& operator=(const ReportPrecomputer&) = delete;

  // The run ended: compute and store its reports. Never blocks (call it from the writer's
  // commit observer).
  void run_ended(std::string run_id);

  // Queues every ended run whose reports are not stored for this format (runs stored by an
  // older daemon, or ended while the thread was behind when the daemon stopped), newest first.
  // Returns how many.
  Result<size_t> catch_up(store::ReaderPool& readers);

  // Stores the reports already computed, leaves the runs not yet computed (their reports are
  // computed when first asked for) and joins the thread. Idempotent.
  void stop();

  // Blocks until everything queued before this call is done (for tests and benchmarks).
  void flush();

  struct Stats {
    uint64_t pending = 0;  // runs waiting
    uint64_t computed = 0; // runs whose reports this thread computed or found stored
    uint64_t stored = 0;   // report rows handed to the writer
    uint64_t failed = 0;   // runs whose reports could not be computed (the error is logged)
  };
  Stats stats() const;

private:
  void loop();
  void push(std::string run_id);

  QueryEngine& m_engine;
  store::BatchSink& m_sink;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::condition_variable m_idle;
  std::deque<std::string> m_queue; // run ids
  bool m_busy = false;
  bool m_stopping = false;
  std::atomic<bool> m_stop_requested{false}; // m_stopping, read between two runs' computations
  bool m_exited = false;
  Stats m_stats;
  std::thread m_thread;
};

} // namespace ca::query
