#include "shared/render/analysis_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

// A blank line before a heading is appended on its own (`out += '\n'`), never as
// `"\n" + heading(...)`: GCC 12 at -O3 reports a false -Wrestrict inside that operator+ (a
// literal prepended to a temporary string), which broke Release builds with -Werror.
namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

struct Style {
  bool on;
  std::string heading(const std::string& s) const {
    return on ? "\x1b[1m\x1b[92m" + s + "\x1b[0m" : s;
  }
  std::string bold(const std::string& s) const { return on ? "\x1b[1m" + s + "\x1b[0m" : s; }
  // Slower (or more) in red, faster in green: what the change means for the user.
  std::string delta(double d, const std::string& s) const {
    if (!on || std::fabs(d) < 0.005) {
      return s;
    }
    return (d > 0 ? "\x1b[31m" : "\x1b[32m") + s + "\x1b[0m";
  }
};

std::string secs(double s) {
  return fmt::format("{:.2f}s", s);
}

std::string signed_secs(double s) {
  return fmt::format("{:+.2f}s", s);
}

std::string percent(double ratio) {
  return fmt::format("{:.1f}%", ratio * 100.0);
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string run_label(const v1::RunSummary& run) {
  std::string out = run.run_id();
  if (!run.command_line().empty()) {
    out += " (" + run.command_line() + ")";
  }
  return out;
}

// `2026-11-23T06:27:15.000Z` cut to what a period of `period` seconds needs.
std::string period_label(const std::string& rfc3339, double period) {
  std::string out = rfc3339;
  std::replace(out.begin(), out.end(), 'T', ' ');
  size_t keep = period >= 86400 ? 10 : period >= 60 ? 16 : 19;
  if (out.size() > keep) {
    out.resize(keep);
  }
  return out;
}

// "5 seconds", "minute", "7 days": a period's length after "per".
std::string period_label_name(double period) {
  auto n = static_cast<int64_t>(std::llround(period));
  auto unit = [&](int64_t size, const char* one, const char* many) {
    return n == size ? std::string(one) : fmt::format("{} {}", n / size, many);
  };
  if (n >= 86400 && n % 86400 == 0) {
    return unit(86400, "day", "days");
  }
  if (n >= 3600 && n % 3600 == 0) {
    return unit(3600, "hour", "hours");
  }
  if (n >= 60 && n % 60 == 0) {
    return unit(60, "minute", "minutes");
  }
  return unit(1, "second", "seconds");
}

std::string bar(double value, double max, size_t width) {
  size_t n =
      max > 0 ? static_cast<size_t>(std::lround(value / max * static_cast<double>(width))) : 0;
  std::string out;
  for (size_t i = 0; i < std::max<size_t>(n, value > 0 ? 1 : 0); ++i) {
    out += "\u2588";
  }
  return out;
}

std::string side_line(const v1::DiffSide& side) {
  std::string what =
      side.session()
          ? fmt::format("session {} ({})", side.id(), plural(side.runs_size(), "run", "runs"))
          : "run " + (side.runs_size() > 0 ? run_label(side.runs(0)) : side.id());
  return what;
}

std::string status_change(const v1::UnitDiff& d) {
  if (d.presence() == "only_a") {
    return "only in A (" + d.a().status() + ")";
  }
  if (d.presence() == "only_b") {
    return "only in B (" + d.b().status() + (d.b().reason().empty() ? "" : ": " + d.b().reason()) +
           ")";
  }
  std::string out;
  if (d.a().status() != d.b().status()) {
    out = d.a().status() + " -> " + d.b().status();
  } else {
    out = d.b().status();
  }
  if (d.cause_changed() && !d.b().reason().empty()) {
    out += ": " + d.b().reason();
    if (!d.a().reason().empty() && d.a().status() == d.b().status()) {
      out += " (was: " + d.a().reason() + ")";
    }
  }
  if (d.a().version() != d.b().version()) {
    out += ", version " + d.a().version() + " -> " + d.b().version();
  }
  return out;
}

} // namespace

