// `report rebuilds` as text: cargo 1.95's `rebuilds.rs::display_report`, line for line.
//
// Layout (no colour):
//   Session: <run id>
//   Status: 3 units rebuilt, 85 cached, 0 new
//   <blank>                      -- the report ends here when every unit was cached, or new
//   Rebuild impact:
//     root rebuilds: 1 unit
//     cascading:     2 units
//   <blank>
//   Root rebuilds: (top 5 of 48 by impact)   -- the suffix only when some roots are hidden
//     0. wscore@0.1.0: file modified: wscore/src/lib.rs
//        impact: 2 dependent units rebuilt
//          - wsapp@0.1.0 wsapp "bin"          -- -vv only
//   <blank>
//   note: pass `--verbose` to show all root rebuilds   -- or the `-vv` note, or nothing
//
// Beyond cargo: after a root built for the first time ("fresh build"), its impact and its
// affected units, why it was new, from its earlier build in the workspace
// (RootRebuild.new_unit_origin), as lines cargo never prints:
//        new: profile changed: dev -> release (and 1 more difference)
// and with `-v` one `new:` line per difference, then `compared with: `<command>` (<run id>)`.
// A run whose every unit was new (where cargo's report ends after the status) gets, when some
// of its roots were built before, a section of its own after the status:
//   New units: (top 5 of 12 roots)       -- the suffix only when some roots are hidden
//     0. thr@0.1.0: fresh build
//        new: profile changed: dev -> release
//
// With colour, cargo styles headers as `style::HEADER` (bold bright green), root lines and unit
// names as `style::LITERAL` (bold bright cyan), also the unit a reason names ("dependency
// rebuilt: <unit>"), and the note's "note" as a header (checked against cargo 1.95's
// `--color always` output).
#include "shared/render/rebuilds_text.hpp"

#include <algorithm>

namespace ca::render {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr std::string_view k_header = "\x1b[1m\x1b[92m";
constexpr std::string_view k_literal = "\x1b[1m\x1b[96m";
constexpr std::string_view k_reset = "\x1b[0m";

struct Styles {
  std::string_view header;
  std::string_view literal;
  std::string_view reset;
};

const char* plural(std::size_t n) {
  return n == 1 ? "" : "s";
}

// `name@version` styled as a literal, then the target part unstyled (cargo's `unit_description`).
std::string styled_description(const v1::UnitRef& unit, const Styles& s) {
  if (s.literal.empty()) {
    return unit.description();
  }
  std::string version = unit.version().empty() ? "<n/a>" : unit.version();
  return std::string(s.literal) + unit.name() + "@" + version + std::string(s.reset) +
         unit.target_description();
}

// The reason, with the unit it names styled as cargo styles unit descriptions.
std::string styled_reason(const v1::RootRebuild& root, const Styles& s) {
  const std::string& text = root.reason_text();
  const std::string& named = root.reason_unit().description();
  if (s.literal.empty() || !root.has_reason_unit() || named.empty() || text.size() < named.size() ||
      text.compare(text.size() - named.size(), named.size(), named) != 0) {
    return text;
  }
  return text.substr(0, text.size() - named.size()) + styled_description(root.reason_unit(), s);
}

// Why a new unit was new (beyond cargo's report): the first difference from its earlier build,
// or with `-v` every difference and the build compared with.
std::string new_unit_lines(const v1::NewUnitOrigin& origin, bool verbose) {
  std::string out;
  if (!verbose || origin.changes().empty()) {
    out = "     new: " + origin.text();
    if (origin.changes_size() > 1) {
      const std::size_t more = static_cast<std::size_t>(origin.changes_size()) - 1;
      out += " (and " + std::to_string(more) + " more difference" + plural(more) + ")";
    }
    out += "\n";
  } else {
    for (const v1::UnitConfigChange& change : origin.changes()) {
      out += "     new: " + change.text() + "\n";
    }
  }
  if (verbose && origin.found()) {
    out += "     compared with: `" + origin.previous_command_line() + "` (" +
           origin.previous_run_id() + ")\n";
  }
  return out;
}

// A build whose every unit was new, which cargo leaves unexplained: why its new roots were
// new, when some had been built before (a first build of the workspace gets nothing).
std::string new_units_section(const v1::RunRebuilds& report, bool verbose, const Styles& s) {
  const auto& roots = report.root_rebuilds();
  if (std::none_of(roots.begin(), roots.end(),
                   [](const v1::RootRebuild& root) { return root.new_unit_origin().found(); })) {
    return {};
  }
  const std::size_t root_count = report.root_count();
  const std::size_t shown = std::min<std::size_t>(
      verbose ? root_count : std::min(k_default_root_limit, root_count), roots.size());
  std::string out = std::string(s.header) + "New units:" + std::string(s.reset);
  if (shown < root_count) {
    out += " (top " + std::to_string(shown) + " of " + std::to_string(root_count) + " roots)";
  }
  out += "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    const v1::RootRebuild& root = roots.Get(static_cast<int>(i));
    out += "  " + std::string(s.literal) + std::to_string(i) + ". " +
           styled_description(root.unit(), s) + ":" + std::string(s.reset) + " " +
           root.reason_text() + "\n";
    out += new_unit_lines(root.new_unit_origin(), verbose);
  }
  if (shown < root_count) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on `"\n" + string`.
    out += '\n';
    out += s.header;
    out += "note";
    out += s.reset;
    out += ": pass `--verbose` to show all root rebuilds\n";
  }
  return out;
}

} // namespace

