// Rendering of `report timings`: a self-contained HTML page like `cargo build --timings`, and a
// plain-text summary.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// A complete HTML document (no external resources): summary table, unit Gantt chart with the
// rmeta/codegen split and the critical path highlighted, concurrency graph, unit table.
std::string render_timings_html(const cargo_analysis::v1::RunTimings& timings);

// Summary lines and the slowest units, for terminals.
std::string render_timings_text(const cargo_analysis::v1::RunTimings& timings, bool color);

} // namespace ca::render
