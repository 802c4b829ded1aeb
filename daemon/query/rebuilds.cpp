// `report rebuilds`: which units were rebuilt, why, and what each root rebuild dragged along.
//
// The algorithm is cargo's (`src/cargo/ops/cargo_report/rebuilds.rs`, 1.95):
// - every `unit-fingerprint` counts its unit as cached (fresh), rebuilt (dirty) or new; a unit
//   with a `cause`, or with status `new` (whose reason is then always "fresh build", whatever
//   the cause says), is *rebuilt* in the sense of the analysis;
// - a *root rebuild* is a rebuilt unit none of whose direct dependencies was rebuilt: the place
//   where a change entered the build;
// - its *affected* units are the rebuilt units reached from it through reverse dependencies
//   (dependents, dependents of dependents, ... but only through rebuilt units), sorted by index;
// - roots are ordered by number of affected units (descending), then package name. Cargo leaves
//   ties between equal names in hash order; we break them by unit index so output is stable.
//
// Example (corpus A, step 4): wscore's lib (84) is dirty because `wscore/src/lib.rs` changed,
// wsmid (87) and wsapp (83) are dirty because a dependency's fingerprint changed. Only 84 has
// no rebuilt dependency, so it is the one root, with 83 and 87 as its cascading impact.
#include "daemon/query/run_analysis.hpp"
#include "shared/package_id.hpp"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

// One path component with where it sits in the original text.
struct Component {
  std::string_view text;
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Splits a Unix path into components the way Rust's `Path::components` does: a leading `/` is
// a component of its own, repeated separators collapse, and `.` is dropped except at the start.
std::vector<Component> path_components(std::string_view path) {
  std::vector<Component> out;
  std::size_t pos = 0;
  if (!path.empty() && path.front() == '/') {
    out.push_back({path.substr(0, 1), 0, 1});
    pos = 1;
  }
  while (pos < path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) {
      next = path.size();
    }
    std::string_view part = path.substr(pos, next - pos);
    if (!part.empty() && !(part == "." && !out.empty())) {
      out.push_back({part, pos, next});
    }
    pos = next + 1;
  }
  return out;
}

// `path.strip_prefix(root).unwrap_or(path).display()`: component-wise, so `/ws` is not a prefix
// of `/wsA/x`; the remainder is shown without leading or trailing separators (`/ws` itself
// gives the empty string, as in cargo's `file missing: `).
std::string relative_to(std::string_view path, std::string_view root) {
  std::vector<Component> path_parts = path_components(path);
  std::vector<Component> root_parts = path_components(root);
  if (root_parts.size() > path_parts.size()) {
    return std::string(path);
  }
  for (std::size_t i = 0; i < root_parts.size(); ++i) {
    if (root_parts[i].text != path_parts[i].text) {
      return std::string(path);
    }
  }
  if (root_parts.size() == path_parts.size()) {
    return {};
  }
  std::size_t begin = path_parts[root_parts.size()].begin;
  std::size_t end = path_parts.back().end;
  return std::string(path.substr(begin, end - begin));
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items,
                 std::string_view separator) {
  std::string out;
  for (int i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items.Get(i);
  }
  return out;
}

std::string describe_unit(const UnitMap& units, uint32_t index, std::string_view fallback) {
  if (auto it = units.find(index); it != units.end()) {
    return unit_description(it->second);
  }
  return std::string(fallback);
}

std::string format_stale_item(const v1::StaleItem& item, std::string_view root) {
  const std::string& kind = item.stale_item();
  if (kind == "missing-file") {
    return "file missing: " + relative_to(item.path(), root);
  }
  if (kind == "unable-to-read-file") {
    return "unable to read file: " + relative_to(item.path(), root);
  }
  if (kind == "failed-to-read-metadata") {
    return "failed to read file metadata: " + relative_to(item.path(), root);
  }
  if (kind == "file-size-changed") {
    return "file size changed: " + relative_to(item.path(), root) + " (" +
           std::to_string(item.old_size()) + " -> " + std::to_string(item.new_size()) + " bytes)";
  }
  if (kind == "changed-file") {
    return "file modified: " + relative_to(item.stale(), root);
  }
  if (kind == "changed-checksum") {
    return "file checksum changed: " + relative_to(item.source(), root) + " (" +
           item.stored_checksum() + " -> " + item.new_checksum() + ")";
  }
  if (kind == "missing-checksum") {
    return "checksum missing: " + relative_to(item.path(), root);
  }
  if (kind == "changed-env") {
    return "environment variable changed (" + item.var() +
           "): " + (item.has_previous() ? item.previous() : "<unset>") + " -> " +
           (item.has_current() ? item.current() : "<unset>");
  }
  return kind; // a stale item newer than this version: its kind is the best words we have
}

