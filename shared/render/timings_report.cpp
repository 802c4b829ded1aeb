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
//
// The page of corpus C (a clean build of 242 units) is 276 KB in ~25,000 pieces, ~7,000 of them
// numbers, so it is written in place: a Writer appends markup, escaped text and numbers to one
// buffer sized up front, with no temporary strings. Numbers go through fmt straight into that
// buffer: a bespoke exact-integer formatter did them before, and measured end to end it saved the
// client ~0.5 ms of the ~5 ms of this page (corpus C, release build, medians of 31 runs), under
// the 1 ms that bespoke speed code has to earn here (#12). The output is byte for byte what the
// printf-style code before printed.
#include "shared/render/timings_report.hpp"

#include "shared/proto_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

using namespace std::string_view_literals;

double round_cs(double x) {
  return std::round(x * 100.0) / 100.0;
}

// --- the output buffer ----------------------------------------------------------------------

// A number to write as "%<width>.<precision>f" (right-aligned in `Width` columns).
template <int Precision, int Width = 0> struct Fixed {
  static_assert(Precision >= 0 && Precision <= 3 && Width >= 0 && Width <= 24);
  double value;
};
template <int Precision, int Width = 0> Fixed<Precision, Width> fixed(double value) {
  return {value};
}

// Text to write with `&`, `<`, `>` and `"` escaped.
struct Escaped {
  std::string_view text;
};
Escaped escaped(std::string_view text) {
  return {text};
}

// Strings to write escaped, with `separator` (written as is) between them.
struct EscapedList {
  const google::protobuf::RepeatedPtrField<std::string>& items;
  std::string_view separator;
};

template <class T>
concept Integer = std::is_integral_v<T> && !std::is_same_v<T, char> && !std::is_same_v<T, bool>;

// Appends to a std::string through a raw pointer: a page is some 25,000 short pieces, and
// std::string::append cost more per piece than writing it. The string grows by what is needed
// plus a small step (its capacity still grows geometrically; a small step keeps resize from
// zero-filling much ahead), and gets its final size when the Writer goes away.
class Writer {
public:
  explicit Writer(std::string& out) : m_out(out), m_p(out.data() + out.size()), m_end(m_p) {}
  ~Writer() { m_out.resize(static_cast<std::size_t>(m_p - m_out.data())); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends each part: text as is, Escaped and EscapedList text, Fixed and integer numbers.
  template <class... Parts> void add(const Parts&... parts) { (put(parts), ...); }

private:
  static constexpr std::size_t k_step = 1024;

  char* room(std::size_t k) {
    if (static_cast<std::size_t>(m_end - m_p) < k) {
      grow(k);
    }
    return m_p;
  }
  [[gnu::noinline]] void grow(std::size_t k) {
    auto used = static_cast<std::size_t>(m_p - m_out.data());
    m_out.resize(used + k + k_step);
    m_p = m_out.data() + used;
    m_end = m_out.data() + m_out.size();
  }

  void put(std::string_view text) {
    std::memcpy(room(text.size()), text.data(), text.size());
    m_p += text.size();
  }
  // A char array is a string literal: its size is known here, no strlen. (Pass a buffer
  // filled at run time as a string_view.)
  template <std::size_t N> void put(const char (&literal)[N]) {
    put(std::string_view(literal, N - 1));
  }
  void put(char c) {
    *room(1) = c;
    ++m_p;
  }
  template <Integer T> void put(T n) {
    char* p = room(24);
    m_p = std::to_chars(p, p + 24, n).ptr;
  }
  template <int Precision, int Width> void put(Fixed<Precision, Width> number) {
    // fmt's "{:W.Pf}" is printf's "%W.Pf" and Rust's `{:W.P}`: the exact binary value correctly
    // rounded, ties to even. What does not fit (huge magnitudes) takes the allocating path.
    constexpr std::size_t k_room = Width + 24;
    char* p = room(k_room);
    auto r = fmt::format_to_n(p, k_room, "{:{}.{}f}", number.value, Width, Precision);
    if (r.size > k_room) {
      put(fmt::format("{:{}.{}f}", number.value, Width, Precision));
      return;
    }
    m_p = r.out;
  }
  void put(Escaped text) {
    char* p = room(6 * text.text.size());
    for (char c : text.text) {
      switch (c) {
      case '&':
        p = std::copy_n("&amp;", 5, p);
        break;
      case '<':
        p = std::copy_n("&lt;", 4, p);
        break;
      case '>':
        p = std::copy_n("&gt;", 4, p);
        break;
      case '"':
        p = std::copy_n("&quot;", 6, p);
        break;
      default:
        *p++ = c;
      }
    }
    m_p = p;
  }
  void put(const EscapedList& list) {
    for (int i = 0; i < list.items.size(); ++i) {
      if (i > 0) {
        put(list.separator);
      }
      put(escaped(list.items.Get(i)));
    }
  }

  std::string& m_out;
  char* m_p;
  char* m_end;
};

// --- summary lines, shared by the page and the text ------------------------------------------

std::string_view first_line(std::string_view text) {
  return text.substr(0, text.find('\n'));
}

// Cargo's "Total time": `0.4s`, or `75.3s (1m 15.3s)` past a minute.
void total_time(Writer& w, double secs) {
  w.add(fixed<1>(secs), "s");
  if (secs > 60.0) {
    w.add(" (", static_cast<uint32_t>(secs) / 60, "m ", fixed<1>(std::fmod(secs, 60.0)), "s)");
  }
}

// `4 (jobs=4 ncpu=8)`.
void max_concurrency(Writer& w, const v1::RunTimings& timings) {
  w.add(timings.max_concurrency(), " (jobs=", timings.jobs(), " ncpu=");
  if (timings.num_cpus() == 0) {
    w.add("n/a");
  } else {
    w.add(timings.num_cpus());
  }
  w.add(")");
}

// `12 units, 34.5s`, or `n/a`.
void critical_path_summary(Writer& w, const v1::RunTimings& timings) {
  if (timings.critical_path().empty()) {
    w.add("n/a");
    return;
  }
  // The last unit with an index, as a map from index to unit would have it.
  auto find = [&timings](uint32_t index) -> const v1::UnitTiming* {
    for (auto it = timings.units().rbegin(); it != timings.units().rend(); ++it) {
      if (it->unit().index() == index) {
        return &*it;
      }
    }
    return nullptr;
  };
  const v1::UnitTiming* first = find(timings.critical_path(0));
  const v1::UnitTiming* last = find(*timings.critical_path().rbegin());
  double span = first && last ? last->start() + last->duration() - first->start() : 0.0;
  auto n = static_cast<std::size_t>(timings.critical_path_size());
  w.add(n, n == 1 ? " unit, "sv : " units, "sv, fixed<1>(round_cs(span)), "s");
}

std::string capitalized(std::string name) {
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') {
    name[0] = static_cast<char>(name[0] - 'a' + 'A');
  }
  return name;
}

