// Human rendering of `report slowest-crates`: a heading with the scope and totals, then a table
// of the slowest crates (rank, crate, version, runs, compiles, total, mean per run, share of
// all compile time, and with --team the machines that compiled it).
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <string>

namespace ca::render {

// With `color`, the heading is bold green and crate names bold (cargo's style). Names and
// machine labels are printed as given: the caller makes them safe for a terminal.
std::string render_slowest_crates(const cargo_analysis::v1::SlowestCratesResponse& report,
                                  bool color);

} // namespace ca::render
