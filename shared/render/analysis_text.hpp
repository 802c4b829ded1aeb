// Human rendering of the reports beyond cargo's: `report critical-path`, `report diff` and
// `report trends`. With `color`, headings and changes are styled with ANSI escapes (cargo's
// bold green headings; red for slower, green for faster).
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// The chain of units that bounded one run: a row per unit in build order (start, time it held
// the build, share of the total, waits and pipelining), then the chain on one line
// (`Chain: c@0.1.0 -> b@0.1.0 -> a@0.1.0 a "bin"`).
std::string render_critical_path(const cargo_analysis::v1::RunCriticalPath& path, bool color);

// Both sides' totals, then the units that changed, largest time change first (at most
// `max_units`, 0 for all, with a line saying how many more there are).
std::string render_diff(const cargo_analysis::v1::DiffResponse& diff, bool color, size_t max_units);

// Scope, build time per command kind over time (with bars), slowest units, and the units most
// often rebuilt at the root with their causes (`wsapp@0.1.0 wsapp "bin" rebuilt 14 times: file
// modified: wsapp/src/main.rs x9, environment variable changed (WSAPP_X) x5`).
std::string render_trends(const cargo_analysis::v1::TrendsResponse& trends, bool color);

} // namespace ca::render