std::string
format_fs_status(const v1::FsStatus& status, const UnitMap& units, std::string_view root) {
  const std::string& kind = status.fs_status();
  if (kind == "stale") {
    return "filesystem status stale";
  }
  if (kind == "stale-item") {
    return format_stale_item(status.stale_item(), root);
  }
  if (kind == "stale-dependency" || kind == "stale-dep-fingerprint") {
    return "dependency rebuilt: " +
           describe_unit(units, status.unit(), "unit " + std::to_string(status.unit()));
  }
  if (kind == "up-to-date") { // never logged (cargo skips it when serializing); in the source
    return "up to date";
  }
  return kind;
}

// Cargo 1.95's `checksum-use-changed` carries a boolean `old`, which the typed event has no
// field for. The decoder keeps the kind; we read `old` back from the raw line and keep it as
// the string "true"/"false" in `string_change.old`, so the report (and its JSON) carries it.
void recover_checksum_use(const std::string& raw, v1::DirtyReason& reason) {
  if (reason.dirty_reason() != "checksum-use-changed" || reason.has_string_change() ||
      raw.empty()) {
    return;
  }
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(raw);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return;
  }
  bool old = false;
  if (doc["cause"]["old"].get_bool().get(old) != simdjson::SUCCESS) {
    return;
  }
  reason.mutable_string_change()->set_old(old ? "true" : "false");
}

// Finds every rebuilt unit reachable from `root` through dependents (cargo's
// `find_cascading_rebuilds`), sorted by index.
std::vector<uint32_t>
find_cascading_rebuilds(uint32_t root,
                        const std::unordered_map<uint32_t, std::vector<uint32_t>>& dependents,
                        const std::map<uint32_t, v1::DirtyReason>& rebuilt) {
  std::vector<uint32_t> affected;
  std::unordered_set<uint32_t> visited{root};
  std::vector<uint32_t> stack{root};
  while (!stack.empty()) {
    uint32_t unit = stack.back();
    stack.pop_back();
    auto it = dependents.find(unit);
    if (it == dependents.end()) {
      continue;
    }
    for (uint32_t dependent : it->second) {
      if (rebuilt.count(dependent) != 0 && visited.insert(dependent).second) {
        affected.push_back(dependent);
        stack.push_back(dependent);
      }
    }
  }
  std::sort(affected.begin(), affected.end());
  return affected;
}

// The unit a reason names and describes (see `format_dirty_reason`).
std::optional<uint32_t> reason_unit(const v1::DirtyReason& reason) {
  if (reason.dirty_reason() == "unit-dependency-info-changed") {
    return reason.unit();
  }
  if (reason.dirty_reason() == "fs-status-outdated" &&
      (reason.fs_status().fs_status() == "stale-dependency" ||
       reason.fs_status().fs_status() == "stale-dep-fingerprint")) {
    return reason.fs_status().unit();
  }
  return std::nullopt;
}

} // namespace

