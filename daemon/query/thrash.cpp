#include "daemon/query/thrash.hpp"

#include "daemon/query/run_analysis.hpp"
#include "daemon/query/stored_units.hpp"
#include "shared/run_id.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

// One rebuild for a cause that can thrash.
struct Flip {
  std::string cause;     // env-var, features, rustflags, build-script, rerun-if-missing
  std::string variable;  // env-var: the variable's name
  std::string old_value; // as shown on a side (`X=1`, `a,b`)
  std::string new_value;
  std::string detail; // rerun-if-missing: `file missing: <path>`
};

std::string unset_or(bool has, const std::string& value) {
  return has ? value : std::string("<unset>");
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) {
      out += ' ';
    }
    out += item;
  }
  return out;
}

// The rebuild `unit` (dirty, for `reason`) as a flip, if its cause is one that can thrash.
std::optional<Flip> classify(const store::StoredUnit& unit,
                             const v1::DirtyReason& reason,
                             std::string_view workspace_root) {
  const std::string& kind = reason.dirty_reason();
  if (kind == "env-var-changed") {
    const v1::EnvVarChange& env = reason.env_var();
    const std::string& var = env.name();
    return Flip{"env-var", var, var + "=" + unset_or(env.has_old_value(), env.old_value()),
                var + "=" + unset_or(env.has_new_value(), env.new_value()), ""};
  }
  if (kind == "fs-status-outdated" && reason.fs_status().fs_status() == "stale-item") {
    const v1::StaleItem& item = reason.fs_status().stale_item();
    if (item.stale_item() == "changed-env") {
      const std::string& var = item.var();
      return Flip{"env-var", var, var + "=" + unset_or(item.has_previous(), item.previous()),
                  var + "=" + unset_or(item.has_current(), item.current()), ""};
    }
    if (item.stale_item() == "missing-file" && unit.mode == "run-custom-build") {
      UnitMap none;
      return Flip{"rerun-if-missing", "", "", "",
                  format_dirty_reason(reason, none, workspace_root)};
    }
    return std::nullopt;
  }
  if (kind == "features-changed") {
    return Flip{"features", "", reason.string_change().old(), reason.string_change().new_(), ""};
  }
  if (kind == "rustflags-changed") {
    return Flip{"rustflags", "", joined(reason.list_change().old()),
                joined(reason.list_change().new_()), ""};
  }
  if (kind == "precalculated-components-changed" && unit.mode == "run-custom-build") {
    return Flip{"build-script", "", "", "", ""};
  }
  return std::nullopt;
}

bool is_build_script_cause(const std::string& cause) {
  return cause == "build-script" || cause == "rerun-if-missing";
}

std::string cause_text(const std::string& cause, const std::string& variable) {
  if (cause == "env-var") {
    return "environment variable " + variable + " flips";
  }
  if (cause == "features") {
    return "activated features alternate";
  }
  if (cause == "rustflags") {
    return "rustflags alternate";
  }
  if (cause == "build-script") {
    return "build script reruns on every change (it prints no `rerun-if-changed`)";
  }
  return "build script reruns on every build (a `rerun-if-changed` file is missing)";
}

std::string fix_text(const std::string& cause, const std::string& variable) {
  if (cause == "env-var") {
    return "pin the env var: give " + variable +
           " one value in every build (`[env]` in .cargo/config.toml), or give the builds "
           "that set it a separate target dir";
  }
  if (cause == "features") {
    return "unify features: build with the same `--features` everywhere (rust-analyzer: "
           "`rust-analyzer.cargo.features`), or give the IDE a separate target dir";
  }
  if (cause == "rustflags") {
    return "use one set of rustflags everywhere, or give the IDE a separate target dir "
           "(rust-analyzer: `rust-analyzer.cargo.targetDir = true`)";
  }
  if (cause == "build-script") {
    return "add `cargo::rerun-if-changed=build.rs` (and one line per file the build script "
           "reads) to the build script";
  }
  return "fix the path of the build script's `rerun-if-changed`, or stop printing it for a file "
         "that is never created";
}

