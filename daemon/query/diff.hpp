// `report diff A B`: two runs or sessions compared unit by unit.
//
// Unit indices are per run, so units are matched by what they are: package name, target name
// and kind, mode and platform (the identity), and then version. A pair with the same identity
// and version matches first (two such units in one run, e.g. a crate built with two feature
// sets, pair up in index order); what is left of an identity matches across versions when both
// sides have as many left (a dependency upgrade is the same unit, rebuilt); the rest is present
// on one side only. A session side is the union of its runs: a unit compiled in several runs
// adds up its times, and shows the most telling status among them (dirty, then new, then
// fresh) with that run's cause.
//
// Example (corpus A, step 3 against step 4): wsapp's bin was dirty in both, first because
// `wsapp/src/main.rs` changed, then because wsmid was rebuilt: a cause change; wscore and wsmid
// were fresh and then dirty; every other unit was fresh twice and is counted as unchanged.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"

#include <string>
#include <vector>

namespace ca::query {

// One side as the query engine loaded it.
struct DiffSideInput {
  std::string id;       // as the user gave it
  bool session = false; // `id` named a session, not a run
  std::vector<cargo_analysis::v1::RunSummary> runs;
  std::vector<std::vector<store::StoredUnit>> units; // per run, in the order of `runs`
};

// Compares `b` with the baseline `a` (deltas are b - a). Never fails.
cargo_analysis::v1::DiffResponse compute_diff(const DiffSideInput& a, const DiffSideInput& b);

} // namespace ca::query