std::string format_dirty_reason(const v1::DirtyReason& reason,
                                const UnitMap& units,
                                std::string_view workspace_root) {
  const std::string& kind = reason.dirty_reason();
  const v1::StringChange& change = reason.string_change();
  auto from_to = [&](std::string_view what) {
    return std::string(what) + ": " + change.old() + " -> " + change.new_();
  };
  auto paths_from_to = [&](std::string_view what) {
    return std::string(what) + ": " + relative_to(change.old(), workspace_root) + " -> " +
           relative_to(change.new_(), workspace_root);
  };

  if (kind == "rustc-changed") {
    return "toolchain changed";
  }
  if (kind == "features-changed") {
    return from_to("activated features changed");
  }
  if (kind == "declared-features-changed") {
    return from_to("declared features changed");
  }
  if (kind == "target-configuration-changed") {
    return "target configuration changed";
  }
  if (kind == "path-to-source-changed") {
    return "path to source changed";
  }
  if (kind == "profile-configuration-changed") {
    return "profile configuration changed";
  }
  if (kind == "rustflags-changed") {
    return "rustflags changed: " + join(reason.list_change().old(), ", ") + " -> " +
           join(reason.list_change().new_(), ", ");
  }
  if (kind == "config-settings-changed") {
    return "config settings changed";
  }
  if (kind == "compile-kind-changed") {
    return "compile target changed";
  }
  if (kind == "fs-status-outdated") {
    return format_fs_status(reason.fs_status(), units, workspace_root);
  }
  if (kind == "env-var-changed") {
    const v1::EnvVarChange& env = reason.env_var();
    return "environment variable changed (" + env.name() +
           "): " + (env.has_old_value() ? env.old_value() : "<unset>") + " -> " +
           (env.has_new_value() ? env.new_value() : "<unset>");
  }
  if (kind == "env-vars-changed") {
    return from_to("environment variables changed");
  }
  if (kind == "local-fingerprint-type-changed") {
    return from_to("local fingerprint type changed");
  }
  if (kind == "number-of-dependencies-changed") {
    return "number of dependencies changed: " + std::to_string(reason.count_change().old()) +
           " -> " + std::to_string(reason.count_change().new_());
  }
  if (kind == "unit-dependency-name-changed") {
    return from_to("dependency name changed");
  }
  if (kind == "unit-dependency-info-changed") {
    auto it = units.find(reason.unit());
    return it == units.end() ? "dependency info changed"
                             : "dependency info changed: " + unit_description(it->second);
  }
  if (kind == "local-lengths-changed") {
    return "local lengths changed";
  }
  if (kind == "precalculated-components-changed") {
    return from_to("precalculated components changed");
  }
  if (kind == "checksum-use-changed") {
    // 1.95 only; newer cargo replaced it by `fingerprint-method-changed`.
    if (change.old() == "true") {
      return "checksum use changed: enabled -> disabled";
    }
    if (change.old() == "false") {
      return "checksum use changed: disabled -> enabled";
    }
    return "checksum use changed";
  }
  if (kind == "fingerprint-method-changed") {
    // Newer than 1.95 (1.95 cannot read it). The wording, typo included, is cargo's source.
    return from_to("fingerprinty changed");
  }
  if (kind == "dep-info-output-changed") {
    return paths_from_to("dependency info output changed");
  }
  if (kind == "rerun-if-changed-output-file-changed") {
    return paths_from_to("rerun-if-changed output file changed");
  }
  if (kind == "rerun-if-changed-output-paths-changed") {
    return "rerun-if-changed paths changed: " + std::to_string(reason.list_change().old_size()) +
           " path(s) -> " + std::to_string(reason.list_change().new__size()) + " path(s)";
  }
  if (kind == "nothing-obvious") {
    return "nothing obvious";
  }
  if (kind == "forced") {
    return "forced rebuild";
  }
  if (kind == "fresh-build") {
    return "fresh build";
  }
  return kind;
}

v1::RunRebuilds compute_rebuilds(std::span<const v1::Event> events, const v1::RunSummary& run) {
  v1::RunRebuilds out;
  compute_rebuilds(event_pointers(events), run, out);
  return out;
}

