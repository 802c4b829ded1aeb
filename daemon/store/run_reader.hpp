// The read side of the store: runs, sessions and events, on a read-only connection of its own
// (WAL lets it read while the writer writes). One RunReader per thread; ReaderPool hands them
// out to concurrent requests.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/batch.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/raw_log.hpp"
#include "daemon/store/resource_samples.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/display_command.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ca::store {

struct StoreCounts {
  uint64_t events = 0;
  uint64_t runs = 0;
  uint64_t sessions = 0;
  uint64_t runs_in_progress = 0;
};

// A unit of a run as the `units` table has it: enough for reports that need no events.
struct StoredUnit {
  uint32_t index = 0;
  std::string package_id;
  std::string name;
  std::string version;
  std::string target_name;
  std::string target_kind;
  std::string mode;
  std::string platform;
  std::vector<uint32_t> dependencies;
  std::string fingerprint; // new, dirty, fresh; "" before its fingerprint was logged
  std::string cause;       // the DirtyReason, protobuf-encoded; "" if none
  std::optional<double> start;
  std::optional<double> rmeta;
  std::optional<double> finish;
  bool root = false; // a root rebuild (see trend_index.hpp)
  // Activated features in cargo's order; `features_known` is false for rows stored before the
  // schema kept them (version 5).
  std::vector<std::string> features;
  bool features_known = false;
};

// A run as the explanations of `report rebuilds` and `report thrash` describe it.
struct RunConfig {
  std::string run_id;
  std::string session_id;
  std::string command;      // cargo's argv as a JSON array, as stored
  std::string command_line; // the same for display (see display_command())
  int64_t start_unix_ms = 0;
  std::string profile;
  std::string target_dir;
  std::string rustc_version;
};

// A unit of a run, with its run.
struct RunUnit {
  RunConfig run;
  StoredUnit unit;
};

// The stored history a trends query covers.
struct TrendScope {
  std::string workspace_root; // only runs in this workspace; "" = every workspace
  // Only runs of these sessions; unset = the whole history.
  std::optional<std::vector<std::string>> sessions;
};

// A run as trends read it.
struct TrendRun {
  std::string run_id;
  std::string session_id;
  std::string parent_run_id; // "" for a top-level run
  std::string state;
  std::string command; // cargo's argv as a JSON array, as stored
  int64_t start_unix_ms = 0;
  double duration_secs = 0;
};

// One unit (package name, target, mode) over the runs in scope that compiled it.
struct TrendUnitTime {
  std::string name;
  std::string target_name;
  std::string target_kind;
  std::string mode;
  std::string package_id; // of a recent build
  std::string version;
  int64_t builds = 0;
  double total_secs = 0;
  double max_secs = 0;
};

// How often one unit was a dirty root rebuild for one cause (`units.cause_key`), with the newest
// occurrence as an example.
struct TrendRootCause {
  std::string name;
  std::string target_name;
  std::string target_kind;
  std::string mode;
  std::string package_id; // of the example
  std::string version;
  std::string cause_key;
  std::string cause_kind;
  int64_t count = 0;
  std::string example_run_id;
  uint32_t example_index = 0;
  std::string example_cause; // DirtyReason, protobuf-encoded
  std::string example_workspace_root;
};

// One crate (package id) over the runs that started in a range: `report slowest-crates`.
struct CrateTotal {
  std::string package_id;
  std::string name;
  std::string version;
  uint64_t runs = 0;                 // runs that compiled one of its units
  uint64_t compiles = 0;             // units of it compiled (started and finished)
  double total_secs = 0;             // their finish - start, summed
  std::vector<std::string> machines; // team reports only: the machine labels, sorted
};

class RunReader {
public:
  static Result<std::unique_ptr<RunReader>> open(const std::filesystem::path& db_path);

  // The run with this cargo run id; not_found if none.
  Result<cargo_analysis::v1::RunSummary> run(const std::string& run_id);

  // Runs of a session in start order (empty if no such session).
  Result<std::vector<cargo_analysis::v1::RunSummary>> session_runs(const std::string& session_id);

  // Session ids, newest first by their first run's start; only those with a run (top-level or
  // nested) in `workspace_root` unless it is empty. At most `limit` (+1, to tell truncation).
  Result<std::vector<std::string>> recent_sessions(const std::string& workspace_root, size_t limit);

  // The newest run id, of `workspace_root` unless empty; not_found if none.
  Result<std::string> newest_run(const std::string& workspace_root);

  // --- Time ranges (run_reader_ranges.cpp). A range is [since_ms, until_ms) over a run's start
  // (a session's: its first run's), in milliseconds since the Unix epoch.

  // As recent_sessions(), only sessions whose first run started in the range.
  Result<std::vector<std::string>> sessions_in_range(const std::string& workspace_root,
                                                     int64_t since_ms,
                                                     int64_t until_ms,
                                                     size_t limit);

  // The newest run (top-level or nested) that started in the range, of `workspace_root` unless
  // empty, and how many runs started in it; `run_id` is empty when none did.
  struct NewestInRange {
    std::string run_id;
    uint64_t matched = 0;
  };
  Result<NewestInRange>
  newest_run_in_range(const std::string& workspace_root, int64_t since_ms, int64_t until_ms);

  // Runs that started in the range, of every workspace.
  Result<uint64_t> runs_in_range(int64_t since_ms, int64_t until_ms);

  // Per crate (package id), the compiled units (started and finished) of the runs of every
  // workspace that started in the range, in no particular order.
  Result<std::vector<CrateTotal>> crate_totals(int64_t since_ms, int64_t until_ms);

