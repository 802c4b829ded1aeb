// Human rendering of `report rebuilds`, in cargo's words and layout.
#pragma once

#include "cargo_analysis/v1/reports.pb.h"

#include <cstddef>
#include <string>

namespace ca::render {

enum class Verbosity { normal, verbose, extra_verbose }; // (none), -v, -vv

// Roots shown without `-v` (cargo's "top 5 of N by impact").
inline constexpr std::size_t k_default_root_limit = 5;

// What render_rebuilds() reads of a run at `verbosity`, for GetRebuildsRequest: the number of
// roots it shows (0: all) and whether it lists their affected units (`-vv` only).
inline std::size_t roots_shown(Verbosity verbosity) {
  return verbosity == Verbosity::normal ? k_default_root_limit : 0;
}
inline bool lists_affected(Verbosity verbosity) {
  return verbosity == Verbosity::extra_verbose;
}

// Renders one run's rebuilds exactly as `cargo report rebuilds` prints them (cargo prints to
// stderr; we return the text). With `color`, headers are styled as cargo styles them. `report`
// may hold only what roots_shown() and lists_affected() say is read; counts come from its
// `root_count`, `cascading` and `affected_count` fields.
std::string
render_rebuilds(const cargo_analysis::v1::RunRebuilds& report, Verbosity verbosity, bool color);

} // namespace ca::render