// A rebuild of one unit for one cause, in run order.
struct Entry {
  const store::RunUnit* row;
  Flip flip;
  const store::RunUnit* previous; // the unit's build in the run before, if any in scope
};

double duration(const store::StoredUnit& u) {
  return u.start && u.finish ? std::max(0.0, *u.finish - *u.start) : 0.0;
}

// The units of each run in scope by index, and who depends on whom, for the cascade of a
// rebuild: the rebuilt units it dragged along cost as much as the unit itself.
class RunGraphs {
public:
  explicit RunGraphs(std::span<const store::RunUnit> units) {
    for (const store::RunUnit& row : units) {
      Graph& g = m_runs[row.run.run_id];
      g.units[row.unit.index] = &row.unit;
      for (uint32_t dep : row.unit.dependencies) {
        g.dependents[dep].push_back(row.unit.index);
      }
    }
  }

  // The rebuilt (dirty or new) units reached from `index` of `run_id` through dependents (not
  // the unit itself): how many, and their compile time.
  std::pair<uint32_t, double> cascade(const std::string& run_id, uint32_t index) const {
    auto run = m_runs.find(run_id);
    if (run == m_runs.end()) {
      return {0, 0.0};
    }
    const Graph& g = run->second;
    std::set<uint32_t> seen{index};
    std::vector<uint32_t> stack{index};
    uint32_t count = 0;
    double secs = 0;
    while (!stack.empty()) {
      uint32_t at = stack.back();
      stack.pop_back();
      auto it = g.dependents.find(at);
      if (it == g.dependents.end()) {
        continue;
      }
      for (uint32_t d : it->second) {
        auto unit = g.units.find(d);
        if (unit == g.units.end() || !seen.insert(d).second ||
            (unit->second->fingerprint != "dirty" && unit->second->fingerprint != "new")) {
          continue;
        }
        ++count;
        secs += duration(*unit->second);
        stack.push_back(d);
      }
    }
    return {count, secs};
  }

private:
  struct Graph {
    std::unordered_map<uint32_t, const store::StoredUnit*> units;
    std::unordered_map<uint32_t, std::vector<uint32_t>> dependents;
  };
  std::unordered_map<std::string, Graph> m_runs;
};

// A thrashing rebuild's cost: the unit's compile time and that of the rebuilds it dragged along.
double lost_secs(const Entry& e, const RunGraphs& graphs) {
  return duration(e.row->unit) + graphs.cascade(e.row->run.run_id, e.row->unit.index).second;
}

void add_command(v1::ThrashSide& side, const store::RunConfig& run) {
  if (std::find(side.commands().begin(), side.commands().end(), run.command_line) ==
      side.commands().end()) {
    side.add_commands(run.command_line);
  }
  side.add_run_ids(run.run_id);
}

