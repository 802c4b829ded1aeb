// `report thrash` as text.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// The thrash report: a header line for the scope, then per cause its units, the sides each went
// back and forth between with the commands that built them, the time lost and the fix. With
// `color`, headings are styled as cargo styles them.
std::string render_thrash(const cargo_analysis::v1::ThrashResponse& report, bool color);

} // namespace ca::render
