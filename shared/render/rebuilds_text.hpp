// Human rendering of `report rebuilds`, in cargo's words and layout.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

enum class Verbosity { normal, verbose, extra_verbose }; // (none), -v, -vv

// Renders one run's rebuilds exactly as `cargo report rebuilds` prints them (cargo prints to
// stderr; we return the text). With `color`, headers are styled as cargo styles them.
std::string
render_rebuilds(const cargo_analysis::v1::RunRebuilds& report, Verbosity verbosity, bool color);

} // namespace ca::render
