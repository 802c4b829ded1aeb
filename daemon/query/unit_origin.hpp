// Why a unit was "new": cargo's `report rebuilds` says only "fresh build" when it found no
// earlier fingerprint of the unit. Cargo keeps one fingerprint per unit *configuration* (the
// hash behind `-C metadata` covers features, profile, mode, target platform, dependency
// versions, rustflags and the toolchain), so a unit is new when that configuration was never
// built in this target dir. The store has the history to say which part changed.
//
// The algorithm: the nearest earlier build is the newest earlier run of the same workspace that
// built the same package target (package name, target name and kind); among that run's units of
// the target (a run can check and build one library, or build it for two platforms) the one
// with the fewest differences is the match. The differences named, most telling first: mode,
// profile, platform, features, toolchain, the package's version, each dependency's version (by
// package name, from the dependencies' package ids), target dir. Rustflags are not logged by
// cargo 1.95, so a unit that is new with no difference logged is said to be so, with the usual
// suspects (rustflags, a cleaned target dir).
//
// Example (a workspace's `cargo check --features a`, then `cargo build --release`): the lib of
// the second run is new; its nearest earlier build is the check, and the changes read
// `mode changed: check -> build`, `profile changed: dev -> release`, `features removed: a`.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"
#include "shared/error.hpp"

#include <span>
#include <vector>

namespace ca::query {

// The unit `now` (of the run `now_run`, whose units by index are `now_units`) compared with its
// earlier builds `candidates` (all of one run, see RunReader::earlier_builds(), whose units by
// index are `earlier_units`): the closest candidate and what differs. With no candidate,
// `found` is false and the text says there was no earlier build. Never fails.
cargo_analysis::v1::NewUnitOrigin
compare_with_earlier(const store::RunConfig& now_run,
                     const store::StoredUnit& now,
                     std::span<const store::StoredUnit> now_units,
                     std::span<const store::RunUnit> candidates,
                     std::span<const store::StoredUnit> earlier_units);

// Sets `new_unit_origin` of every root of `report` built for the first time (reason
// `fresh-build`), reading the run's units and their earlier builds from `reader`. Returns the
// store's error if a read fails.
Result<void> explain_new_roots(store::RunReader& reader, cargo_analysis::v1::RunRebuilds& report);

} // namespace ca::query
