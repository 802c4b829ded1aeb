// `report timings` as a self-contained HTML page and as terminal text.
//
// The HTML page has the parts of cargo's `--timings` report, drawn as static SVG instead of by
// script so the page works with JavaScript off and in any viewer:
// - the summary table (cargo's rows, plus the critical path);
// - a Gantt chart of the units that ran: frontend (until rmeta) in cargo's unit colour, later
//   sections (codegen, link, other) overlaid in cargo's section colours, build-script runs in
//   orange, critical-path units outlined in red and chained by red lines;
// - the concurrency graph (active green, waiting red, inactive blue, as cargo draws it);
// - cargo's unit table: every unit by total time, with the section columns of the first unit
//   that has sections. Its numbers are cargo's, to the centisecond: values are rounded to
//   centiseconds first and printed with one decimal, as cargo does (`{:.1}` of a rounded f64).
// The report message itself is embedded as proto JSON (`<script type="application/json"
// id="timings-data">`) for tools that read the page.
#include "shared/render/timings_report.hpp"

#include "shared/proto_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>
#include <unordered_map>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

double round_cs(double x) {
  return std::round(x * 100.0) / 100.0;
}

// One number in a printf-like `%[width].<precision>f[suffix]` format, e.g. "%.1fs". fmt, glibc
// and Rust all print the exact binary value correctly rounded, so `%.1f` here gives what
// cargo's `{:.1}` gives; fmt does it several times faster than snprintf, and a report of a few
// hundred units formats thousands of numbers.
std::string number(std::string_view format, double value) {
  size_t i = format.find('%') + 1;
  int width = 0;
  int precision = 0;
  while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
    width = width * 10 + (format[i++] - '0');
  }
  if (i < format.size() && format[i] == '.') {
    ++i;
    while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
      precision = precision * 10 + (format[i++] - '0');
    }
  }
  ++i; // the 'f'
  std::string out = fmt::format("{:{}.{}f}", value, width, precision);
  if (i < format.size()) {
    out.append(format.substr(i));
  }
  return out;
}

