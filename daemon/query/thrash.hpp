// `report thrash`: units that rebuild back and forth.
//
// The problem: two kinds of build share a target dir and keep invalidating each other (the
// IDE's `cargo check` and a terminal build with another environment or other flags), or a build
// script reruns on every change. Users see "it rebuilds everything every time"; cargo's reports
// show each rebuild alone and never the pattern.
//
// What thrashes, measured with cargo 1.95: cargo keeps one fingerprint and one set of artifacts
// per unit *configuration* (features, profile, mode, platform, dependency versions and rustflags
// all feed the hash behind `-C metadata`), so going back to a configuration already built
// finds it fresh: `cargo check --features a`, `cargo build`, `cargo check --features a` builds
// nothing the third time. What rebuilds is a change cargo tracks *inside* one configuration,
// found in the unit's dirty reason:
// - an environment variable the crate reads (`env!`, `option_env!`, `rerun-if-env-changed`):
//   `environment variable changed (X): a -> b` then `b -> a` (`env-var`);
// - activated features or rustflags recorded in a fingerprint that cargo compares rather than
//   hashes (`features`, `rustflags`): the same, value by value;
// - a build script that prints no `rerun-if-changed`: cargo reruns it whenever any file of its
//   package changes (`precalculated-components-changed`), or one whose `rerun-if-changed`
//   names a missing file, which reruns it every build (`build-script`, `rerun-if-missing`).
//
// The algorithm, over the newest N runs of a workspace, per unit (package name, target, mode,
// platform) and cause (and variable): the rebuilds for that cause in run order, each a
// transition old -> new. A rebuild whose new value was already seen in scope (as an old or a
// new value) went *back*: that is the thrash, and its compile time is counted as lost. A build
// script thrashes when it reran for its cause in two or more runs; every rerun after the first
// is counted as lost, with the compile time of the rebuilt units it dragged along (its rebuilt
// dependents, transitively: cargo's cascading rebuilds). Units built new are never counted (see
// above: cargo keeps both sides).
//
// Example: `cargo build`, `THB_X=1 cargo build`, `cargo build` rebuilds the bin that reads
// `option_env!("THB_X")` twice: `<unset> -> 1`, then `1 -> <unset>`. The second went back, so
// the bin is reported under `environment variable THB_X flips`, with sides `THB_X=<unset>` and
// `THB_X=1`, the commands of each, and the second rebuild's time as lost.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"

#include <span>

namespace ca::query {

// The runs of the default scope of `report thrash`.
inline constexpr uint32_t k_default_thrash_runs = 50;

// Thrash in `units` (every unit of `runs`, by run oldest first, see RunReader::recent_units()).
// `workspace_root` is the base that paths in details are shown relative to; the response's
// `workspace_root` is left to the caller. Never fails.
cargo_analysis::v1::ThrashResponse compute_thrash(std::span<const store::RunConfig> runs,
                                                  std::span<const store::RunUnit> units,
                                                  std::string_view workspace_root);

// Whether a rebuild of a unit in `mode` for `reason` can be part of a thrash (a cause above):
// what the live view checks before it reads any history.
bool may_thrash(const cargo_analysis::v1::DirtyReason& reason, std::string_view mode);

// The runs the live view looks back over for a thrash as it happens.
inline constexpr uint32_t k_live_thrash_runs = 20;

// A rebuild in one run that went back to a configuration of a few builds before.
struct RunThrash {
  uint32_t index = 0; // the unit's, in the run
  std::string cause;
  std::string cause_text;
  std::string fix;
  std::string from;
  std::string to;
  uint32_t builds_ago = 0;
  uint32_t thrashing_rebuilds = 0;
  double time_lost_before = 0; // seconds, in the thrash's earlier rebuilds
};

// The thrashing rebuilds of the run `run_id` of `workspace_root` among its `last_runs` newest
// runs (the run must be one of them). Returns the store's error if a read fails.
Result<std::vector<RunThrash>> thrash_in_run(store::RunReader& reader,
                                             const std::string& workspace_root,
                                             const std::string& run_id,
                                             uint32_t last_runs = k_live_thrash_runs);

} // namespace ca::query
