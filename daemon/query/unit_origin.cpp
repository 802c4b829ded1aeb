#include "daemon/query/unit_origin.hpp"

#include "daemon/query/run_analysis.hpp"
#include "daemon/query/stored_units.hpp"
#include "shared/run_id.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr std::string_view k_no_earlier_build = "no earlier build in this workspace";
constexpr std::string_view k_no_logged_difference =
    "no logged difference from the earlier build (rustflags changed, or the target dir was "
    "cleaned)";

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    out += item;
  }
  return out;
}

std::string or_none(const std::string& text) {
  return text.empty() ? std::string("(none)") : text;
}

// The versions of a unit's dependencies by package name (several when two versions of one
// package are linked, sorted), leaving out units of its own package (its build script).
std::map<std::string, std::string> dependency_versions(const store::StoredUnit& unit,
                                                       std::span<const store::StoredUnit> units) {
  std::map<std::string, std::set<std::string>> versions;
  for (uint32_t dep : unit.dependencies) {
    if (dep >= units.size() || units[dep].index != dep || units[dep].name == unit.name) {
      continue;
    }
    versions[units[dep].name].insert(units[dep].version);
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, set] : versions) {
    out[name] = joined(std::vector<std::string>(set.begin(), set.end()), ", ");
  }
  return out;
}

void add_change(v1::NewUnitOrigin& origin,
                std::string_view kind,
                const std::string& old_value,
                const std::string& new_value,
                std::string text) {
  v1::UnitConfigChange* c = origin.add_changes();
  c->set_kind(std::string(kind));
  c->set_old(old_value);
  c->set_new_(new_value);
  c->set_text(std::move(text));
}

// Every difference between the earlier build `then` and `now`, in the order the header names.
void fill_changes(const store::RunConfig& then_run,
                  const store::StoredUnit& then,
                  std::span<const store::StoredUnit> then_units,
                  const store::RunConfig& now_run,
                  const store::StoredUnit& now,
                  std::span<const store::StoredUnit> now_units,
                  v1::NewUnitOrigin& origin) {
  auto from_to = [](std::string_view what, const std::string& a, const std::string& b) {
    return std::string(what) + ": " + or_none(a) + " -> " + or_none(b);
  };
  if (then.mode != now.mode) {
    add_change(origin, "mode", then.mode, now.mode, from_to("mode changed", then.mode, now.mode));
  }
  if (then_run.profile != now_run.profile) {
    add_change(origin, "profile", then_run.profile, now_run.profile,
               from_to("profile changed", then_run.profile, now_run.profile));
  }
  if (then.platform != now.platform) {
    add_change(origin, "platform", then.platform, now.platform,
               from_to("target platform changed", then.platform, now.platform));
  }
  if (then.features_known && now.features_known && then.features != now.features) {
    std::set<std::string> a(then.features.begin(), then.features.end());
    std::set<std::string> b(now.features.begin(), now.features.end());
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(added));
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(removed));
    std::string text;
    if (removed.empty()) {
      text = "features added: " + joined(added, ", ");
    } else if (added.empty()) {
      text = "features removed: " + joined(removed, ", ");
    } else {
      text =
          "features changed: added " + joined(added, ", ") + "; removed " + joined(removed, ", ");
    }
    v1::UnitConfigChange* c = origin.add_changes();
    c->set_kind("features");
    c->set_old(joined(then.features, ","));
    c->set_new_(joined(now.features, ","));
    for (const std::string& f : added) {
      c->add_added(f);
    }
    for (const std::string& f : removed) {
      c->add_removed(f);
    }
    c->set_text(std::move(text));
  }
  if (then_run.rustc_version != now_run.rustc_version) {
    add_change(origin, "toolchain", then_run.rustc_version, now_run.rustc_version,
               from_to("toolchain changed", then_run.rustc_version, now_run.rustc_version));
  }
  if (then.version != now.version) {
    add_change(origin, "version", then.version, now.version,
               from_to("version changed", then.version, now.version));
  }
  auto a = dependency_versions(then, then_units);
  auto b = dependency_versions(now, now_units);
  std::set<std::string> names;
  for (const auto& [name, v] : a) {
    names.insert(name);
  }
  for (const auto& [name, v] : b) {
    names.insert(name);
  }
  for (const std::string& name : names) {
    auto x = a.find(name);
    auto y = b.find(name);
    std::string old_version = x == a.end() ? std::string() : x->second;
    std::string new_version = y == b.end() ? std::string() : y->second;
    if (old_version == new_version) {
      continue;
    }
    std::string text = x == a.end()   ? "dependency added: " + name + " " + new_version
                       : y == b.end() ? "dependency removed: " + name + " " + old_version
                                      : "dependency version changed: " + name + " " + old_version +
                                            " -> " + new_version;
    v1::UnitConfigChange* c = origin.add_changes();
    c->set_kind("dependency");
    c->set_name(name);
    c->set_old(old_version);
    c->set_new_(new_version);
    c->set_text(std::move(text));
  }
  if (then_run.target_dir != now_run.target_dir) {
    add_change(origin, "target_dir", then_run.target_dir, now_run.target_dir,
               from_to("target dir changed", then_run.target_dir, now_run.target_dir));
  }
}

} // namespace