void compute_rebuilds(std::span<const v1::Event* const> events,
                      const v1::RunSummary& run,
                      v1::RunRebuilds& out) {
  out.Clear();
  UnitMap units;
  std::unordered_map<uint32_t, std::vector<uint32_t>> dependencies;
  // Ordered by index so that everything derived from it is deterministic.
  std::map<uint32_t, v1::DirtyReason> rebuilt;
  uint32_t total_cached = 0;
  uint32_t total_rebuilt = 0;
  uint32_t total_new = 0;

  for (const v1::Event* e : events) {
    const v1::Event& event = *e;
    if (event.has_unit_registered()) {
      const v1::UnitRegistered& unit = event.unit_registered();
      units[unit.index()] = unit;
      dependencies[unit.index()].assign(unit.dependencies().begin(), unit.dependencies().end());
    } else if (event.has_unit_fingerprint()) {
      const v1::UnitFingerprint& fingerprint = event.unit_fingerprint();
      if (fingerprint.status() == v1::FINGERPRINT_STATUS_UNSPECIFIED) {
        continue; // not a status cargo writes: cargo would not read the line at all
      }
      if (fingerprint.has_cause()) {
        v1::DirtyReason cause = fingerprint.cause();
        recover_checksum_use(event.raw(), cause);
        rebuilt[fingerprint.index()] = std::move(cause);
      }
      switch (fingerprint.status()) {
      case v1::FINGERPRINT_STATUS_FRESH:
        ++total_cached;
        break;
      case v1::FINGERPRINT_STATUS_DIRTY:
        ++total_rebuilt;
        break;
      case v1::FINGERPRINT_STATUS_NEW: {
        ++total_new;
        v1::DirtyReason fresh;
        fresh.set_dirty_reason("fresh-build");
        rebuilt[fingerprint.index()] = std::move(fresh);
        break;
      }
      default:
        break;
      }
    }
  }

  std::unordered_map<uint32_t, std::vector<uint32_t>> dependents;
  for (const auto& [unit, deps] : dependencies) {
    for (uint32_t dep : deps) {
      dependents[dep].push_back(unit);
    }
  }

  struct Root {
    uint32_t index;
    const v1::DirtyReason* reason;
    std::vector<uint32_t> affected;
    std::optional<std::string> name; // None (unregistered) sorts first, like Rust's Option
  };
  std::vector<Root> roots;
  for (const auto& [index, reason] : rebuilt) {
    auto deps = dependencies.find(index);
    bool has_rebuilt_dep = deps != dependencies.end() &&
                           std::any_of(deps->second.begin(), deps->second.end(),
                                       [&](uint32_t dep) { return rebuilt.count(dep) != 0; });
    if (has_rebuilt_dep) {
      continue;
    }
    Root root{index, &reason, find_cascading_rebuilds(index, dependents, rebuilt), std::nullopt};
    if (auto unit = units.find(index); unit != units.end()) {
      root.name = parse_package_id(unit->second.package_id()).name;
    }
    roots.push_back(std::move(root));
  }
  std::sort(roots.begin(), roots.end(), [](const Root& a, const Root& b) {
    if (a.affected.size() != b.affected.size()) {
      return a.affected.size() > b.affected.size();
    }
    if (a.name != b.name) {
      return a.name < b.name;
    }
    return a.index < b.index;
  });

  *out.mutable_run() = run;
  out.set_units_rebuilt(total_rebuilt);
  out.set_units_cached(total_cached);
  out.set_units_new(total_new);
  // A unit is described once and copied wherever it is listed: in a clean build every root
  // lists most of its dependents, so the same units appear thousands of times.
  std::unordered_map<uint32_t, v1::UnitRef> refs;
  auto ref_of = [&](const v1::UnitRegistered& unit) -> const v1::UnitRef& {
    auto [it, added] = refs.try_emplace(unit.index());
    if (added) {
      fill_unit_ref(unit, it->second);
    }
    return it->second;
  };
  uint32_t cascading = 0;
  for (const Root& root : roots) {
    auto unit = units.find(root.index);
    if (unit == units.end()) {
      continue; // cargo 1.95 panics on this ("must have the unit"); we leave it out
    }
    v1::RootRebuild* entry = out.add_root_rebuilds();
    entry->mutable_unit()->CopyFrom(ref_of(unit->second));
    entry->mutable_reason()->CopyFrom(*root.reason);
    entry->set_reason_text(format_dirty_reason(*root.reason, units, run.workspace_root()));
    if (auto named = reason_unit(*root.reason); named && units.count(*named) != 0) {
      entry->mutable_reason_unit()->CopyFrom(ref_of(units.at(*named)));
    }
    entry->mutable_affected()->Reserve(static_cast<int>(root.affected.size()));
    for (uint32_t affected : root.affected) {
      if (auto it = units.find(affected); it != units.end()) {
        entry->add_affected()->CopyFrom(ref_of(it->second));
      }
    }
    entry->set_affected_count(static_cast<uint32_t>(entry->affected_size()));
    cascading += entry->affected_count();
  }
  out.set_cascading(cascading);
  out.set_root_count(static_cast<uint32_t>(out.root_rebuilds_size()));
}

void copy_rebuilds_view(const v1::RunRebuilds& full,
                        const RebuildsView& view,
                        v1::RunRebuilds& out) {
  out.Clear();
  *out.mutable_run() = full.run();
  out.set_units_rebuilt(full.units_rebuilt());
  out.set_units_cached(full.units_cached());
  out.set_units_new(full.units_new());
  out.set_cascading(full.cascading());
  out.set_root_count(full.root_count());
  const int roots = view.max_roots == 0
                        ? full.root_rebuilds_size()
                        : std::min(full.root_rebuilds_size(), static_cast<int>(view.max_roots));
  out.mutable_root_rebuilds()->Reserve(roots);
  for (int i = 0; i < roots; ++i) {
    const v1::RootRebuild& root = full.root_rebuilds(i);
    v1::RootRebuild* entry = out.add_root_rebuilds();
    if (!view.omit_affected) {
      *entry = root;
      continue;
    }
    *entry->mutable_unit() = root.unit();
    *entry->mutable_reason() = root.reason();
    entry->set_reason_text(root.reason_text());
    if (root.has_reason_unit()) {
      *entry->mutable_reason_unit() = root.reason_unit();
    }
    entry->set_affected_count(root.affected_count());
  }
}

} // namespace ca::query