// Units in cargo's unit-table order: by rounded total time, longest first. Cargo's sort is
// unstable; equal times keep report (start) order here.
std::vector<const v1::UnitTiming*> by_duration(const v1::RunTimings& timings, bool started_only) {
  std::vector<std::pair<double, const v1::UnitTiming*>> keyed;
  keyed.reserve(static_cast<std::size_t>(timings.units_size()));
  for (const v1::UnitTiming& unit : timings.units()) {
    if (!started_only || unit.started()) {
      keyed.emplace_back(round_cs(unit.duration()), &unit);
    }
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const v1::UnitTiming*> units;
  units.reserve(keyed.size());
  for (const auto& [duration, unit] : keyed) {
    units.push_back(unit);
  }
  return units;
}

// --- the page -------------------------------------------------------------------------------

std::string_view section_color(std::string_view name) {
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

void tick_label(Writer& w, double t, double step) {
  if (step < 0.1) {
    w.add(fixed<2>(t), "s");
  } else if (step < 1) {
    w.add(fixed<1>(t), "s");
  } else {
    w.add(fixed<0>(t), "s");
  }
}

constexpr double k_graph_width = 1000; // px for the whole build
constexpr double k_axis_x = 50;        // left margin, room for row numbers / counts
constexpr double k_row = 22;
constexpr double k_top = 24; // room for the time labels above a graph
constexpr double k_box = 18;

void time_axis(
    Writer& w, double duration, double px_per_sec, double top, double height, bool labels_above) {
  double step = tick_step(px_per_sec, 60);
  for (int i = 0;; ++i) {
    double t = step * i;
    if (t > duration + 1e-9) {
      break;
    }
    double x = k_axis_x + t * px_per_sec;
    w.add("<line class=\"grid\" x1=\"", fixed<1>(x), "\" y1=\"", fixed<1>(top), "\" x2=\"",
          fixed<1>(x), "\" y2=\"", fixed<1>(top + height), "\"/>");
    // Labels above and below: the Gantt chart of a big build is taller than a screen.
    for (double y : {top - 8, top + height + 16}) {
      if (y < top && !labels_above) {
        continue;
      }
      w.add("<text class=\"tick\" x=\"", fixed<1>(x), "\" y=\"", fixed<1>(y), "\">");
      tick_label(w, t, step);
      w.add("</text>");
    }
  }
  w.add("\n");
}

void gantt_svg(Writer& w, const v1::RunTimings& timings) {
  std::vector<const v1::UnitTiming*> units;
  std::unordered_map<std::string_view, int> name_count;
  for (const v1::UnitTiming& unit : timings.units()) {
    if (unit.started()) {
      units.push_back(&unit);
      ++name_count[unit.unit().name()];
    }
  }
  if (units.empty()) {
    w.add("<p>No unit was built in this run.</p>\n");
    return;
  }
  double duration = std::max(timings.total_time(), 0.01);
  double px_per_sec = k_graph_width / duration;
  double graph_height = k_row * static_cast<double>(units.size());
  double width = k_axis_x + k_graph_width + 320; // labels of late units run past the end
  double height = k_top + graph_height + 30;

  w.add("<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"", fixed<0>(width),
        "\" height=\"", fixed<0>(height), "\">\n");
  time_axis(w, duration, px_per_sec, k_top, graph_height, true);

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
    double w_box = std::max(dur * px_per_sec, 1.0);
    const bool custom_build = ref.mode() == "run-custom-build";

    w.add(unit.critical() ? "<g class=\"unit critical\">"sv : "<g class=\"unit\">"sv);
    w.add("<title>", escaped(ref.description()), "\nstart ", fixed<2>(start), "s, total ",
          fixed<2>(dur), "s");
    if (unit.has_rmeta_time()) {
      w.add(", rmeta ", fixed<2>(round_cs(unit.rmeta_time())), "s");
    }
    w.add(unit.critical() ? "\non the critical path</title>"sv : "</title>"sv);
    w.add("<text class=\"row\" x=\"", fixed<1>(k_axis_x - 4), "\" y=\"", fixed<1>(y + k_box / 2),
          "\">", row + 1, "</text>");
    w.add("<rect class=\"box\" x=\"", fixed<2>(x), "\" y=\"", fixed<1>(y), "\" width=\"",
          fixed<2>(w_box), "\" height=\"", fixed<0>(k_box), "\" fill=\"",
          custom_build ? "#f0b165"sv : "#95cce8"sv, "\"/>");
    for (const v1::SectionTiming& section : unit.sections()) {
      if (section.name() == "frontend") {
        continue; // the base box is the frontend
      }
      double sx = x + section.start() * px_per_sec;
      double sw = std::max((section.end() - section.start()) * px_per_sec, 0.0);
      w.add("<rect x=\"", fixed<2>(sx), "\" y=\"", fixed<1>(y), "\" width=\"", fixed<2>(sw),
            "\" height=\"", fixed<0>(k_box), "\" fill=\"", section_color(section.name()), "\"/>");
    }
    if (unit.critical()) {
      w.add("<rect class=\"critical-outline\" x=\"", fixed<2>(x), "\" y=\"", fixed<1>(y),
            "\" width=\"", fixed<2>(w_box), "\" height=\"", fixed<0>(k_box), "\"/>");
    }
    w.add("<text class=\"label\" x=\"", fixed<2>(x + 4), "\" y=\"", fixed<1>(y + k_box / 2), "\">",
          escaped(ref.name()));
    if (name_count[ref.name()] > 1) {
      w.add(" (v", escaped(ref.version()), ")");
    }
    w.add(escaped(ref.target_description()), ": ", fixed<2>(dur), "s</text></g>\n");
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
    w.add("<path class=\"critical-link\" d=\"M", fixed<2>(x1), " ", fixed<1>(y1), " V",
          fixed<1>(y2), " H", fixed<2>(x2), "\"/>\n");
  }
  w.add("</svg>\n");
}

void concurrency_svg(Writer& w, const v1::RunTimings& timings) {
  if (timings.concurrency().empty()) {
    return;
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

  w.add("<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"",
        fixed<0>(k_axis_x + k_graph_width + 160), "\" height=\"", fixed<0>(k_top + k_height + 30),
        "\">\n");
  time_axis(w, duration, px_per_sec, k_top, k_height, false);
  for (uint32_t v : {0u, max_value / 2, max_value}) {
    w.add("<text class=\"row\" x=\"", fixed<1>(k_axis_x - 4), "\" y=\"", fixed<1>(y_of(v)), "\">",
          v, "</text>");
  }
  struct Line {
    std::string_view name;
    std::string_view color;
    uint32_t (v1::ConcurrencySample::*value)() const;
  };
  // CPU usage first, under the lines, where cargo's live page draws it: a filled area in
  // cargo's colour, 100 % at the top of the graph (cargo scales usage / 100 to its max value).
  const bool cpu = !timings.resource_usage().empty();
  if (cpu) {
    auto cpu_y = [&](double pct) {
      return k_top + k_height - std::clamp(pct, 0.0, 100.0) / 100.0 * k_height;
    };
    auto cpu_x = [&](double t) { return k_axis_x + std::clamp(t, 0.0, duration) * px_per_sec; };
    const auto& samples = timings.resource_usage();
    w.add("<path class=\"cpu-usage\" fill=\"rgba(250, 119, 0, 0.2)\" stroke=\"none\" d=\"M",
          fixed<2>(cpu_x(samples[0].t())), " ", fixed<1>(cpu_y(0)));
    for (const v1::ResourceSample& sample : samples) {
      w.add(" L", fixed<2>(cpu_x(sample.t())), " ", fixed<1>(cpu_y(sample.cpu_percent())));
    }
    w.add(" L", fixed<2>(cpu_x(samples[samples.size() - 1].t())), " ", fixed<1>(cpu_y(0)),
          " Z\"/>\n");
  }
  const Line lines[] = {{"Inactive", "blue", &v1::ConcurrencySample::inactive},
                        {"Waiting", "red", &v1::ConcurrencySample::waiting},
                        {"Active", "green", &v1::ConcurrencySample::active}};
  for (const Line& line : lines) {
    // A step line: each sample holds until the next one.
    w.add("<path fill=\"none\" stroke=\"", line.color, "\" stroke-width=\"2\" d=\"");
    for (int i = 0; i < timings.concurrency_size(); ++i) {
      const v1::ConcurrencySample& c = timings.concurrency(i);
      double x = k_axis_x + c.t() * px_per_sec;
      double y = y_of((c.*line.value)());
      w.add(i == 0 ? "M"sv : " H"sv, fixed<2>(x), i == 0 ? " "sv : " V"sv, fixed<1>(y));
    }
    w.add("\"/>\n");
  }
  double lx = k_axis_x + k_graph_width + 20;
  for (int i = 0; i < 3; ++i) {
    double ly = k_top + 10 + 20 * i;
    w.add("<path stroke=\"", lines[i].color, "\" stroke-width=\"2\" d=\"M", fixed<0>(lx), " ",
          fixed<0>(ly), " h20\"/><text class=\"legend\" x=\"", fixed<0>(lx + 26), "\" y=\"",
          fixed<0>(ly), "\">", lines[i].name, "</text>");
  }
  if (cpu) {
    double ly = k_top + 10 + 20 * 3;
    w.add("<rect fill=\"rgba(250, 119, 0, 0.2)\" x=\"", fixed<0>(lx), "\" y=\"", fixed<0>(ly - 6),
          "\" width=\"20\" height=\"12\"/><text class=\"legend\" x=\"", fixed<0>(lx + 26),
          "\" y=\"", fixed<0>(ly), "\">CPU Usage</text>");
  }
  w.add("\n</svg>\n");
  // The samples also in the variable cargo's page draws them from, as [seconds, percent] pairs.
  w.add("<script>const CPU_USAGE = [");
  for (int i = 0; i < timings.resource_usage_size(); ++i) {
    const v1::ResourceSample& sample = timings.resource_usage(i);
    w.add(i == 0 ? "["sv : ",["sv, fixed<3>(sample.t()), ",", fixed<1>(sample.cpu_percent()), "]");
  }
  w.add("];</script>\n");
}

// Cargo's `write_unit_table`.
void unit_table(Writer& w, const v1::RunTimings& timings) {
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

  w.add("<table class=\"my-table unit-table\">\n<thead>\n<tr>\n  <th></th>\n  "
        "<th>Unit</th>\n  <th>Total</th>\n");
  for (const v1::SectionTiming* header : headers) {
    w.add("  <th>", escaped(capitalized(header->name())), "</th>\n");
  }
  w.add("  <th>Features</th>\n</tr>\n</thead>\n<tbody>\n");
  std::size_t row = 0;
  for (const v1::UnitTiming* unit : units) {
    const v1::UnitRef& ref = unit->unit();
    double total = round_cs(unit->duration());
    w.add(unit->critical() ? "<tr class=\"critical\">"sv : "<tr>"sv, "\n<td>", ++row,
          ".</td>\n<td>", escaped(ref.name()), " v",
          escaped(ref.version().empty() ? "N/A"sv : std::string_view(ref.version())),
          escaped(ref.target_description()), "</td>\n<td>", fixed<1>(total), "s</td>\n");
    for (const v1::SectionTiming* header : headers) {
      w.add("<td>");
      for (const v1::SectionTiming& section : unit->sections()) {
        if (section.name() == header->name() && section.reported() == header->reported()) {
          double duration = std::max(section.end() - section.start(), 0.0);
          w.add(fixed<1>(duration), "s (", fixed<0>(duration / total * 100.0), "%)");
          break;
        }
      }
      w.add("</td>\n");
    }
    w.add("<td>", EscapedList{ref.features(), ", "}, "</td>\n</tr>\n");
  }
  w.add("</tbody>\n</table>\n");
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

// Cargo's summary rows, then ours.
void summary_table(Writer& w, const v1::RunTimings& timings) {
  const v1::RunSummary& run = timings.run();
  std::string_view rustc = first_line(timings.rustc_version_verbose());
  if (rustc.empty()) {
    rustc = run.rustc_version();
  }
  auto row = [&w](std::string_view name) { w.add("<tr>\n<td>", name, "</td><td>"); };
  constexpr std::string_view k_row_end = "</td>\n</tr>\n";
  w.add("<table class=\"my-table summary-table\">\n");
  row("Session:");
  w.add(escaped(run.run_id()), k_row_end);
  row("Targets:");
  w.add(EscapedList{timings.root_units(), "<br>"}, k_row_end);
  row("Profile:");
  w.add(escaped(timings.profile()), k_row_end);
  row("Fresh units:");
  w.add(timings.fresh_units(), k_row_end);
  row("Dirty units:");
  w.add(timings.dirty_units(), k_row_end);
  row("Total units:");
  w.add(timings.total_units(), k_row_end);
  row("Max concurrency:");
  max_concurrency(w, timings);
  w.add(k_row_end);
  row("Build start:");
  w.add(escaped(timings.build_start()), k_row_end);
  row("Total time:");
  total_time(w, timings.total_time());
  w.add(k_row_end);
  row("Critical path:");
  critical_path_summary(w, timings);
  w.add(k_row_end);
  row("rustc:");
  w.add(escaped(rustc), "<br>Host: ", escaped(timings.host()),
        "<br>Target: ", EscapedList{timings.requested_targets(), ", "}, k_row_end);
  w.add("</table>\n");
}

// Room for the whole page, so the buffer is not copied as it grows: corpus C's 242 units and
// 385 concurrency samples make 276 KB, 135 KB of it the JSON.
std::size_t expected_page_size(const v1::RunTimings& timings) {
  return 8192 + k_style.size() + 1300 * static_cast<std::size_t>(timings.units_size()) +
         100 * static_cast<std::size_t>(timings.concurrency_size()) +
         80 * static_cast<std::size_t>(timings.resource_usage_size());
}

// The report as MessageToJsonString's text (proto field names, compact) in a script element,
// for tools that read the page; appended in place by our printer, at a fraction of protobuf's
// cost. Left out when neither printer can print it.
void append_json_script(std::string& out, const v1::RunTimings& timings) {
  const std::size_t start = out.size();
  out += "<script type=\"application/json\" id=\"timings-data\">";
  const std::size_t json_start = out.size();
  if (!append_json(out, timings, {})) {
    auto json = to_json_with_protobuf(timings, {});
    if (!json) {
      out.resize(start);
      return;
    }
    out += *json;
  }
  // `</` would end the script element early; `<\/` is the same string to a JSON reader. (Both
  // printers escape `<` in strings, so this finds nothing today.)
  for (std::size_t at = out.find("</", json_start); at != std::string::npos;
       at = out.find("</", at + 3)) {
    out.insert(at + 1, 1, '\\');
  }
  out += "</script>\n";
}

// Summary lines and the slowest units.
void timings_text(Writer& w, const v1::RunTimings& timings, bool color) {
  const std::string_view h = color ? "\x1b[1m\x1b[92m"sv : ""sv;
  const std::string_view lit = color ? "\x1b[1m\x1b[96m"sv : ""sv;
  const std::string_view r = color ? "\x1b[0m"sv : ""sv;
  const v1::RunSummary& run = timings.run();

  w.add(h, "Session:", r, "         ", run.run_id(), "\n");
  w.add(h, "Total time:", r, "      ");
  total_time(w, timings.total_time());
  w.add("\n", h, "Units:", r, "           ", timings.total_units(), " (", timings.dirty_units(),
        " dirty, ", timings.fresh_units(), " fresh)\n");
  w.add(h, "Max concurrency:", r, " ");
  max_concurrency(w, timings);
  w.add("\n", h, "Critical path:", r, "   ");
  critical_path_summary(w, timings);
  w.add("\n");

  std::unordered_map<uint32_t, const v1::UnitTiming*> by_index;
  for (const v1::UnitTiming& unit : timings.units()) {
    by_index[unit.unit().index()] = &unit;
  }
  for (uint32_t index : timings.critical_path()) {
    if (auto it = by_index.find(index); it != by_index.end()) {
      const v1::UnitTiming& unit = *it->second;
      w.add("  ", fixed<2, 6>(round_cs(unit.start())), "s +", fixed<2>(round_cs(unit.duration())),
            "s  ", unit.unit().description(), "\n");
    }
  }

  std::vector<const v1::UnitTiming*> slowest = by_duration(timings, true);
  if (slowest.empty()) {
    w.add("\nNo unit was built in this run.\n");
    return;
  }
  constexpr std::size_t k_slowest = 10;
  if (slowest.size() > k_slowest) {
    slowest.resize(k_slowest);
  }
  w.add("\n", h, "Slowest units:", r, "\n");
  std::size_t rank = 0;
  for (const v1::UnitTiming* unit : slowest) {
    char rank_text[16];
    std::snprintf(rank_text, sizeof rank_text, "%3zu. ", ++rank);
    w.add(std::string_view(rank_text), fixed<2, 7>(round_cs(unit->duration())), "s  ",
          unit->critical() ? lit : ""sv, unit->unit().description(), unit->critical() ? r : ""sv);
    bool first = true;
    for (const v1::SectionTiming& section : unit->sections()) {
      if (section.name() == "other" && !section.reported()) {
        continue; // the tail after rustc's last section, as in cargo's table
      }
      w.add(first ? "  ("sv : ", "sv, section.name(), " ",
            fixed<2>(std::max(section.end() - section.start(), 0.0)), "s");
      first = false;
    }
    if (!first) {
      w.add(")");
    }
    if (unit->critical()) {
      w.add("  [critical]");
    }
    w.add("\n");
  }
}

} // namespace

std::string render_timings_html(const v1::RunTimings& timings) {
  const v1::RunSummary& run = timings.run();
  std::string out;
  out.reserve(expected_page_size(timings));
  {
    Writer w(out);
    w.add("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Cargo Build "
          "Timings — ",
          escaped(run.run_id()), "</title>\n<style>", k_style,
          "</style>\n</head>\n<body>\n<h1>Cargo Build Timings</h1>\n");
    summary_table(w, timings);
    w.add("<h2>Units</h2>\n<p>"
          "<span class=\"legend-box\" style=\"background:#95cce8\"></span>Frontend (until "
          "metadata)"
          "<span class=\"legend-box\" style=\"background:#aa95e8\"></span>Codegen"
          "<span class=\"legend-box\" style=\"background:#95e8aa\"></span>Link"
          "<span class=\"legend-box\" style=\"background:#e895aa\"></span>Other"
          "<span class=\"legend-box\" style=\"background:#f0b165\"></span>Build script run"
          "<span class=\"legend-box\" style=\"border:2px solid #e80000\"></span>Critical path"
          "</p>\n");
    gantt_svg(w, timings);
    w.add("<h2>Concurrency</h2>\n");
    concurrency_svg(w, timings);
    unit_table(w, timings);
  }
  append_json_script(out, timings);
  out += "</body>\n</html>\n";
  return out;
}

std::string render_timings_text(const v1::RunTimings& timings, bool color) {
  std::string out;
  {
    Writer w(out);
    timings_text(w, timings, color);
  }
  return out;
}

} // namespace ca::render
