#include "shared/render/slowest_crates_text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

std::string plural(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string secs(double s) {
  return fmt::format("{:.2f}s", s);
}

// Pads `s` to `width` columns (bytes: names and versions are ASCII in practice), after styling.
std::string pad(const std::string& s, size_t width, const std::string& styled) {
  return styled + std::string(width > s.size() ? width - s.size() : 0, ' ');
}

} // namespace

std::string render_slowest_crates(const v1::SlowestCratesResponse& report, bool color) {
  auto heading = [&](const std::string& s) {
    return color ? "\x1b[1m\x1b[92m" + s + "\x1b[0m" : s;
  };
  auto bold = [&](const std::string& s) { return color ? "\x1b[1m" + s + "\x1b[0m" : s; };
  std::string scope = !report.team()             ? "this machine"
                      : report.machine().empty() ? "the team, every machine"
                                                 : "the team, machine " + report.machine();
  std::string out =
      heading("Slowest crates:") +
      fmt::format(" {}: {}, {}, {} of compile time, {}\n", scope,
                  plural(report.runs(), "run", "runs"),
                  plural(report.compiles(), "unit compiled", "units compiled"),
                  secs(report.total_secs()), plural(report.crates(), "crate", "crates"));
  if (report.slowest().empty()) {
    out += "  no unit was compiled\n";
    return out;
  }
  size_t name_width = 5; // "crate"
  size_t version_width = 7;
  for (const v1::CrateTime& c : report.slowest()) {
    name_width = std::max(name_width, c.name().size());
    version_width = std::max(version_width, c.version().size());
  }
  out += '\n';
  out += fmt::format("  {:>3}  {}  {}  {:>5}  {:>8}  {:>10}  {:>9}  {:>6}{}\n", "#",
                     pad("crate", name_width, "crate"), pad("version", version_width, "version"),
                     "runs", "compiles", "total", "mean/run", "share",
                     report.team() ? "  machines" : "");
  int rank = 0;
  for (const v1::CrateTime& c : report.slowest()) {
    std::string machines;
    for (const std::string& m : c.machines()) {
      machines += (machines.empty() ? "" : ", ") + m;
    }
    out += fmt::format("  {:>3}  {}  {}  {:>5}  {:>8}  {:>10}  {:>9}  {:>5.1f}%{}\n", ++rank,
                       pad(c.name(), name_width, bold(c.name())),
                       pad(c.version(), version_width, c.version()), c.runs(), c.compiles(),
                       secs(c.total_secs()), secs(c.mean_secs()), c.share() * 100.0,
                       report.team() ? "  " + machines : "");
  }
  if (report.crates() > static_cast<uint32_t>(report.slowest_size())) {
    out += fmt::format("  ... and {} more (show them with --limit)\n",
                       report.crates() - static_cast<uint32_t>(report.slowest_size()));
  }
  return out;
}

} // namespace ca::render
