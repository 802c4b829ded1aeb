// What the store keeps up to date at ingest for `report trends` (schema version 2): which units
// were root rebuilds and the identity of their cause (`units.root`, `units.cause_key`), and per
// workspace and unit, how often it compiled and for how long (`unit_trends`).
//
// Why at ingest: a trends report over 10,000 sessions must answer interactively, and re-reading
// their ~3 million events (or ~1 million unit rows) cannot. Root rebuilds cannot be decided per
// event either: cargo logs fingerprints in no dependency order (in corpus A's step 4, wsapp's
// comes before the wscore it depends on), so a unit's root flag is recomputed for the whole run
// after each batch that registered units or logged fingerprints. That is one read of the run's
// units (88 in corpus A, 242 in C) per batch.
//
// `unit_trends` is a running total: whatever deletes runs (retention) must take them out of it
// too, or rebuild it from the units that remain with the INSERT ... SELECT of migration 2.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "daemon/store/database.hpp"

#include <cstdint>
#include <string>

namespace ca::store {

// The identity of a rebuild cause across runs: the cause's kind plus what changed, without what
// differs from one rebuild to the next (mtimes, the values of environment variables, sizes,
// checksums, unit indices). `file modified: src/main.rs` in two runs gives one key; so do two
// different values of the same environment variable. Fields are separated by '\x1f'.
std::string rebuild_cause_key(const cargo_analysis::v1::DirtyReason& reason);

// Recomputes `root` and `cause_key` for every unit of `run` (the runs table's row id) from the
// stored fingerprints and dependencies, writing only the rows that change. A root is a unit
// whose fingerprint is `new` or `dirty` and none of whose direct dependencies' is; its key is
// `fresh-build` for a new unit, else rebuild_cause_key() of its cause. Returns the database error
// of the statement that failed.
Result<void> refresh_root_rebuilds(Database& db, int64_t run);

// Adds one compilation of unit `index` of `run` (its `finish - start`) to `unit_trends`, under the
// run's workspace root; a unit without a start or finish time is skipped. Call it once per unit,
// when its finish is first stored.
Result<void> record_unit_build(Database& db, int64_t run, uint32_t index);

// The same for a unit whose row the caller has in hand (no read of the row and its run).
struct UnitBuild {
  int64_t run = 0;
  std::string_view workspace_root, name, target_name, target_kind, mode, package_id, version;
  double secs = 0;
};
Result<void> record_unit_build(Database& db, const UnitBuild& u);

} // namespace ca::store
