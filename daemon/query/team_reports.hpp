// The team's reports, read from its ClickHouse (shared/team/team_schema.hpp): `report trends
// --team` and `report slowest-crates --team`. They answer with the local reports' messages,
// computed by the same code from the same kind of inputs (TrendInputs, CrateTotal), so the CLI
// renders them alike and a team answer over one machine's runs equals that machine's local one.
//
// ReplacingMergeTree merges duplicates lazily, so every query reads the tables deduplicated:
// grouped by their key (run_id; run_id and unit_index) with argMax(column, exported_ms), as
// `report sessions --team` does; a run exported twice counts once. Unit rows are first narrowed
// to those that can count (with times, or dirty roots; see units_having() for what that assumes).
// Over Distributed tables the runs are grouped on each shard (a run's rows all live on one), the
// narrowed unit rows on the server asked, and subqueries use GLOBAL IN.
// The SQL is ClickHouse 18.16's (Debian 12): no window functions, no DateTime64.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "shared/error.hpp"
#include "shared/team/clickhouse_client.hpp"

namespace ca::query {

// `report trends` over the runs of every machine (of `req.machine()` if set) in ClickHouse; the
// range selects sessions by their first run's start and `last` the newest N, as locally.
// `workspace`, `all` and `cwd` are ignored. invalid_argument for an empty range or with
// `packages`; not_found ("no sessions found in the team's ClickHouse ...") when the scope holds no
// run; unavailable or failed_precondition (ClickHouse's message) when ClickHouse cannot answer.
Result<cargo_analysis::v1::TrendsResponse>
team_trends(const team::ClickHouseClient& ch, const cargo_analysis::v1::TrendsRequest& req);

// `report slowest-crates` over the runs of every machine (of `req.machine()` if set) that
// started in the range, with the machines that compiled each crate. Errors as team_trends().
Result<cargo_analysis::v1::SlowestCratesResponse>
team_slowest_crates(const team::ClickHouseClient& ch,
                    const cargo_analysis::v1::SlowestCratesRequest& req);

} // namespace ca::query
