// `report critical-path`: the critical path of a run (compute_critical_path(), as `report
// timings` finds it) told step by step, with what each unit cost the build.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

namespace ca::query {

// The critical path of `timings` (its `critical_path` indices and unit timings) as steps in build
// order. Each step holds the build from its start until the next step could start: the next
// step's start on its metadata when cargo pipelined it (it started before this unit finished),
// else this unit's end; the last step holds it for its whole duration. The gap between one
// step's ready time and the next step's start is the next step's `wait`. Never fails: indices
// without a timing are skipped.
cargo_analysis::v1::RunCriticalPath
critical_path_report(const cargo_analysis::v1::RunTimings& timings);

} // namespace ca::query
