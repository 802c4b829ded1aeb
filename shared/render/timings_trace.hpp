// `report timings --format trace`: the runs of a timings report as Trace Event Format JSON, the
// format of Chrome's about:tracing and of ui.perfetto.dev (and of clang -ftime-trace, CMake
// --profiling-format=google-trace, bazel --profile, buck2).
//
// Layout, on one time axis (microseconds since the earliest run started, so a session's nested
// runs sit where they ran):
// - a process per run (pid 1, 2, ... in report order), named by its command and run id, with a
//   complete event for the whole run on thread 0 ("run");
// - its units as complete ("X") events on concurrency lanes (tid 1, 2, ...: a unit takes the
//   first lane free at its start, so no two units of a lane overlap), with their sections
//   (frontend, codegen, link, ...) as complete events nested inside, clamped to the unit;
// - the moment a unit's metadata (rmeta) was ready as an instant ("i") event on its lane;
// - the CPU and memory samples as counter ("C") tracks of the process;
// - process_name, process_sort_index and thread_name metadata ("M") events.
// A unit's ts and dur are its `start` and `duration` from the timings JSON, to the microsecond.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// The trace as one JSON object: {"traceEvents": [...], "displayTimeUnit": "ms"}.
std::string render_timings_trace(const cargo_analysis::v1::GetTimingsResponse& timings);

} // namespace ca::render