  // The stored workspace root that contains `dir` (the deepest one), or "" if none does.
  Result<std::string> workspace_containing(const std::filesystem::path& dir);

  // The run's events, decoded from the stored lines, in position order.
  Result<std::vector<cargo_analysis::v1::Event>> events(const std::string& run_id);

  // The run's stored lines, verbatim, with their positions (for `--raw` and export; reports
  // read events or units). not_found if there is no such run.
  Result<RawBlock> raw_lines(const std::string& run_id);

  // The same, for a report that reads them once: decoded onto `arena` (valid while it lives, so
  // that decoding and freeing them cost a few block allocations instead of one per string),
  // and only the events whose reason is in `reasons` (the other lines are not decoded at all);
  // every event when `reasons` is empty. `stored` counts the run's stored lines, filtered or
  // not, as read in the same statement, so a caller can tell whether they are the lines a
  // RunSummary's `events` count describes.
  struct ArenaEvents {
    std::vector<const cargo_analysis::v1::Event*> events;
    uint64_t stored = 0;
  };
  // A set `cancel` ends the read early with an `unavailable` error (a daemon that stops does not
  // wait for a run of hundreds of thousands of lines to be decoded).
  Result<ArenaEvents> events(const std::string& run_id,
                             google::protobuf::Arena& arena,
                             std::span<const std::string_view> reasons = {},
                             const std::atomic<bool>* cancel = nullptr);

  // The body of the run's stored report of `kind` (see StoredReport) if one was computed by
  // analysis code of `format` from exactly the run's current `events` and `state`; nullopt
  // otherwise (none stored, or stale).
  Result<std::optional<std::string>>
  stored_report(const cargo_analysis::v1::RunSummary& run, int kind, int format);

  // Ended runs without a current stored report of each of `kinds` kinds (see stored_report()),
  // newest first: what a daemon whose analysis changed, or that stored none before, computes.
  Result<std::vector<std::string>> runs_without_reports(int kinds, int format);

  Result<StoreCounts> counts();

  // Every checkpointed log file (the `sources` table), for the log watcher's back-fill.
  Result<std::vector<WatchedFile>> watched_files();

  // The units of a run by index, from the `units` table (no events decoded). Empty if the run
  // has none or does not exist.
  Result<std::vector<StoredUnit>> units(const std::string& run_id);

  // The builds of one package target (package `name`, target `target_name` of `target_kind`)
  // in the newest run of `workspace_root` that started before the run `before_run_id` (which
  // started at `before_unix_ms`; a run of the same millisecond counts as earlier when its id
  // sorts first) and registered such a unit: every such unit of that run (a run can build one
  // target in several modes or for several platforms). Empty if no earlier run built it.
  Result<std::vector<RunUnit>> earlier_builds(const std::string& workspace_root,
                                              const std::string& name,
                                              const std::string& target_name,
                                              const std::string& target_kind,
                                              int64_t before_unix_ms,
                                              const std::string& before_run_id);

  // The newest `last_runs` runs of `workspace_root` (every run when 0), oldest first.
  Result<std::vector<RunConfig>> recent_runs(const std::string& workspace_root, size_t last_runs);

  // Every unit of those runs (see recent_runs()) with its run, by run (oldest first), then index.
  // Causes are read only for units that were rebuilt (dirty or new).
  Result<std::vector<RunUnit>> recent_units(const std::string& workspace_root, size_t last_runs);

  // Every run in scope, oldest first.
  Result<std::vector<TrendRun>> trend_runs(const TrendScope& scope);

  // The `limit` units with the longest mean compile time over the runs in scope that compiled
  // them (started and finished), slowest first. The whole history is read from `unit_trends`
  // (a row per workspace and unit), a scope of sessions from those sessions' unit rows.
  Result<std::vector<TrendUnitTime>> trend_unit_times(const TrendScope& scope, size_t limit);

  // Dirty root rebuilds in scope grouped by unit and cause key, in no particular order.
  Result<std::vector<TrendRootCause>> trend_root_causes(const TrendScope& scope);

  // The CPU and memory samples stored with the run, in time order (empty if it was not sampled
  // or does not exist). Defined in daemon/store/resource_samples.cpp.
  Result<std::vector<ResourceSample>> resource_samples(const std::string& run_id);

private:
  explicit RunReader(std::unique_ptr<Database> db) : m_db(std::move(db)) {}
  Result<std::vector<cargo_analysis::v1::RunSummary>> runs_where(const char* sql,
                                                                 const std::string& arg);

  std::unique_ptr<Database> m_db;
  codec::EventDecoder m_decoder;
};

// A few RunReaders shared by request threads: lease() gives one exclusively until the lease
// dies; a new one is opened when all are busy.
class ReaderPool {
public:
  explicit ReaderPool(std::filesystem::path db_path) : m_path(std::move(db_path)) {}

  class Lease {
  public:
    Lease(ReaderPool& pool, std::unique_ptr<RunReader> r) : m_pool(&pool), m_reader(std::move(r)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    RunReader* operator->() { return m_reader.get(); }
    RunReader& operator*() { return *m_reader; }

  private:
    ReaderPool* m_pool;
    std::unique_ptr<RunReader> m_reader;
  };

  Result<Lease> lease();

private:
  std::filesystem::path m_path;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<RunReader>> m_idle;
};

using ca::display_command; // shared/display_command.hpp

} // namespace ca::store
