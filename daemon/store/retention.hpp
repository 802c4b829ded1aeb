// Retention: which stored builds the daemon forgets, and reclaiming their space.
//
// The unit of deletion is the session (the runs sharing `runs.session_id`): a session's tree of
// nested runs is only meaningful whole, so it is kept or deleted whole, and a session with a run
// still in progress is always kept. A session's age is that of its newest run's start.
//
// The policy is applied in three passes over the sessions, newest first:
//   1. age: sessions whose newest run started more than `max_age` ago go;
//   2. count: of the rest, those beyond the newest `max_sessions` go;
//   3. size: if the pages in use (the file without its free pages) exceed `max_bytes`, the
//      oldest remaining sessions go until the estimate fits. A session's share of the database is
//      estimated from its rows: bytes in use * (its events + runs) / (all events + runs).
// Measuring pages in use rather than the file matters: deleted rows leave free pages behind, and
// a file that has not been vacuumed yet must not make the next pass delete more.
//
// What is deleted: the sessions' rows in `runs`, `units` and `events`, and their contribution to
// `unit_trends` (the running totals are recomputed for the units they touched). The `sources`
// rows (the watcher's read position in each log file) are kept: without them the watcher would
// read the logs of deleted runs again and store them anew.
//
// Reclaiming space: after a deletion the freed pages go to SQLite's freelist and are reused by
// later inserts. The file only shrinks with VACUUM, which rewrites the whole database (seconds
// for a large one, on the writer thread), so it runs when asked or when more than a quarter of
// the pages are free, followed by a TRUNCATE checkpoint to give the WAL's space back too.
#pragma once

#include "daemon/store/database.hpp"
#include "shared/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace ca::store {

// Defaults: three months of history, which a trend report can still use; a session count
// no one reaches in that time by hand (about a thousand builds a day) but that bounds an
// automated build farm's database; and a size cap that stays a small share of a developer disk.
inline constexpr std::chrono::hours k_default_max_age{24 * 90};
inline constexpr uint64_t k_default_max_sessions = 100000;
inline constexpr uint64_t k_default_max_bytes = uint64_t{2} << 30; // 2 GiB

// A run still `in_progress` whose newest event (or, with none, its start) is older than this is
// ended by inference as `interrupted`: its writer is gone (a log that stopped being written, a
// file named like a log that never held one) and the run would otherwise keep its session from
// ever being collected. A week: far beyond any build's silence, and a `cargo run` that holds its
// log that long loses nothing but the word `in_progress`.
inline constexpr std::chrono::hours k_default_stale_after{24 * 7};

// Vacuum without being asked once more than this share of the pages is free.
inline constexpr double k_vacuum_free_ratio = 0.25;

struct RetentionPolicy {
  // Each limit is off when zero.
  std::chrono::milliseconds max_age = k_default_max_age;
  uint64_t max_sessions = k_default_max_sessions;
  uint64_t max_bytes = k_default_max_bytes;
  // Runs in progress with no event for longer than this are ended first (0: never).
  std::chrono::milliseconds stale_after = k_default_stale_after;
  // VACUUM even if few pages are free.
  bool vacuum = false;
  // Count what would be deleted, delete nothing, reclaim nothing.
  bool dry_run = false;
  // "Now" for the age limit, in Unix milliseconds; 0 means the system clock's now.
  int64_t now_unix_ms = 0;
};

struct GcOutcome {
  uint64_t sessions_deleted = 0;
  uint64_t runs_deleted = 0;
  uint64_t events_deleted = 0;
  uint64_t sessions_kept = 0;
  // Runs in progress ended by inference (policy.stale_after); for a dry run, those that would be.
  uint64_t runs_ended_stale = 0;
  // The database file plus its WAL, before and after. For a dry run, `bytes_after` is the
  // estimate of the space in use once the sessions are gone (the file would not shrink
  // without a vacuum).
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  bool vacuumed = false;
  bool dry_run = false;
};

// Applies `policy` to the database (the writer's connection: call it on the writer thread, see
// Writer::run_exclusive). Deletes in one transaction, then vacuums if asked or worthwhile.
// Returns a database error if the deletion failed (nothing is deleted then); a failed VACUUM or
// checkpoint after a committed deletion is logged and not an error (the rows are gone, the space
// is reused by later inserts).
Result<GcOutcome> collect_garbage(Database& db, const RetentionPolicy& policy);

// MiB to bytes, saturating (a limit too large to represent is no limit in practice).
inline uint64_t mib_to_bytes(uint64_t mib) {
  return mib > (UINT64_MAX >> 20) ? UINT64_MAX : mib << 20;
}

// "3 sessions (7 runs, 2051 events) deleted; database 48.2 MB -> 31.0 MB (vacuumed)", for logs.
std::string describe(const GcOutcome& outcome);

// The size of the database file plus its WAL, in bytes (0 for missing files).
uint64_t database_file_bytes(const Database& db);

} // namespace ca::store
