#include "shared/render/session_timeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

constexpr double k_width = 1200; // px for the whole session
constexpr double k_left = 10;    // margin
constexpr double k_lane = 10;    // px per concurrency lane
constexpr double k_header = 22;  // a band's label row
constexpr double k_gap = 10;     // between bands
constexpr double k_axis = 24;    // time labels on top

struct Band {
  const v1::RunTimings* run;
  double offset; // seconds after the session's first run started
  std::vector<std::pair<const v1::UnitTiming*, size_t>> units; // and lane
  size_t lanes = 1;
};

Band layout(const v1::RunTimings& run, double offset) {
  Band b{&run, offset, {}, 1};
  std::vector<const v1::UnitTiming*> started;
  for (const v1::UnitTiming& u : run.units()) {
    if (u.started()) {
      started.push_back(&u);
    }
  }
  std::stable_sort(started.begin(), started.end(),
                   [](const auto* x, const auto* y) { return x->start() < y->start(); });
  std::vector<double> lane_end;
  for (const v1::UnitTiming* u : started) {
    size_t lane = 0;
    while (lane < lane_end.size() && lane_end[lane] > u->start() + 1e-9) {
      ++lane;
    }
    if (lane == lane_end.size()) {
      lane_end.push_back(0);
    }
    lane_end[lane] = u->start() + u->duration();
    b.units.emplace_back(u, lane);
  }
  b.lanes = std::max<size_t>(1, lane_end.size());
  return b;
}

} // namespace

std::string render_session_timeline_html(const v1::GetTimingsResponse& timings,
                                         const std::string& title) {
  int64_t base_ms = 0;
  for (int i = 0; i < timings.runs_size(); ++i) {
    int64_t s = timings.runs(i).run().start_unix_ms();
    base_ms = i == 0 ? s : std::min(base_ms, s);
  }
  std::vector<Band> bands;
  double end = 0.01;
  for (const v1::RunTimings& run : timings.runs()) {
    double offset = static_cast<double>(run.run().start_unix_ms() - base_ms) / 1000.0;
    bands.push_back(layout(run, offset));
    end = std::max(end, offset + run.total_time());
  }
  const double px = k_width / end;
  double height = k_axis;
  for (const Band& b : bands) {
    height += k_header + static_cast<double>(b.lanes) * k_lane + k_gap;
  }

  std::string out;
  out += "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Cargo Session "
         "Timeline — " +
         escape(title) +
         "</title>\n<style>\nbody { font-family: sans-serif; margin: 16px; }\n"
         "svg text { font-size: 12px; }\nsvg .tick { fill: #666; text-anchor: middle; }\n"
         "svg .grid { stroke: #ddd; }\nsvg .band { fill: #f6f6f6; stroke: #ccc; }\n"
         "svg .unit { fill: #95cce8; }\nsvg .unit.build-script { fill: #f0b165; }\n"
         "svg .unit.critical { stroke: #e80000; stroke-width: 1; }\n"
         "svg .cpu { fill: rgba(250, 119, 0, 0.2); }\n"
         "table { border-collapse: collapse; margin: 12px 0; }\n"
         "td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }\n"
         "</style>\n</head>\n<body>\n<h1>Cargo Session Timeline</h1>\n";
  out += "<p>Session " + escape(title) + ": " + std::to_string(timings.runs_size()) +
         " cargo runs on one time axis.</p>\n";
  out += "<table class=\"runs\">\n<tr><th>Run</th><th>Command</th><th>Starts at</th>"
         "<th>Total time</th><th>Units</th><th>Depth</th></tr>\n";
  for (const Band& b : bands) {
    const v1::RunSummary& r = b.run->run();
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.2f}s</td><td>{:.2f}s</td><td>{}</td>"
                       "<td>{}</td></tr>\n",
                       escape(r.run_id()), escape(r.command_line()), b.offset, b.run->total_time(),
                       b.run->total_units(), r.depth());
  }
  out += "</table>\n";
  out += fmt::format("<svg class=\"session\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" "
                     "height=\"{:.0f}\">\n",
                     k_width + 2 * k_left + 60, height + 10);
  // The shared time axis.
  static constexpr double k_steps[] = {0.1, 0.2, 0.5, 1,   2,   5,    10,  15,
                                       30,  60,  120, 300, 600, 1800, 3600};
  double step = 7200;
  for (double s : k_steps) {
    if (s * px >= 70) {
      step = s;
      break;
    }
  }
  for (int i = 0; step * i <= end + 1e-9; ++i) {
    double x = k_left + step * i * px;
    out += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.0f}\" x2=\"{:.1f}\" "
                       "y2=\"{:.0f}\"/><text class=\"tick\" x=\"{:.1f}\" y=\"14\">{}s</text>\n",
                       x, k_axis - 4, x, height, x, fmt::format("{:g}", step * i));
  }
  double y = k_axis;
  for (const Band& b : bands) {
    const v1::RunTimings& t = *b.run;
    const double band_h = k_header + static_cast<double>(b.lanes) * k_lane;
    const double x0 = k_left + b.offset * px;
    const double w = std::max(t.total_time() * px, 1.0);
    out += fmt::format("<g class=\"run\" data-run-id=\"{}\">\n<rect class=\"band\" x=\"{:.1f}\" "
                       "y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>\n",
                       escape(t.run().run_id()), x0, y, w, band_h);
    // CPU usage behind the units, 100 % = the band's lane area.
    if (!t.resource_usage().empty()) {
      const double top = y + k_header;
      const double lanes_h = static_cast<double>(b.lanes) * k_lane;
      out += fmt::format("<path class=\"cpu\" d=\"M{:.1f} {:.1f}", x0, top + lanes_h);
      for (const v1::ResourceSample& s : t.resource_usage()) {
        double sx = x0 + std::clamp(s.t(), 0.0, t.total_time()) * px;
        out += fmt::format(" L{:.1f} {:.1f}", sx,
                           top + lanes_h - std::clamp(s.cpu_percent(), 0.0, 100.0) / 100 * lanes_h);
      }
      out +=
          fmt::format(" L{:.1f} {:.1f} Z\"/>\n",
                      x0 + std::clamp(t.resource_usage().rbegin()->t(), 0.0, t.total_time()) * px,
                      top + lanes_h);
    }
    out += fmt::format("<text class=\"label\" x=\"{:.1f}\" y=\"{:.1f}\">{}{} ({:.2f}s)</text>\n",
                       x0 + 4, y + 15, std::string(2 * t.run().depth(), ' '),
                       escape(t.run().command_line()), t.total_time());
    for (const auto& [u, lane] : b.units) {
      const bool script = u->unit().mode() == "run-custom-build";
      out += fmt::format("<rect class=\"unit{}{}\" x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" "
                         "height=\"{:.0f}\"><title>{} ({:.2f}s)</title></rect>\n",
                         script ? " build-script" : "", u->critical() ? " critical" : "",
                         x0 + u->start() * px, y + k_header + static_cast<double>(lane) * k_lane,
                         std::max(u->duration() * px, 0.5), k_lane - 2,
                         escape(u->unit().description()), u->duration());
    }
    out += "</g>\n";
    y += band_h + k_gap;
  }
  out += "</svg>\n</body>\n</html>\n";
  return out;
}

} // namespace ca::render
