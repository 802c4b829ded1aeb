// `report slowest-crates`: the crates (packages) that cost the most compile time over the runs
// that started in a time range, of this machine (from the store) or of the team (from ClickHouse,
// daemon/query/team_reports.hpp). Both read per-crate totals and rank them here, so the two
// answers agree wherever their runs do.
//
// A crate is a package id (name and version, and where it came from); its time is the sum of
// its compiled units' finish - start (its lib, build script, tests ... in every run). Its mean is
// per run that compiled it, and its share is of all compile time in range: `serde 1.0.152: 24
// runs, 31 compiles, 96.00s, mean 4.00s per run, 18.2%` says what serde costs the team.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"

#include <cstdint>
#include <vector>

namespace ca::query {

// The report from every crate's totals in range and the number of runs in range: crates by
// total time, most first (ties by name, version, package id), at most `limit` (0: 10) listed.
cargo_analysis::v1::SlowestCratesResponse
rank_slowest_crates(std::vector<store::CrateTotal> crates, uint64_t runs, uint32_t limit);

// This machine's answer, from the store. Returns the store's error if a query fails.
Result<cargo_analysis::v1::SlowestCratesResponse>
local_slowest_crates(store::RunReader& reader, const cargo_analysis::v1::SlowestCratesRequest& req);

} // namespace ca::query