std::string render_critical_path(const v1::RunCriticalPath& path, bool color) {
  Style st{color};
  std::string out;
  out += st.heading("Session:") + "        " + run_label(path.run()) + "\n";
  out += st.heading("Total time:") + "     " + secs(path.total_time()) + "\n";
  if (path.steps().empty()) {
    out += st.heading("Critical path:") + "  none (no unit was compiled in this run)\n";
    return out;
  }
  out += st.heading("Critical path:") + "  " + plural(path.steps_size(), "unit", "units") +
         " held the build " + secs(path.path_time()) + " (" + percent(path.path_share()) +
         " of the total time)\n\n";
  out += st.bold("    start     held   share  unit") + "\n";
  for (int i = 0; i < path.steps_size(); ++i) {
    const v1::CriticalPathStep& step = path.steps(i);
    std::string notes;
    if (step.wait() >= 0.005) {
      notes += "waited " + secs(step.wait()) + " before starting";
    }
    if (i > 0 && path.steps(i - 1).next_on_rmeta()) {
      notes += std::string(notes.empty() ? "" : "; ") + "started on the previous unit's metadata";
    }
    if (step.contribution() + 0.005 < step.duration()) {
      notes += std::string(notes.empty() ? "" : "; ") + "ran " + secs(step.duration()) + " in all";
    }
    out +=
        fmt::format("  {:>7}  {:>7}  {:>6}  {}{}\n", secs(step.start()), secs(step.contribution()),
                    percent(step.share()), st.bold(step.unit().description()),
                    notes.empty() ? "" : "  (" + notes + ")");
  }
  std::string chain;
  double waited = 0;
  for (const v1::CriticalPathStep& step : path.steps()) {
    chain += (chain.empty() ? "" : " -> ") + step.unit().description();
    waited += step.wait();
  }
  out += '\n';
  out += st.heading("Chain:") + " " + chain + "\n";
  // A chain that held the build for little of its time, with long waits before its units, means
  // the units were ready and waited for a job slot: parallelism bounded the build, not the chain.
  if (path.path_share() < 0.5 && waited > path.path_time()) {
    out +=
        fmt::format("\nThe chain's units waited {} in all before they could start: the build was "
                    "bound by the number of jobs (-j{}) more than by this chain.\n",
                    secs(waited), path.run().jobs());
  }
  return out;
}

std::string render_diff(const v1::DiffResponse& diff, bool color, size_t max_units) {
  Style st{color};
  const v1::DiffSide& a = diff.a();
  const v1::DiffSide& b = diff.b();
  std::string out;
  out += st.heading("A:") + " " + side_line(a) + "\n";
  out += st.heading("B:") + " " + side_line(b) + "\n";
  auto change = [&](double from, double to) {
    double d = to - from;
    std::string rel = from > 0 ? fmt::format(", {:+.1f}%", d / from * 100.0) : "";
    return secs(from) + " -> " + secs(to) + " (" + st.delta(d, signed_secs(d) + rel) + ")";
  };
  out += st.heading("Wall time:") + "  " + change(a.wall_time(), b.wall_time()) + "\n";
  out += st.heading("Unit time:") + "  " + change(a.unit_time(), b.unit_time()) +
         " (compile time summed over units)\n";
  auto units = [](const v1::DiffSide& s) {
    return fmt::format("{} compiled ({} new, {} dirty, {} fresh)", s.units_compiled(),
                       s.units_new(), s.units_dirty(), s.units_fresh());
  };
  out += st.heading("Units:") + "      " + units(a) + " -> " + units(b) + "\n";
  out += fmt::format("{}     {} only in A, {} only in B, {} with another rebuild cause, {} "
                     "unchanged\n",
                     st.heading("Changes:"), diff.units_only_a(), diff.units_only_b(),
                     diff.causes_changed(), diff.units_unchanged());
  if (diff.units().empty()) {
    out += "\nNo unit differs.\n";
    return out;
  }
  out += '\n';
  out += st.bold("      delta        A          B   unit") + "\n";
  size_t shown = 0;
  for (const v1::UnitDiff& d : diff.units()) {
    if (max_units != 0 && shown == max_units) {
      break;
    }
    ++shown;
    out +=
        fmt::format("  {:>9}  {:>7}  {:>9}   {}  {}\n", st.delta(d.delta(), signed_secs(d.delta())),
                    d.presence() == "only_b" ? "-" : secs(d.a().duration()),
                    d.presence() == "only_a" ? "-" : secs(d.b().duration()),
                    st.bold(d.unit().description()), status_change(d));
  }
  if (shown < static_cast<size_t>(diff.units_size())) {
    out += fmt::format("  ... and {} more (-v shows all, --format json too)\n",
                       diff.units_size() - shown);
  }
  return out;
}