// The thrash of one unit for one cause, if it thrashes.
std::optional<v1::ThrashingUnit> thrashing_unit(const std::vector<Entry>& entries,
                                                const RunGraphs& graphs) {
  const std::string& cause = entries.front().flip.cause;
  v1::ThrashingUnit out;
  std::vector<const Entry*> lost;
  if (is_build_script_cause(cause)) {
    if (entries.size() < 2) {
      return std::nullopt;
    }
    for (size_t i = 1; i < entries.size(); ++i) {
      lost.push_back(&entries[i]);
    }
    out.set_detail(entries.back().flip.detail);
  } else {
    std::set<std::string> seen;
    for (const Entry& e : entries) {
      if (e.flip.new_value != e.flip.old_value && seen.count(e.flip.new_value) != 0) {
        lost.push_back(&e);
      }
      seen.insert(e.flip.old_value);
      seen.insert(e.flip.new_value);
    }
    if (lost.empty()) {
      return std::nullopt;
    }
    // The sides, in order of first appearance: the first rebuild's old value was built by the
    // unit's build before it (when that is in scope).
    std::map<std::string, int> side_of;
    auto side = [&](const std::string& value) -> v1::ThrashSide& {
      auto [it, added] = side_of.try_emplace(value, out.sides_size());
      if (added) {
        out.add_sides()->set_value(value);
      }
      return *out.mutable_sides(it->second);
    };
    const Entry& first = entries.front();
    v1::ThrashSide& before = side(first.flip.old_value);
    if (first.previous != nullptr) {
      add_command(before, first.previous->run);
    }
    for (const Entry& e : entries) {
      add_command(side(e.flip.new_value), e.row->run);
    }
  }
  const store::RunUnit& newest = *entries.back().row;
  fill_unit_ref(to_registered(newest.unit), *out.mutable_unit());
  out.set_rebuilds(static_cast<uint32_t>(entries.size()));
  out.set_thrashing_rebuilds(static_cast<uint32_t>(lost.size()));
  double secs = 0;
  uint32_t cascading = 0;
  for (const Entry* e : lost) {
    auto [count, cascade_secs] = graphs.cascade(e->row->run.run_id, e->row->unit.index);
    secs += duration(e->row->unit) + cascade_secs;
    cascading += count;
    out.add_run_ids(e->row->run.run_id);
  }
  out.set_time_lost_secs(secs);
  out.set_cascading_rebuilds(cascading);
  return out;
}

// Rebuilds by unit and cause (and variable), in run order; std::map keeps the output stable.
std::map<std::string, std::vector<Entry>>
rebuilds_by_unit_cause(std::span<const store::RunUnit> units, std::string_view workspace_root) {
  std::map<std::string, std::vector<Entry>> by_unit_cause;
  std::unordered_map<std::string, const store::RunUnit*> last_build; // by unit
  for (const store::RunUnit& row : units) {
    const store::StoredUnit& u = row.unit;
    std::string unit_key =
        u.name + '\0' + u.target_name + '\0' + u.target_kind + '\0' + u.mode + '\0' + u.platform;
    const store::RunUnit*& previous = last_build[unit_key];
    if (u.fingerprint == "dirty") {
      if (auto reason = decode_cause(u.cause)) {
        if (auto flip = classify(u, *reason, workspace_root)) {
          std::string key = unit_key + '\0' + flip->cause + '\0' + flip->variable;
          by_unit_cause[key].push_back(Entry{&row, std::move(*flip), previous});
        }
      }
    }
    previous = &row;
  }
  return by_unit_cause;
}

} // namespace

bool may_thrash(const v1::DirtyReason& reason, std::string_view mode) {
  store::StoredUnit unit;
  unit.mode = std::string(mode);
  return classify(unit, reason, "").has_value();
}

