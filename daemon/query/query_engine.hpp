// Answers report requests from the store: the one place where requests become reports, shared
// by every gRPC service (and so by the CLI and IDEs alike).
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/query/run_result_cache.hpp"
#include "daemon/store/batch.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

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
  explicit QueryEngine(store::ReaderPool& readers, std::size_t cache_runs = k_result_cache_runs)
      : m_readers(readers), m_cache(cache_runs) {}

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

  // Where reports computed for an ended run go to be stored (see ReportPrecomputer): called
  // with each one that was computed from the run's events because no stored report matched.
  // Unset: nothing is stored. Set it before the first request.
  using Persist = std::function<void(store::StoredReport)>;
  void set_persist(Persist persist) { m_persist = std::move(persist); }

  // Computes the reports of an ended run that are not stored yet (handing them to the persist
  // hook), and keeps them in the result cache. Does nothing for a run in progress. A set
  // `cancel` ends the reading of the run's events early, with an `unavailable` error.
  Result<void> precompute(const std::string& run_id, const std::atomic<bool>* cancel = nullptr);

private:
  Result<cargo_analysis::v1::Session> load_session(store::RunReader& reader,
                                                   const std::string& session_id);

  // One run's analysis, from the cache when the run's stored data has not changed since it
  // was computed, else from its events. The summary in the result has depth 0.
  Result<std::shared_ptr<const cargo_analysis::v1::RunRebuilds>>
  run_rebuilds(store::RunReader& reader, const cargo_analysis::v1::RunSummary& run);
  // The run's roots (every root, affected units counted, not listed): what the text report
  // reads, and what is stored for ended runs.
  Result<std::shared_ptr<const cargo_analysis::v1::RunRebuilds>>
  run_rebuild_roots(store::RunReader& reader, const cargo_analysis::v1::RunSummary& run);
  Result<std::shared_ptr<const cargo_analysis::v1::RunTimings>>
  run_timings(store::RunReader& reader, const cargo_analysis::v1::RunSummary& run);

  store::ReaderPool& m_readers;
  RunResultCache m_cache;
  Persist m_persist;
};

// Orders a session's runs as a tree (pre-order; siblings by start time) and sets each depth.
// Runs whose parent is not in the list are treated as top-level.
void order_as_tree(std::vector<cargo_analysis::v1::RunSummary>& runs);

} // namespace ca::query
