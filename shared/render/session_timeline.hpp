// `report timings --id <session>` as one page: the top-level run and every nested cargo call
// on one time axis, each run a band labelled with its command, its units as bars on
// concurrency lanes inside the band, and the CPU usage the daemon sampled behind them. No other
// tool shows a build script's or an xtask's inner cargo build in the timeline of the build that
// started it.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// A complete HTML document (no external resources, no script needed) for the runs of
// `timings`, placed by their start times. `title` names the session.
std::string render_session_timeline_html(const cargo_analysis::v1::GetTimingsResponse& timings,
                                         const std::string& title);

} // namespace ca::render
