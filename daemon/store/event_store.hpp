// Applies batches of events to the database: the raw event log, the runs and units indexes.
//
// Idempotence: each event is keyed by (run, hash of its raw line). A line seen again, from the
// same source or another (the watcher and `ingest` reading the same file), changes nothing.
// Counters on `runs` are only moved by newly inserted events, so they stay exact.
//
// Not thread-safe: the writer thread owns the one EventStore.
#pragma once

#include "daemon/store/batch.hpp"
#include "daemon/store/database.hpp"

#include <string>
#include <unordered_map>

namespace ca::store {

class EventStore {
public:
  explicit EventStore(Database& db) : m_db(db) {}

  // Applies one batch inside the caller's transaction. On error the caller rolls back, and
  // must call forget_cache() since cached run rows may not exist any more.
  Result<BatchOutcome> apply(const Batch& batch);

  // Drops cached run ids and sequence numbers (after a rollback).
  void forget_cache() { m_runs.clear(); }

private:
  struct RunCache {
    int64_t id = 0;
    int64_t next_seq = 0;
  };
  struct RunDelta {
    int64_t units_total = 0, units_new = 0, units_dirty = 0, units_fresh = 0;
    int64_t units_started = 0, units_finished = 0, events = 0;
    double last_elapsed = 0;
    int64_t last_event_ns = 0;
    bool units_changed = false; // units registered or fingerprinted: roots to recompute
  };

  Result<RunCache*> run_row(const std::string& run_id, const std::string& source);
  Result<bool> apply_event(const cargo_analysis::v1::Event& e, RunCache& run, RunDelta& delta);
  Result<void> apply_facts(const RunFacts& facts);
  Result<void> flush_delta(int64_t run, const RunDelta& d);
  Result<void> propagate_session(const std::string& run_id);

  Database& m_db;
  std::unordered_map<std::string, RunCache> m_runs;
};

// Decides a finished run's state from its counters: `interrupted` if its log was empty or cut,
// `failed` if a unit started and never finished or the exit code is non-zero, else `completed`.
std::string final_state(bool log_truncated,
                        int64_t events,
                        int64_t units_started,
                        int64_t units_finished,
                        std::optional<int> exit_code);

// 64-bit FNV-1a of a line: the idempotence key of an event within its run.
uint64_t line_hash(std::string_view line);

} // namespace ca::store
