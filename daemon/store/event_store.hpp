// Applies batches of events to the database: the raw log blocks, the runs and units indexes.
//
// Idempotence: each line has a position in its run (its line number; see raw_log.hpp), and a
// run's watermark says which positions are taken. A line at a taken position with the same
// bytes, from the same source or another (the watcher and `ingest` reading the same file, a
// Publish resend), changes nothing; with other bytes it is reported as diverging and dropped.
// Counters on `runs` are only moved by newly taken lines, so they stay exact.
//
// Not thread-safe: the writer thread owns the one EventStore.
#pragma once

#include "daemon/store/batch.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/raw_log.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace ca::store {

class EventStore {
public:
  explicit EventStore(Database& db) : m_db(db) {}

  // Applies one batch inside the caller's transaction. On error the caller rolls back, and
  // must call forget_cache() since cached run rows may not exist any more.
  Result<BatchOutcome> apply(const Batch& batch);

  // Runs whose rows are cached: those seen since they were last read, until they end.
  size_t cached_runs() const { return m_runs.size(); }

  // Drops cached run rows and unit keys (after a rollback).
  void forget_cache() {
    m_runs.clear();
    m_unit_keys.clear();
  }

private:
  // A unit registered by the batch under way: its row is written once, at the end of the batch,
  // with what the batch's later events say of it (fingerprint, times), instead of an INSERT and
  // four UPDATEs.
  struct PendingUnit {
    int64_t key = 0;
    std::string package_id, name, version, target_name, target_kind, mode;
    bool requested = false;
    std::string dependencies;
    std::optional<std::string> fingerprint, cause_kind, cause;
    std::optional<double> start, rmeta, finish;
  };
  struct RunCache {
    int64_t id = 0;
    uint64_t raw_last = 0; // the watermark: highest position taken
    uint64_t raw_hash = k_roll_hash_seed;
    std::string workspace_root;                // for the trend index
    RawBlock pending;                          // lines taken by the batch under way
    std::map<uint32_t, PendingUnit> new_units; // units registered by the batch under way
    std::optional<RawBlock> stored;            // the stored lines, read once a resend needs them
    // Hashes of every line of the run, built on the first line without a position (a producer
    // that does not number its lines is deduplicated by content, as before positions existed).
    std::optional<std::unordered_set<uint64_t>> contents;
  };
  struct RunDelta {
    int64_t units_total = 0, units_new = 0, units_dirty = 0, units_fresh = 0;
    int64_t units_started = 0, units_finished = 0, events = 0;
    double last_elapsed = 0;
    int64_t last_event_ns = 0;
    bool units_changed = false; // units registered or fingerprinted: roots to recompute
  };

  Result<RunCache*> run_row(const std::string& run_id, const std::string& source);
  // Takes the event's line at `position` (0: next) unless that position is taken; returns
  // whether it was new. A taken position with other bytes is counted in `out` as diverged.
  Result<bool> take_line(RunCache& run,
                         const std::string& run_id,
                         uint64_t position,
                         std::string_view raw,
                         BatchOutcome& out);
  Result<void> apply_event(const cargo_analysis::v1::Event& e, RunCache& run, RunDelta& delta);
  Result<void> flush_lines(RunCache& run);
  // Writes the batch's new units; returns how many rows were inserted.
  Result<int64_t> flush_units(RunCache& run);
  // The `unit_keys` row of a unit identity, inserted if new (cached).
  Result<int64_t> unit_key(std::string_view package_id,
                           std::string_view name,
                           std::string_view version,
                           std::string_view target_name,
                           std::string_view target_kind,
                           std::string_view mode,
                           std::string_view platform,
                           std::string_view features);
  Result<void> apply_facts(const RunFacts& facts);
  Result<void> flush_delta(int64_t run, const RunDelta& d);
  Result<void> propagate_session(const std::string& run_id);

  Database& m_db;
  std::unordered_map<std::string, RunCache> m_runs;
  std::unordered_map<std::string, int64_t> m_unit_keys;
  // Line buffers of flushed blocks, kept for the next batch's runs: growing a fresh buffer to a
  // run's 230 KB page-faulted on every batch.
  static constexpr size_t k_spare_blocks = 8;
  std::vector<RawBlock> m_spare;
};

// Decides a finished run's state from its counters: `interrupted` if its log was empty or cut,
// `failed` if a unit started and never finished or the exit code is non-zero, else `completed`.
std::string final_state(bool log_truncated,
                        int64_t events,
                        int64_t units_started,
                        int64_t units_finished,
                        std::optional<int> exit_code);

} // namespace ca::store