std::string escape_html(std::string_view text) {
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

std::string first_line(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

// Cargo's "Total time": `0.4s`, or `75.3s (1m 15.3s)` past a minute.
std::string total_time_text(double secs) {
  std::string out = number("%.1fs", secs);
  if (secs > 60.0) {
    out += " (" + std::to_string(static_cast<uint32_t>(secs) / 60) + "m " +
           number("%.1fs", std::fmod(secs, 60.0)) + ")";
  }
  return out;
}

std::string capitalized(std::string name) {
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') {
    name[0] = static_cast<char>(name[0] - 'a' + 'A');
  }
  return name;
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items,
                 std::string_view separator) {
  std::string out;
  for (int i = 0; i < items.size(); ++i) {
    out += (i > 0 ? std::string(separator) : std::string()) + items.Get(i);
  }
  return out;
}

std::string critical_path_text(const v1::RunTimings& timings) {
  if (timings.critical_path().empty()) {
    return "n/a";
  }
  std::unordered_map<uint32_t, const v1::UnitTiming*> by_index;
  for (const v1::UnitTiming& unit : timings.units()) {
    by_index[unit.unit().index()] = &unit;
  }
  const v1::UnitTiming* first = by_index[timings.critical_path(0)];
  const v1::UnitTiming* last = by_index[*timings.critical_path().rbegin()];
  double span = first && last ? last->start() + last->duration() - first->start() : 0.0;
  std::size_t n = static_cast<std::size_t>(timings.critical_path_size());
  return std::to_string(n) + (n == 1 ? " unit, " : " units, ") + number("%.1fs", round_cs(span));
}

// Units in cargo's unit-table order: by rounded total time, longest first. Cargo's sort is
// unstable; equal times keep report (start) order here.
std::vector<const v1::UnitTiming*> by_duration(const v1::RunTimings& timings, bool started_only) {
  std::vector<const v1::UnitTiming*> units;
  for (const v1::UnitTiming& unit : timings.units()) {
    if (!started_only || unit.started()) {
      units.push_back(&unit);
    }
  }
  std::stable_sort(units.begin(), units.end(),
                   [](const v1::UnitTiming* a, const v1::UnitTiming* b) {
                     return round_cs(a->duration()) > round_cs(b->duration());
                   });
  return units;
}

const char* section_color(std::string_view name) {
  if (name == "codegen") {
    return "#aa95e8";
  }
  if (name == "link") {
    return "#95e8aa";
  }
  if (name == "other") {
    return "#e895aa";
  }
  return "#c8c8c8";
}

// A tick step that leaves at least `min_px` between ticks.
double tick_step(double px_per_sec, double min_px) {
  static constexpr double k_steps[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1,   2,    5,
                                       10,   15,   30,   60,  120, 300, 600, 1200, 3600};
  for (double step : k_steps) {
    if (step * px_per_sec >= min_px) {
      return step;
    }
  }
  return 7200;
}

std::string tick_label(double t, double step) {
  return step < 0.1 ? number("%.2fs", t) : step < 1 ? number("%.1fs", t) : number("%.0fs", t);
}

constexpr double k_graph_width = 1000; // px for the whole build
constexpr double k_axis_x = 50;        // left margin, room for row numbers / counts
constexpr double k_row = 22;
constexpr double k_top = 24; // room for the time labels above a graph
constexpr double k_box = 18;

std::string
time_axis(double duration, double px_per_sec, double top, double height, bool labels_above) {
  std::string out;
  double step = tick_step(px_per_sec, 60);
  for (int i = 0;; ++i) {
    double t = step * i;
    if (t > duration + 1e-9) {
      break;
    }
    double x = k_axis_x + t * px_per_sec;
    out += "<line class=\"grid\" x1=\"" + number("%.1f", x) + "\" y1=\"" + number("%.1f", top) +
           "\" x2=\"" + number("%.1f", x) + "\" y2=\"" + number("%.1f", top + height) + "\"/>";
    // Labels above and below: the Gantt chart of a big build is taller than a screen.
    for (double y : {top - 8, top + height + 16}) {
      if (y < top && !labels_above) {
        continue;
      }
      out += "<text class=\"tick\" x=\"" + number("%.1f", x) + "\" y=\"" + number("%.1f", y) +
             "\">" + tick_label(t, step) + "</text>";
    }
  }
  return out;
}

std::string gantt_svg(const v1::RunTimings& timings) {
  std::vector<const v1::UnitTiming*> units;
  std::map<std::string, int> name_count;
  for (const v1::UnitTiming& unit : timings.units()) {
    if (unit.started()) {
      units.push_back(&unit);
      ++name_count[unit.unit().name()];
    }
  }
  if (units.empty()) {
    return "<p>No unit was built in this run.</p>\n";
  }
  double duration = std::max(timings.total_time(), 0.01);
  double px_per_sec = k_graph_width / duration;
  double graph_height = k_row * static_cast<double>(units.size());
  double width = k_axis_x + k_graph_width + 320; // labels of late units run past the end
  double height = k_top + graph_height + 30;

  std::string out = "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number("%.0f", width) + "\" height=\"" + number("%.0f", height) + "\">\n";
  out += time_axis(duration, px_per_sec, k_top, graph_height, true) + "\n";

  std::unordered_map<uint32_t, std::size_t> row_of;
  for (std::size_t row = 0; row < units.size(); ++row) {
    row_of[units[row]->unit().index()] = row;
  }
  for (std::size_t row = 0; row < units.size(); ++row) {
    const v1::UnitTiming& unit = *units[row];
    const v1::UnitRef& ref = unit.unit();
    double start = round_cs(unit.start());
    double dur = round_cs(unit.duration());
    double x = k_axis_x + start * px_per_sec;
    double y = k_top + static_cast<double>(row) * k_row + (k_row - k_box) / 2;
    double w = std::max(dur * px_per_sec, 1.0);
    std::string label = ref.name();
    if (name_count[ref.name()] > 1) {
      label += " (v" + ref.version() + ")";
    }
    label += ref.target_description() + ": " + number("%.2f", dur) + "s";
    const bool custom_build = ref.mode() == "run-custom-build";

    out += "<g class=\"unit" + std::string(unit.critical() ? " critical" : "") + "\">";
    out += "<title>" + escape_html(ref.description()) + "\nstart " + number("%.2f", start) +
           "s, total " + number("%.2f", dur) + "s";
    if (unit.has_rmeta_time()) {
      out += ", rmeta " + number("%.2f", round_cs(unit.rmeta_time())) + "s";
    }
    out += unit.critical() ? "\non the critical path" : "";
    out += "</title>";
    out += "<text class=\"row\" x=\"" + number("%.1f", k_axis_x - 4) + "\" y=\"" +
           number("%.1f", y + k_box / 2) + "\">" + std::to_string(row + 1) + "</text>";
    out += "<rect class=\"box\" x=\"" + number("%.2f", x) + "\" y=\"" + number("%.1f", y) +
           "\" width=\"" + number("%.2f", w) + "\" height=\"" + number("%.0f", k_box) +
           "\" fill=\"" + (custom_build ? "#f0b165" : "#95cce8") + "\"/>";
    for (const v1::SectionTiming& section : unit.sections()) {
      if (section.name() == "frontend") {
        continue; // the base box is the frontend
      }
      double sx = x + section.start() * px_per_sec;
      double sw = std::max((section.end() - section.start()) * px_per_sec, 0.0);
      out += "<rect x=\"" + number("%.2f", sx) + "\" y=\"" + number("%.1f", y) + "\" width=\"" +
             number("%.2f", sw) + "\" height=\"" + number("%.0f", k_box) + "\" fill=\"" +
             section_color(section.name()) + "\"/>";
    }
    if (unit.critical()) {
      out += "<rect class=\"critical-outline\" x=\"" + number("%.2f", x) + "\" y=\"" +
             number("%.1f", y) + "\" width=\"" + number("%.2f", w) + "\" height=\"" +
             number("%.0f", k_box) + "\"/>";
    }
    out += "<text class=\"label\" x=\"" + number("%.2f", x + 4) + "\" y=\"" +
           number("%.1f", y + k_box / 2) + "\">" + escape_html(label) + "</text></g>\n";
  }

  // Chain the critical path: from where each unit's successor could start (its rmeta or its
  // end) down to the successor's start.
  for (int i = 1; i < timings.critical_path_size(); ++i) {
    auto from = row_of.find(timings.critical_path(i - 1));
    auto to = row_of.find(timings.critical_path(i));
    if (from == row_of.end() || to == row_of.end()) {
      continue;
    }
    const v1::UnitTiming& a = *units[from->second];
    const v1::UnitTiming& b = *units[to->second];
    double ready = a.start() + a.duration();
    if (a.has_rmeta_time() && b.start() < ready) {
      ready = a.start() + a.rmeta_time();
    }
    double x1 = k_axis_x + round_cs(ready) * px_per_sec;
    double y1 = k_top + static_cast<double>(from->second) * k_row + k_row / 2;
    double x2 = k_axis_x + round_cs(b.start()) * px_per_sec;
    double y2 = k_top + static_cast<double>(to->second) * k_row + k_row / 2;
    out += "<path class=\"critical-link\" d=\"M" + number("%.2f", x1) + " " + number("%.1f", y1) +
           " V" + number("%.1f", y2) + " H" + number("%.2f", x2) + "\"/>\n";
  }
  out += "</svg>\n";
  return out;
}

std::string concurrency_svg(const v1::RunTimings& timings) {
  if (timings.concurrency().empty()) {
    return {};
  }
  double duration = std::max(timings.total_time(), 0.01);
  double px_per_sec = k_graph_width / duration;
  uint32_t max_value = 1;
  for (const v1::ConcurrencySample& c : timings.concurrency()) {
    max_value = std::max({max_value, c.active(), c.waiting(), c.inactive()});
  }
  constexpr double k_height = 240;
  double px_per_unit = k_height / static_cast<double>(max_value);
  auto y_of = [&](uint32_t v) { return k_top + k_height - static_cast<double>(v) * px_per_unit; };

  std::string out = "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    number("%.0f", k_axis_x + k_graph_width + 160) + "\" height=\"" +
                    number("%.0f", k_top + k_height + 30) + "\">\n";
  out += time_axis(duration, px_per_sec, k_top, k_height, false) + "\n";
  for (uint32_t v : {0u, max_value / 2, max_value}) {
    out += "<text class=\"row\" x=\"" + number("%.1f", k_axis_x - 4) + "\" y=\"" +
           number("%.1f", y_of(v)) + "\">" + std::to_string(v) + "</text>";
  }
  struct Line {
    const char* name;
    const char* color;
    uint32_t (v1::ConcurrencySample::*value)() const;
  };
  const Line lines[] = {{"Inactive", "blue", &v1::ConcurrencySample::inactive},
                        {"Waiting", "red", &v1::ConcurrencySample::waiting},
                        {"Active", "green", &v1::ConcurrencySample::active}};
  for (const Line& line : lines) {
    // A step line: each sample holds until the next one.
    std::string d;
    for (int i = 0; i < timings.concurrency_size(); ++i) {
      const v1::ConcurrencySample& c = timings.concurrency(i);
      double x = k_axis_x + c.t() * px_per_sec;
      double y = y_of((c.*line.value)());
      d += i == 0 ? "M" + number("%.2f", x) + " " + number("%.1f", y)
                  : " H" + number("%.2f", x) + " V" + number("%.1f", y);
    }
    out += "<path fill=\"none\" stroke=\"" + std::string(line.color) +
           "\" stroke-width=\"2\" d=\"" + d + "\"/>\n";
  }
  double lx = k_axis_x + k_graph_width + 20;
  for (int i = 0; i < 3; ++i) {
    double ly = k_top + 10 + 20 * i;
    out += "<path stroke=\"" + std::string(lines[i].color) + "\" stroke-width=\"2\" d=\"M" +
           number("%.0f", lx) + " " + number("%.0f", ly) + " h20\"/><text class=\"legend\" x=\"" +
           number("%.0f", lx + 26) + "\" y=\"" + number("%.0f", ly) + "\">" + lines[i].name +
           "</text>";
  }
  out += "\n</svg>\n";
  return out;
}

// Cargo's `write_unit_table`.
std::string unit_table(const v1::RunTimings& timings) {
  std::vector<const v1::UnitTiming*> units = by_duration(timings, false);
  // Columns: the sections of the first unit (in table order) that has any, "other" left out
  // (usually a sliver of the unit).
  // A column matches a unit's section by name *and* origin: cargo keys cells by its
  // `SectionName`, where a codegen rustc reported and one derived from rmeta differ.
  std::vector<const v1::SectionTiming*> headers;
  for (const v1::UnitTiming* unit : units) {
    if (unit->sections_size() > 0) {
      for (const v1::SectionTiming& section : unit->sections()) {
        if (section.name() != "other" || section.reported()) {
          headers.push_back(&section);
        }
      }
      break;
    }
  }

  std::string out = "<table class=\"my-table unit-table\">\n<thead>\n<tr>\n  <th></th>\n  "
                    "<th>Unit</th>\n  <th>Total</th>\n";
  for (const v1::SectionTiming* header : headers) {
    out += "  <th>" + escape_html(capitalized(header->name())) + "</th>\n";
  }
  out += "  <th>Features</th>\n</tr>\n</thead>\n<tbody>\n";
  std::size_t row = 0;
  for (const v1::UnitTiming* unit : units) {
    const v1::UnitRef& ref = unit->unit();
    double total = round_cs(unit->duration());
    out += std::string(unit->critical() ? "<tr class=\"critical\">" : "<tr>") + "\n<td>" +
           std::to_string(++row) + ".</td>\n<td>" +
           escape_html(ref.name() + " v" + (ref.version().empty() ? "N/A" : ref.version()) +
                       ref.target_description()) +
           "</td>\n<td>" + number("%.1fs", total) + "</td>\n";
    for (const v1::SectionTiming* header : headers) {
      std::string cell;
      for (const v1::SectionTiming& section : unit->sections()) {
        if (section.name() == header->name() && section.reported() == header->reported()) {
          double duration = std::max(section.end() - section.start(), 0.0);
          cell = number("%.1fs", duration) + " (" + number("%.0f", duration / total * 100.0) + "%)";
          break;
        }
      }
      out += "<td>" + cell + "</td>\n";
    }
    out += "<td>" + escape_html(join(ref.features(), ", ")) + "</td>\n</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

constexpr std::string_view k_style = R"css(
:root {
  --text: #000; --background: #fff; --h1-border-bottom: #c0c0c0;
  --table-box-shadow: rgba(0, 0, 0, 0.1); --table-th: #d5dde5; --table-th-background: #1b1e24;
  --table-th-border-bottom: #9ea7af; --table-th-border-right: #343a45;
  --table-tr-border: #c1c3d1; --table-tr-odd-background: #ebebeb;
  --table-td-background: #ffffff; --table-td-border-right: #c1c3d1;
  --canvas-background: #f7f7f7; --canvas-axes: #303030; --canvas-grid: #e6e6e6;
  --critical: #e80000;
}
@media (prefers-color-scheme: dark) {
  :root {
    --text: #fff; --background: #121212; --h1-border-bottom: #444;
    --table-box-shadow: rgba(255, 255, 255, 0.1); --table-th: #a0a0a0;
    --table-th-background: #2c2c2c; --table-th-border-bottom: #555;
    --table-th-border-right: #444; --table-tr-border: #333; --table-tr-odd-background: #1e1e1e;
    --table-td-background: #262626; --table-td-border-right: #333;
    --canvas-background: #1a1a1a; --canvas-axes: #b0b0b0; --canvas-grid: #333;
  }
}
html { font-family: sans-serif; color: var(--text); background: var(--background); }
h1 { border-bottom: 1px solid var(--h1-border-bottom); }
svg.graph { display: block; background: var(--canvas-background); margin: 5px 0; }
svg .grid { stroke: var(--canvas-grid); stroke-dasharray: 2 4; stroke-width: 2; }
svg text { font-size: 13px; fill: var(--text); }
svg text.tick { fill: var(--canvas-axes); text-anchor: middle; }
svg text.row { fill: var(--canvas-axes); text-anchor: end; dominant-baseline: middle; }
svg text.label { dominant-baseline: middle; fill: #000; }
svg text.legend { dominant-baseline: middle; }
svg .box { rx: 3px; ry: 3px; }
svg .critical-outline { fill: none; stroke: var(--critical); stroke-width: 2; }
svg .critical text.label { font-weight: bold; }
svg .critical-link { fill: none; stroke: var(--critical); stroke-width: 1.5;
  stroke-dasharray: 4 3; }
.legend-box { display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 12px; }
.my-table { margin: 20px 0; border-collapse: collapse;
  box-shadow: 0 5px 10px var(--table-box-shadow); }
.my-table th { color: var(--table-th); background: var(--table-th-background);
  border-bottom: 4px solid var(--table-th-border-bottom);
  border-right: 1px solid var(--table-th-border-right); font-size: 18px; font-weight: 100;
  padding: 12px; text-align: left; vertical-align: middle; }
.my-table th:last-child { border-right: none; }
.my-table tr { border-top: 1px solid var(--table-tr-border);
  border-bottom: 1px solid var(--table-tr-border); font-size: 16px; }
.my-table tr:nth-child(odd) td { background: var(--table-tr-odd-background); }
.my-table td { background: var(--table-td-background); padding: 10px; text-align: left;
  vertical-align: middle; font-weight: 300; font-size: 14px;
  border-right: 1px solid var(--table-td-border-right); }
.my-table td:last-child { border-right: 0; }
.my-table tr.critical td:nth-child(2) { color: var(--critical); font-weight: bold; }
.summary-table td:first-child { vertical-align: top; text-align: right; }
)css";

} // namespace

std::string render_timings_html(const v1::RunTimings& timings) {
  const v1::RunSummary& run = timings.run();
  std::string out = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Cargo Build "
                    "Timings — " +
                    escape_html(run.run_id()) + "</title>\n<style>" + std::string(k_style) +
                    "</style>\n</head>\n<body>\n<h1>Cargo Build Timings</h1>\n";

  // Summary: cargo's rows, then ours.
  std::string rustc = first_line(timings.rustc_version_verbose());
  if (rustc.empty()) {
    rustc = run.rustc_version();
  }
  auto row = [](std::string_view name, const std::string& value) {
    return "<tr>\n<td>" + std::string(name) + "</td><td>" + value + "</td>\n</tr>\n";
  };
  std::string targets;
  for (int i = 0; i < timings.root_units_size(); ++i) {
    targets += (i > 0 ? "<br>" : "") + escape_html(timings.root_units(i));
  }
  out += "<table class=\"my-table summary-table\">\n";
  out += row("Session:", escape_html(run.run_id()));
  out += row("Targets:", targets);
  out += row("Profile:", escape_html(timings.profile()));
  out += row("Fresh units:", std::to_string(timings.fresh_units()));
  out += row("Dirty units:", std::to_string(timings.dirty_units()));
  out += row("Total units:", std::to_string(timings.total_units()));
  out +=
      row("Max concurrency:",
          std::to_string(timings.max_concurrency()) + " (jobs=" + std::to_string(timings.jobs()) +
              " ncpu=" +
              (timings.num_cpus() == 0 ? std::string("n/a") : std::to_string(timings.num_cpus())) +
              ")");
  out += row("Build start:", escape_html(timings.build_start()));
  out += row("Total time:", total_time_text(timings.total_time()));
  out += row("Critical path:", critical_path_text(timings));
  out += row("rustc:", escape_html(rustc) + "<br>Host: " + escape_html(timings.host()) +
                           "<br>Target: " + escape_html(join(timings.requested_targets(), ", ")));
  out += "</table>\n";

  out += "<h2>Units</h2>\n<p>"
         "<span class=\"legend-box\" style=\"background:#95cce8\"></span>Frontend (until "
         "metadata)"
         "<span class=\"legend-box\" style=\"background:#aa95e8\"></span>Codegen"
         "<span class=\"legend-box\" style=\"background:#95e8aa\"></span>Link"
         "<span class=\"legend-box\" style=\"background:#e895aa\"></span>Other"
         "<span class=\"legend-box\" style=\"background:#f0b165\"></span>Build script run"
         "<span class=\"legend-box\" style=\"border:2px solid #e80000\"></span>Critical path"
         "</p>\n";
  out += gantt_svg(timings);
  out += "<h2>Concurrency</h2>\n" + concurrency_svg(timings);
  out += unit_table(timings);

  // MessageToJsonString's text (proto field names, compact) at a fraction of its cost.
  if (auto json_text = to_json(timings, {}); json_text) {
    const std::string& json = *json_text;
    // `</` would end the script element early; `<\/` is the same string to a JSON reader.
    std::string safe;
    safe.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
      safe += json[i];
      if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
        safe += '\\';
      }
    }
    out += "<script type=\"application/json\" id=\"timings-data\">" + safe + "</script>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

std::string render_timings_text(const v1::RunTimings& timings, bool color) {
  const std::string h = color ? "\x1b[1m\x1b[92m" : "";
  const std::string lit = color ? "\x1b[1m\x1b[96m" : "";
  const std::string r = color ? "\x1b[0m" : "";
  const v1::RunSummary& run = timings.run();

  std::string out;
  out += h + "Session:" + r + "         " + run.run_id() + "\n";
  out += h + "Total time:" + r + "      " + total_time_text(timings.total_time()) + "\n";
  out += h + "Units:" + r + "           " + std::to_string(timings.total_units()) + " (" +
         std::to_string(timings.dirty_units()) + " dirty, " +
         std::to_string(timings.fresh_units()) + " fresh)\n";
  out += h + "Max concurrency:" + r + " " + std::to_string(timings.max_concurrency()) +
         " (jobs=" + std::to_string(timings.jobs()) + " ncpu=" +
         (timings.num_cpus() == 0 ? std::string("n/a") : std::to_string(timings.num_cpus())) +
         ")\n";
  out += h + "Critical path:" + r + "   " + critical_path_text(timings) + "\n";

  std::unordered_map<uint32_t, const v1::UnitTiming*> by_index;
  for (const v1::UnitTiming& unit : timings.units()) {
    by_index[unit.unit().index()] = &unit;
  }
  for (uint32_t index : timings.critical_path()) {
    if (auto it = by_index.find(index); it != by_index.end()) {
      const v1::UnitTiming& unit = *it->second;
      out += "  " + number("%6.2fs", round_cs(unit.start())) + " +" +
             number("%.2fs", round_cs(unit.duration())) + "  " + unit.unit().description() + "\n";
    }
  }

  std::vector<const v1::UnitTiming*> slowest = by_duration(timings, true);
  if (slowest.empty()) {
    out += "\nNo unit was built in this run.\n";
    return out;
  }
  constexpr std::size_t k_slowest = 10;
  if (slowest.size() > k_slowest) {
    slowest.resize(k_slowest);
  }
  out += "\n" + h + "Slowest units:" + r + "\n";
  std::size_t rank = 0;
  for (const v1::UnitTiming* unit : slowest) {
    char rank_text[16];
    std::snprintf(rank_text, sizeof rank_text, "%3zu. ", ++rank);
    out += rank_text + number("%7.2fs", round_cs(unit->duration())) + "  " +
           (unit->critical() ? lit : std::string()) + unit->unit().description() +
           (unit->critical() ? r : std::string());
    std::string parts;
    for (const v1::SectionTiming& section : unit->sections()) {
      if (section.name() == "other" && !section.reported()) {
        continue; // the tail after rustc's last section, as in cargo's table
      }
      parts += (parts.empty() ? "" : ", ") + section.name() + " " +
               number("%.2fs", std::max(section.end() - section.start(), 0.0));
    }
    if (!parts.empty()) {
      out += "  (" + parts + ")";
    }
    if (unit->critical()) {
      out += "  [critical]";
    }
    out += "\n";
  }
  return out;
}

} // namespace ca::render