std::string render_trends(const v1::TrendsResponse& trends, bool color) {
  Style st{color};
  std::string out;
  const std::string scope =
      trends.team()                     ? (trends.machine().empty() ? "the team, every machine"
                                                                    : "the team, machine " + trends.machine())
      : trends.workspace_root().empty() ? "every workspace"
                                        : "workspace " + trends.workspace_root();
  out += st.heading("Trends:") + " " + scope + ", " +
         plural(trends.sessions(), "session", "sessions") + ", " +
         plural(trends.runs(), "run", "runs") + ", from " + trends.first_start() + " to " +
         trends.last_start() + "\n";

  out += '\n';
  out += st.heading("Build time by command") +
         fmt::format(" (top-level runs, per {}):\n", period_label_name(trends.bucket_secs()));
  if (trends.commands().empty()) {
    out += "  no completed top-level run\n";
  }
  for (const v1::CommandKindTrend& kind : trends.commands()) {
    out += fmt::format("  {}: {}, mean {}, {} in all\n", st.bold(kind.kind()),
                       plural(kind.runs(), "run", "runs"), secs(kind.mean_secs()),
                       secs(kind.total_secs()));
    double max = 0;
    for (const v1::BuildTimeBucket& b : kind.buckets()) {
      max = std::max(max, b.mean_secs());
    }
    for (const v1::BuildTimeBucket& b : kind.buckets()) {
      out += fmt::format("    {:<19}  {:>8}  mean {:>8}  max {:>8}  {}\n",
                         period_label(b.start_time(), trends.bucket_secs()),
                         plural(b.runs(), "run", "runs"), secs(b.mean_secs()), secs(b.max_secs()),
                         bar(b.mean_secs(), max, 30));
    }
  }

  out += '\n';
  out += st.heading("Slowest units") + " (mean over the runs that compiled them):\n";
  if (trends.slowest_units().empty()) {
    out += "  no unit was compiled\n";
  }
  int rank = 0;
  for (const v1::UnitTimeTrend& u : trends.slowest_units()) {
    out += fmt::format("  {:>3}. {:>8}  {}  ({}, max {})\n", ++rank, secs(u.mean_secs()),
                       st.bold(u.unit().description()), plural(u.builds(), "build", "builds"),
                       secs(u.max_secs()));
  }

  out += '\n';
  out += st.heading("Most frequent root rebuilds") +
         fmt::format(" (units rebuilt while none of their dependencies was; {} in all):\n",
                     trends.root_rebuilds_total());
  if (trends.root_rebuilds().empty()) {
    out += "  none: no unit was rebuilt except in first builds\n";
  }
  for (const v1::UnitRebuildTrend& u : trends.root_rebuilds()) {
    std::string causes;
    for (const v1::RebuildCauseCount& c : u.causes()) {
      causes += (causes.empty() ? "" : ", ") + c.cause() + " x" + std::to_string(c.count());
    }
    out += fmt::format("  {} rebuilt {}: {}\n", st.bold(u.unit().description()),
                       plural(u.rebuilds(), "time", "times"), causes);
  }
  return out;
}

} // namespace ca::render