Result<std::vector<RunThrash>> thrash_in_run(store::RunReader& reader,
                                             const std::string& workspace_root,
                                             const std::string& run_id,
                                             uint32_t last_runs) {
  CA_TRY_ASSIGN(auto runs, reader.recent_runs(workspace_root, last_runs));
  CA_TRY_ASSIGN(auto units, reader.recent_units(workspace_root, last_runs));
  std::unordered_map<std::string, uint32_t> position;
  for (const store::RunConfig& r : runs) {
    position.emplace(r.run_id, static_cast<uint32_t>(position.size()));
  }
  std::vector<RunThrash> out;
  if (!position.contains(run_id)) {
    return out;
  }
  // The history as it stood when the run was built: a caller behind the store (the live hub,
  // while back-fill commits run after run) must not see this run as superseded by later ones.
  int64_t started = 0;
  for (const store::RunConfig& r : runs) {
    if (r.run_id == run_id) {
      started = r.start_unix_ms;
    }
  }
  std::erase_if(units, [&](const store::RunUnit& u) {
    return u.run.run_id != run_id && u.run.start_unix_ms > started;
  });
  const RunGraphs graphs(units);
  for (const auto& [key, entries] : rebuilds_by_unit_cause(units, workspace_root)) {
    const Entry& now = entries.back();
    if (now.row->run.run_id != run_id) {
      continue;
    }
    auto unit = thrashing_unit(entries, graphs);
    if (!unit || unit->run_ids().empty() || *unit->run_ids().rbegin() != run_id) {
      continue; // no thrash, or this rebuild did not go back
    }
    // The newest earlier run where the unit was in the configuration it goes back to (for a
    // build script: its previous rerun).
    std::optional<std::string> then;
    for (size_t i = entries.size() - 1; i-- > 0 && !then;) {
      const Entry& e = entries[i];
      if (is_build_script_cause(e.flip.cause) || e.flip.new_value == now.flip.new_value) {
        then = e.row->run.run_id;
      } else if (e.flip.old_value == now.flip.new_value && e.previous != nullptr) {
        then = e.previous->run.run_id;
      }
    }
    RunThrash t;
    t.index = now.row->unit.index;
    t.cause = now.flip.cause;
    t.cause_text = cause_text(now.flip.cause, now.flip.variable);
    t.fix = fix_text(now.flip.cause, now.flip.variable);
    t.from = now.flip.old_value;
    t.to = now.flip.new_value;
    if (then && position.contains(*then)) {
      t.builds_ago = position.at(run_id) - position.at(*then);
    }
    t.thrashing_rebuilds = unit->thrashing_rebuilds();
    t.time_lost_before = unit->time_lost_secs() - lost_secs(now, graphs);
    out.push_back(std::move(t));
  }
  return out;
}

v1::ThrashResponse compute_thrash(std::span<const store::RunConfig> runs,
                                  std::span<const store::RunUnit> units,
                                  std::string_view workspace_root) {
  v1::ThrashResponse resp;
  resp.set_runs(static_cast<uint32_t>(runs.size()));
  if (!runs.empty()) {
    resp.set_first_start(format_rfc3339_ms(runs.front().start_unix_ms));
    resp.set_last_start(format_rfc3339_ms(runs.back().start_unix_ms));
  }
  auto by_unit_cause = rebuilds_by_unit_cause(units, workspace_root);
  const RunGraphs graphs(units);

  // Units that thrash, grouped by cause (and variable).
  std::map<std::pair<std::string, std::string>, v1::ThrashGroup> groups;
  for (const auto& [key, entries] : by_unit_cause) {
    auto unit = thrashing_unit(entries, graphs);
    if (!unit) {
      continue;
    }
    const Flip& flip = entries.front().flip;
    v1::ThrashGroup& g = groups[{flip.cause, flip.variable}];
    if (g.cause().empty()) {
      g.set_cause(flip.cause);
      g.set_cause_text(cause_text(flip.cause, flip.variable));
      g.set_fix(fix_text(flip.cause, flip.variable));
    }
    g.set_time_lost_secs(g.time_lost_secs() + unit->time_lost_secs());
    *g.add_units() = std::move(*unit);
  }
  std::vector<v1::ThrashGroup> ordered;
  for (auto& [key, g] : groups) {
    std::stable_sort(g.mutable_units()->begin(), g.mutable_units()->end(),
                     [](const v1::ThrashingUnit& a, const v1::ThrashingUnit& b) {
                       return a.time_lost_secs() > b.time_lost_secs();
                     });
    ordered.push_back(std::move(g));
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const v1::ThrashGroup& a, const v1::ThrashGroup& b) {
                     return a.time_lost_secs() > b.time_lost_secs();
                   });
  double total = 0;
  for (v1::ThrashGroup& g : ordered) {
    total += g.time_lost_secs();
    *resp.add_groups() = std::move(g);
  }
  resp.set_time_lost_secs(total);
  return resp;
}

} // namespace ca::query
