// Answers report requests from the store: the one place where requests become reports, shared
// by every gRPC service (and so by the CLI and IDEs alike).
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/query/run_result_cache.hpp"
#include "daemon/store/batch.hpp"
#include "daemon/store/batch_sink.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace ca::query {

// How many runs' rebuilds and timings a QueryEngine keeps computed. Reports are asked about the
// last few builds, over and over (an IDE refreshing, `report` after each build, a diff then a
// report of both sides); 64 covers several sessions of nested runs. An entry costs about what
// the report's message does: some hundred KiB for a clean build of a few hundred units (corpus
// C), a few MiB for thousands of units.
inline constexpr std::size_t k_result_cache_runs = 64;

class QueryEngine {
public:
  // `cache_runs`: see k_result_cache_runs; 0 computes every report from the events each time.
  // Nothing a query computes is stored.
  explicit QueryEngine(store::ReaderPool& readers, std::size_t cache_runs = k_result_cache_runs)
      : m_readers(readers), m_cache(cache_runs) {}

  // As above, and a report that a query computed from the events of an ended run (no stored
  // report matched it) is handed to `reports` to be stored in `run_reports`, one batch each,
  // through try_submit(): a query thread never waits for the store. When the sink is full the
  // report is not stored, and is computed again when next asked for (the rows are a cache).
  // `reports` outlives this object.
  QueryEngine(store::ReaderPool& readers,
              store::BatchSink& reports,
              std::size_t cache_runs = k_result_cache_runs)
      : m_readers(readers), m_cache(cache_runs), m_reports(&reports) {}

  // Sessions newest first, each as its tree of runs. not_found (cargo's wording: "no sessions
  // found for workspace at `<dir>`") when the filter matches nothing.
  Result<cargo_analysis::v1::ListSessionsResponse>
  list_sessions(const cargo_analysis::v1::ListSessionsRequest& req);

  // One session by session id or by any of its runs' ids.
  Result<cargo_analysis::v1::Session> get_session(const cargo_analysis::v1::GetSessionRequest& req);

  Result<cargo_analysis::v1::GetRebuildsResponse>
  get_rebuilds(const cargo_analysis::v1::GetRebuildsRequest& req);

  Result<cargo_analysis::v1::GetTimingsResponse>
  get_timings(const cargo_analysis::v1::GetTimingsRequest& req);

  // get_timings(), serialized (a GetTimingsResponse), for the client socket: each run's report
  // is sent as cached or stored, without being parsed, copied and serialized again (a report
  // of a few hundred units is some 70 KB of messages). Parses as get_timings()'s answer does.
  Result<std::string> get_timings_serialized(const cargo_analysis::v1::GetTimingsRequest& req);

  // The critical path of each run `id` names (see critical_path_report()); errors as
  // get_timings().
  Result<cargo_analysis::v1::GetCriticalPathResponse>
  get_critical_path(const cargo_analysis::v1::GetCriticalPathRequest& req);

  // `b` compared with `a` (see daemon/query/diff.hpp). invalid_argument if an id is missing or
  // malformed, not_found (naming the id) if one is unknown.
  Result<cargo_analysis::v1::DiffResponse> diff(const cargo_analysis::v1::DiffRequest& req);

  // Trends over the workspace's history, or every workspace's (see daemon/query/trends.hpp).
  // not_found ("no sessions found for workspace at `<dir>`") when the scope holds no run.
  Result<cargo_analysis::v1::TrendsResponse> trends(const cargo_analysis::v1::TrendsRequest& req);

  // The crates that cost the most compile time over this machine's runs in the range (see
  // daemon/query/slowest_crates.hpp). not_found ("no runs found since ...") when none started
  // in it; invalid_argument for an empty range.
  Result<cargo_analysis::v1::SlowestCratesResponse>
  slowest_crates(const cargo_analysis::v1::SlowestCratesRequest& req);

  // Units rebuilt back and forth in the workspace's recent runs (see daemon/query/thrash.hpp).
  // not_found ("no sessions found for workspace at `<dir>`") when the workspace has no run.
  Result<cargo_analysis::v1::ThrashResponse> thrash(const cargo_analysis::v1::ThrashRequest& req);

  // Lookups in the per-run result cache of rebuilds and timings, and the runs it holds.
  RunResultCache::Stats cache_stats() const { return m_cache.stats(); }

  // Computes the reports of an ended run that are not stored yet and returns them, for the
  // caller to store (see ReportPrecomputer): they are neither cached nor handed to the sink.
  // Returns none for a run in progress, nor those stored for this format. A set `cancel` ends
  // the reading of the run's events early, with an `unavailable` error.
  Result<std::vector<store::StoredReport>> precompute(const std::string& run_id,
                                                      const std::atomic<bool>* cancel = nullptr);

private:
  Result<cargo_analysis::v1::Session> load_session(store::RunReader& reader,
                                                   const std::string& session_id);

  // One run's analysis, from the cache when the run's stored data has not changed since it
  // was computed, else from its events. The summary in the result has depth 0.
  Result<std::shared_ptr<const cargo_analysis::v1::RunRebuilds>>
  run_rebuilds(store::RunReader& reader, const cargo_analysis::v1::RunSummary& run);
  // The run's roots (every root, affected units counted, not listed): what the text report
  // reads, and what is stored for ended runs. Both this and run_timings() give what they
  // computed for an ended run to keep(), with `precomputed` (precompute()'s list; null for a
  // query).
  Result<std::shared_ptr<const cargo_analysis::v1::RunRebuilds>>
  run_rebuild_roots(store::RunReader& reader,
                    const cargo_analysis::v1::RunSummary& run,
                    std::vector<store::StoredReport>* precomputed = nullptr);
  Result<std::shared_ptr<const cargo_analysis::v1::RunTimings>>
  run_timings(store::RunReader& reader,
              const cargo_analysis::v1::RunSummary& run,
              std::vector<store::StoredReport>* precomputed = nullptr);
  // Where a report computed for an ended run goes: into `precomputed` if set, else to
  // m_reports through try_submit() (not stored when the sink is full, or unset).
  void keep(store::StoredReport report, std::vector<store::StoredReport>* precomputed);

  store::ReaderPool& m_readers;
  RunResultCache m_cache;
  store::BatchSink* m_reports = nullptr; // null: what queries compute is not stored
};

// Orders a session's runs as a tree (pre-order; siblings by start time) and sets each depth.
// Runs whose parent is not in the list are treated as top-level.
void order_as_tree(std::vector<cargo_analysis::v1::RunSummary>& runs);

} // namespace ca::query
