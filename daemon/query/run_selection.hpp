// Which runs a report is about: an id, or the newest run of a workspace within a time range;
// which workspace a directory stands for (cargo's rule outside a workspace); and the package
// filter (`--package`) checked against the units in scope.
//
// Cargo's reports, run from a directory in no cargo workspace (no Cargo.toml in it or above),
// read every workspace's logs: `report sessions` lists them all under the heading without a
// workspace, `report rebuilds` and `timings` take the newest run of any workspace. The same
// rule holds here for every report that defaults to the caller's directory, with or without a
// range or a package filter.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"
#include "shared/package_id_spec.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace ca::query {

// A range of run starts, [since, until), in milliseconds since the Unix epoch.
struct TimeRange {
  std::optional<int64_t> since;
  std::optional<int64_t> until;

  bool bounded() const { return since.has_value() || until.has_value(); }
  int64_t lower() const { return since.value_or(std::numeric_limits<int64_t>::min()); }
  int64_t upper() const { return until.value_or(std::numeric_limits<int64_t>::max()); }

  // From a request's `since_unix_ms`/`until_unix_ms`. invalid_argument when the range is empty
  // or inverted.
  template <class Request> static Result<TimeRange> of(const Request& req) {
    TimeRange r;
    if (req.has_since_unix_ms()) {
      r.since = req.since_unix_ms();
    }
    if (req.has_until_unix_ms()) {
      r.until = req.until_unix_ms();
    }
    CA_TRY(r.check());
    return r;
  }
  Result<void> check() const;
  // ` since ...`, ` between ... and ...`; empty when unbounded.
  std::string suffix() const;
};

// The stored workspace root a request stands for: `workspace` (a directory in it) if given,
// else the one containing `cwd`; "" for every workspace when both are empty or when `cwd` is in
// no cargo workspace (cargo's rule). not_found ("no sessions found for workspace at `<dir>`")
// when the directory is in a cargo workspace that has no stored run.
Result<std::string>
scope_root(store::RunReader& reader, const std::string& workspace, const std::string& cwd);

// The runs of a single-run report. With an id: the run it names, or every run of the session it
// names (in tree order); the range must then hold the run (or the session's first run), else
// not_found. Without an id: the newest run of the scope (scope_root()) that started in the
// range; `other_runs` counts the other runs in the range (0 for an unbounded range).
struct SelectedRuns {
  std::vector<cargo_analysis::v1::RunSummary> runs;
  uint32_t other_runs = 0;
};
Result<SelectedRuns> select_runs(store::RunReader& reader,
                                 const std::string& id,
                                 const std::string& workspace,
                                 const std::string& cwd,
                                 const TimeRange& range);

// Parses a request's `packages`. invalid_argument (cargo's words) for a malformed spec.
Result<std::vector<PackageIdSpec>>
parse_specs(const google::protobuf::RepeatedPtrField<std::string>& packages);

} // namespace ca::query
