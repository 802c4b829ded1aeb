// Layout (no colour):
//   Thrash: workspace /ws, 12 runs, from 2026-12-02T12:38:47.456Z to 2026-12-02T12:39:01.301Z
//   Status: 1 unit rebuilt back and forth, 1.48s of compile time lost
//   <blank>
//   environment variable THB_X flips: 1 unit, 1.48s lost
//     thb@0.1.0 thb "bin": rebuilt 2 times, 1 back to a configuration built before (1.48s)
//                                              -- or (3.20s with 3 dependent units)
//       THB_X=<unset>: `cargo build` (2 builds)
//       THB_X=1: `cargo build` (1 build)
//     fix: pin the env var: ...
#include "shared/render/thrash_text.hpp"

#include <fmt/format.h>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr std::string_view k_header = "\x1b[1m\x1b[92m";
constexpr std::string_view k_literal = "\x1b[1m\x1b[96m";
constexpr std::string_view k_reset = "\x1b[0m";

std::string count(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string secs(double s) {
  return fmt::format("{:.2f}s", s);
}

// `(1.48s)`, or `(3.20s with 3 dependent units)` when the rebuilds dragged others along.
std::string cost(const v1::ThrashingUnit& u) {
  // fmt, not `"(" + string`: GCC 12 at -O3 warns falsely (-Wrestrict) on the latter.
  if (u.cascading_rebuilds() == 0) {
    return fmt::format("({})", secs(u.time_lost_secs()));
  }
  return fmt::format("({} with {})", secs(u.time_lost_secs()),
                     count(u.cascading_rebuilds(), "dependent unit", "dependent units"));
}

std::string quoted_commands(const v1::ThrashSide& side) {
  std::string out;
  for (const std::string& c : side.commands()) {
    if (!out.empty()) {
      out += ", ";
    }
    out += "`" + c + "`";
  }
  return out.empty() ? std::string("an earlier build") : out;
}

} // namespace

std::string render_thrash(const v1::ThrashResponse& report, bool color) {
  const std::string h(color ? k_header : "");
  const std::string l(color ? k_literal : "");
  const std::string r(color ? k_reset : "");
  std::size_t units = 0;
  for (const v1::ThrashGroup& g : report.groups()) {
    units += static_cast<std::size_t>(g.units_size());
  }
  std::string out;
  out += h + "Thrash:" + r + " workspace " + report.workspace_root() + ", " +
         count(report.runs(), "run", "runs");
  if (report.runs() > 0) {
    out += ", from " + report.first_start() + " to " + report.last_start();
  }
  out += "\n";
  if (units == 0) {
    out += h + "Status:" + r + " no unit was rebuilt back and forth\n";
    return out;
  }
  out += h + "Status:" + r + " " + count(units, "unit", "units") + " rebuilt back and forth, " +
         secs(report.time_lost_secs()) + " of compile time lost\n";
  for (const v1::ThrashGroup& g : report.groups()) {
    out += "\n" + h + g.cause_text() + ":" + r + " " +
           count(static_cast<std::size_t>(g.units_size()), "unit", "units") + ", " +
           secs(g.time_lost_secs()) + " lost\n";
    for (const v1::ThrashingUnit& u : g.units()) {
      out += "  " + l + u.unit().description() + ":" + r + " rebuilt " +
             count(u.rebuilds(), "time", "times");
      if (g.cause() == "build-script" || g.cause() == "rerun-if-missing") {
        out += ", " + std::to_string(u.thrashing_rebuilds()) + " after the first " + cost(u) + "\n";
        if (!u.detail().empty()) {
          out += "    " + u.detail() + "\n";
        }
      } else {
        out += ", " + std::to_string(u.thrashing_rebuilds()) +
               " back to a configuration built before " + cost(u) + "\n";
      }
      for (const v1::ThrashSide& side : u.sides()) {
        out += "    " + side.value() + ": " + quoted_commands(side) + " (" +
               count(static_cast<std::size_t>(side.run_ids_size()), "build", "builds") + ")\n";
      }
    }
    out += "  " + h + "fix" + r + ": " + g.fix() + "\n";
  }
  return out;
}

} // namespace ca::render