v1::NewUnitOrigin compare_with_earlier(const store::RunConfig& now_run,
                                       const store::StoredUnit& now,
                                       std::span<const store::StoredUnit> now_units,
                                       std::span<const store::RunUnit> candidates,
                                       std::span<const store::StoredUnit> earlier_units) {
  v1::NewUnitOrigin best;
  if (candidates.empty()) {
    best.set_text(std::string(k_no_earlier_build));
    return best;
  }
  bool have = false;
  for (const store::RunUnit& c : candidates) {
    v1::NewUnitOrigin origin;
    fill_changes(c.run, c.unit, earlier_units, now_run, now, now_units, origin);
    if (have && origin.changes_size() >= best.changes_size()) {
      continue;
    }
    origin.set_found(true);
    origin.set_previous_run_id(c.run.run_id);
    origin.set_previous_command_line(c.run.command_line);
    origin.set_previous_start_time(format_rfc3339_ms(c.run.start_unix_ms));
    fill_unit_ref(to_registered(c.unit), *origin.mutable_previous_unit());
    origin.set_text(origin.changes().empty() ? std::string(k_no_logged_difference)
                                             : origin.changes(0).text());
    best = std::move(origin);
    have = true;
  }
  return best;
}

Result<void> explain_new_roots(store::RunReader& reader, v1::RunRebuilds& report) {
  const v1::RunSummary& run = report.run();
  bool any = std::any_of(
      report.root_rebuilds().begin(), report.root_rebuilds().end(),
      [](const v1::RootRebuild& r) { return r.reason().dirty_reason() == "fresh-build"; });
  if (!any || run.workspace_root().empty()) {
    return {};
  }
  CA_TRY_ASSIGN(std::vector<store::StoredUnit> units, reader.units(run.run_id()));
  store::RunConfig now_run;
  now_run.run_id = run.run_id();
  now_run.session_id = run.session_id();
  now_run.command_line = run.command_line();
  now_run.start_unix_ms = run.start_unix_ms();
  now_run.profile = run.profile();
  now_run.target_dir = run.target_dir();
  now_run.rustc_version = run.rustc_version();
  // Units by index (the table has them dense, 0..n-1, but a run cut short may have holes).
  std::vector<store::StoredUnit> by_index;
  for (store::StoredUnit& u : units) {
    if (u.index >= by_index.size()) {
      by_index.resize(u.index + 1);
    }
    by_index[u.index] = std::move(u);
  }
  std::unordered_map<std::string, std::vector<store::StoredUnit>> earlier_runs;
  for (v1::RootRebuild& root : *report.mutable_root_rebuilds()) {
    if (root.reason().dirty_reason() != "fresh-build" || root.unit().index() >= by_index.size()) {
      continue;
    }
    const store::StoredUnit& now = by_index[root.unit().index()];
    CA_TRY_ASSIGN(auto candidates,
                  reader.earlier_builds(run.workspace_root(), now.name, now.target_name,
                                        now.target_kind, run.start_unix_ms(), run.run_id()));
    std::span<const store::StoredUnit> earlier_units;
    if (!candidates.empty()) {
      const std::string& id = candidates.front().run.run_id;
      auto it = earlier_runs.find(id);
      if (it == earlier_runs.end()) {
        CA_TRY_ASSIGN(auto stored, reader.units(id));
        std::vector<store::StoredUnit> dense;
        for (store::StoredUnit& u : stored) {
          if (u.index >= dense.size()) {
            dense.resize(u.index + 1);
          }
          dense[u.index] = std::move(u);
        }
        it = earlier_runs.emplace(id, std::move(dense)).first;
      }
      earlier_units = it->second;
    }
    *root.mutable_new_unit_origin() =
        compare_with_earlier(now_run, now, by_index, candidates, earlier_units);
  }
  return {};
}

} // namespace ca::query