std::string render_rebuilds(const v1::RunRebuilds& report, Verbosity verbosity, bool color) {
  // Cargo's `-vv` implies `-v`: both show every root; only `-vv` lists the affected units.
  const bool verbose = verbosity != Verbosity::normal;
  const bool extra_verbose = verbosity == Verbosity::extra_verbose;
  const Styles s = color ? Styles{k_header, k_literal, k_reset} : Styles{};
  const std::string h(s.header);
  const std::string r(s.reset);

  std::string out;
  out += h + "Session:" + r + " " + report.run().run_id() + "\n";
  out += h + "Status:" + r + " " + std::to_string(report.units_rebuilt()) + " unit" +
         plural(report.units_rebuilt()) + " rebuilt, " + std::to_string(report.units_cached()) +
         " cached, " + std::to_string(report.units_new()) + " new\n\n";

  // Nothing to explain when everything was reused, or everything was built for the first time
  // (cargo stops here); beyond cargo, why the new units were new when they had been built before.
  if (report.units_rebuilt() == 0 && report.units_new() == 0) {
    return out;
  }
  if (report.units_rebuilt() == 0 && report.units_cached() == 0) {
    return out + new_units_section(report, verbose, s);
  }

  // The counts are the whole run's: the daemon sends only the roots shown (GetRebuildsRequest's
  // `max_roots`), and their affected units only for `-vv` (`omit_affected`).
  const auto& roots = report.root_rebuilds();
  const std::size_t root_count = report.root_count();
  const std::size_t cascading = report.cascading();
  const bool has_cascading = cascading > 0;

  out += h + "Rebuild impact:" + r + "\n";
  out += "  root rebuilds: " + std::to_string(root_count) + " unit" + plural(root_count) + "\n";
  out += "  cascading:     " + std::to_string(cascading) + " unit" + plural(cascading) + "\n\n";

  const std::size_t display_limit =
      verbose ? root_count : std::min(k_default_root_limit, root_count);
  const std::size_t truncated = root_count - display_limit;
  if (truncated > 0) {
    out += h + "Root rebuilds:" + r + " (top " + std::to_string(display_limit) + " of " +
           std::to_string(root_count) + " by impact)\n";
  } else {
    out += h + "Root rebuilds:" + r + "\n";
  }

  for (std::size_t i = 0; i < display_limit && i < static_cast<std::size_t>(roots.size()); ++i) {
    const v1::RootRebuild& root = roots.Get(static_cast<int>(i));
    out += "  " + std::string(s.literal) + std::to_string(i) + ". " +
           styled_description(root.unit(), s) + ":" + r + " " + styled_reason(root, s) + "\n";
    const std::size_t count = root.affected_count();
    if (count == 0) {
      out += "     impact: no cascading rebuilds\n";
    } else {
      out += "     impact: " + std::to_string(count) + " dependent unit" + plural(count) +
             " rebuilt\n";
    }
    if (extra_verbose) {
      for (const v1::UnitRef& affected : root.affected()) {
        out += "       - " + styled_description(affected, s) + "\n";
      }
    }
    if (root.has_new_unit_origin()) {
      out += new_unit_lines(root.new_unit_origin(), verbose);
    }
  }

  if (!verbose && truncated > 0) {
    out += "\n" + h + "note" + r + ": pass `--verbose` to show all root rebuilds\n";
  } else if (!extra_verbose && has_cascading) {
    out += "\n" + h + "note" + r + ": pass `-vv` to show all affected rebuilt unit lists\n";
  }
  return out;
}

} // namespace ca::render
