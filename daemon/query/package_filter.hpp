// `--package <spec>`: reports cut down to some packages. Specs are cargo's package ID specs
// (shared/package_id_spec.hpp), checked first against the units in scope with cargo's errors.
//
// What each report keeps:
// - rebuilds: the root rebuilds of the packages, and the roots whose rebuild dragged one of them
//   along (it is among their affected units): why the package was rebuilt. `root_count` and
//   `cascading` are those of the kept roots; the unit counts stay the run's.
// - timings: the packages' units (and the critical path's units among them); the run's totals
//   and concurrency stay the whole build's, which is what the units shared the machine with.
// - critical path: the chain that bounded the packages' last unit to finish, instead of the
//   whole build's last unit.
// - trends: the packages' units in the slowest and most-rebuilt lists.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "shared/package_id_spec.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ca::query {

// The package ids of `timings`' units, appended to `out`.
void collect_package_ids(const cargo_analysis::v1::RunTimings& timings,
                         std::vector<std::string>& out);

// `full`'s roots cut down to `specs` (see above), into a new message.
cargo_analysis::v1::RunRebuilds filter_rebuilds(const cargo_analysis::v1::RunRebuilds& full,
                                                const std::vector<PackageIdSpec>& specs);

// Keeps `timings`' units of `specs` (and the critical path's indices of kept units).
void filter_timings(cargo_analysis::v1::RunTimings& timings,
                    const std::vector<PackageIdSpec>& specs);

// The critical path that ends at the unit of `specs` that finished last (unit indices, build
// order), following cargo's `unblocked` records back as compute_critical_path() does. Empty when
// no unit of `specs` ran.
std::vector<uint32_t> critical_path_to(const cargo_analysis::v1::RunTimings& timings,
                                       const std::vector<PackageIdSpec>& specs);

// Keeps the units of `specs` in `trends`' ranked lists, at most `limit` in each, and counts the
// kept root rebuilds in `root_rebuilds_total`.
void filter_trends(cargo_analysis::v1::TrendsResponse& trends,
                   const std::vector<PackageIdSpec>& specs,
                   uint32_t limit);

} // namespace ca::query
