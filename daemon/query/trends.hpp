// `report trends`: what history says about a workspace's builds.
//
// - Build time over time per command kind: top-level runs that completed or failed, by kind
//   (build, check, test, other: cargo's subcommand from the logged argv), in periods of a
//   round length (1 s ... 1 year) chosen so that the history spans at most 12 of them.
// - The slowest units on average over the runs that compiled them.
// - The units most often rebuilt at the root (rebuilt while none of their dependencies was: the
//   place where a change entered the build), each with its causes, most frequent first, e.g.
//   `wsapp rebuilt 14 times: file modified: src/main.rs x9, environment variable changed
//   (WSAPP_X) x5`. A unit built for the first time is not a rebuild and is not counted.
//
// Everything is read from indexes the store keeps at ingest (see daemon/store/trend_index.hpp):
// the runs table, the dirty root rows of the units table, and `unit_trends`, so the cost grows
// with the number of runs and distinct units, not with the number of events.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ca::query {

// Trends over `scope`; `limit` caps the ranked lists. `workspace_root` and errors of the
// response are the caller's business; returns the store's error if a query fails.
Result<cargo_analysis::v1::TrendsResponse>
compute_trends(store::RunReader& reader, const store::TrendScope& scope, uint32_t limit);

// What a trends report is made of, wherever it was read (this machine's store, or the team's
// ClickHouse in daemon/query/team_reports.cpp): the runs in scope oldest first, the `limit`
// slowest units slowest first, and the dirty root rebuilds grouped by unit and cause key.
struct TrendInputs {
  std::vector<store::TrendRun> runs;
  std::vector<store::TrendUnitTime> unit_times;
  std::vector<store::TrendRootCause> root_causes;
};

// The units of a run by index (for the examples of causes that name a unit); an error ends the
// report with it.
using UnitsOfRun = std::function<Result<std::vector<store::StoredUnit>>(const std::string& run_id)>;

// The report from its inputs, as compute_trends() makes it; `units_of` is asked only for the
// example runs of causes that name another unit.
Result<cargo_analysis::v1::TrendsResponse>
assemble_trends(const TrendInputs& in, uint32_t limit, const UnitsOfRun& units_of);

// The command kind of cargo's argv as stored (a JSON array): `build`, `check`, `test` or
// `other`. The subcommand is the first argument after the program that is no option, skipping
// a `+toolchain` and the values of cargo's global options that take one (-Z, --config, -C,
// --color).
std::string command_kind(std::string_view argv_json);

// A rebuild cause's words without what differs from one rebuild to the next: the grouping
// label of `report trends` (it matches store::rebuild_cause_key(): one key, one label). Paths
// are shown relative to `workspace_root`.
std::string cause_label(const cargo_analysis::v1::DirtyReason& reason,
                        std::string_view workspace_root);

} // namespace ca::query
