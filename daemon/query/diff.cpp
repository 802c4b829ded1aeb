#include "daemon/query/diff.hpp"

#include "daemon/query/run_analysis.hpp"
#include "daemon/query/stored_units.hpp"
#include "daemon/store/trend_index.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

// Times are logged to the nanosecond but differ run to run by noise; below a millisecond a
// difference is no difference.
constexpr double k_min_delta_secs = 0.0005;

// Which status says most about a unit that several runs of a session saw.
int status_rank(const std::string& status) {
  if (status == "dirty") {
    return 3;
  }
  if (status == "new") {
    return 2;
  }
  if (status == "fresh") {
    return 1;
  }
  return 0;
}

double compile_time(const store::StoredUnit& unit) {
  if (!unit.start) {
    return 0;
  }
  if (unit.finish) {
    return std::max(*unit.finish - *unit.start, 0.0);
  }
  if (unit.rmeta) {
    return std::max(*unit.rmeta - *unit.start, 0.0); // as `report timings` counts it
  }
  return 0;
}

// A unit of one side: one or several runs' units of the same identity and version.
struct Entry {
  std::string identity;
  const store::StoredUnit* unit = nullptr; // the run whose status the entry shows
  size_t run = 0;                          // ... and its position in the side
  double duration = 0;
  uint32_t builds = 0;
};

struct Side {
  std::map<std::string, Entry> entries; // by identity + version
  std::vector<UnitMap> unit_maps;       // per run, to describe reasons
};

std::string identity_of(const store::StoredUnit& u) {
  return u.name + '\x1f' + u.target_name + '\x1f' + u.target_kind + '\x1f' + u.mode + '\x1f' +
         u.platform;
}

Side collect(const DiffSideInput& in) {
  Side side;
  for (size_t r = 0; r < in.units.size(); ++r) {
    side.unit_maps.push_back(unit_map(in.units[r]));
    // A run can hold two units of one identity and version (a crate built with two feature
    // sets for build and normal dependencies); they pair up across runs in index order, which
    // cargo derives from the unit graph, not from the build.
    std::map<std::string, int> seen;
    for (const store::StoredUnit& unit : in.units[r]) {
      std::string identity = identity_of(unit);
      std::string key = identity + '\x1f' + unit.version;
      key += '\x1f' + std::to_string(seen[key]++);
      Entry& e = side.entries[key];
      double time = compile_time(unit);
      e.identity = identity;
      e.duration += time;
      e.builds += unit.start ? 1 : 0;
      if (e.unit == nullptr || status_rank(unit.fingerprint) > status_rank(e.unit->fingerprint)) {
        e.unit = &unit;
        e.run = r;
      }
    }
  }
  return side;
}

struct State {
  v1::UnitSideState proto;
  std::string cause_key;
};

State state_of(const Entry& e, const Side& side, const DiffSideInput& in) {
  State s;
  const store::StoredUnit& unit = *e.unit;
  s.proto.set_status(unit.fingerprint.empty() ? "unknown" : unit.fingerprint);
  s.proto.set_duration(e.duration);
  s.proto.set_version(unit.version);
  s.proto.set_root(unit.root);
  s.proto.set_builds(e.builds);
  if (unit.fingerprint == "new") {
    s.proto.set_reason("fresh build");
    s.cause_key = "fresh-build";
  } else if (auto reason = decode_cause(unit.cause)) {
    s.proto.set_reason(
        format_dirty_reason(*reason, side.unit_maps[e.run], in.runs[e.run].workspace_root()));
    s.cause_key = store::rebuild_cause_key(*reason);
  }
  return s;
}

v1::DiffSide side_summary(const DiffSideInput& in) {
  v1::DiffSide out;
  out.set_id(in.id);
  out.set_session(in.session);
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  for (size_t i = 0; i < in.runs.size(); ++i) {
    const v1::RunSummary& run = in.runs[i];
    *out.add_runs() = run;
    int64_t end =
        run.start_unix_ms() + static_cast<int64_t>(std::llround(run.duration_secs() * 1000));
    first_ms = i == 0 ? run.start_unix_ms() : std::min(first_ms, run.start_unix_ms());
    last_ms = i == 0 ? end : std::max(last_ms, end);
    out.set_units_fresh(out.units_fresh() + run.units_fresh());
    out.set_units_dirty(out.units_dirty() + run.units_dirty());
    out.set_units_new(out.units_new() + run.units_new());
  }
  // One run: its own duration, unrounded; a session: first start to last end.
  out.set_wall_time(in.runs.size() == 1 ? in.runs[0].duration_secs()
                                        : static_cast<double>(last_ms - first_ms) / 1000.0);
  double unit_time = 0;
  uint32_t compiled = 0;
  for (const auto& units : in.units) {
    for (const store::StoredUnit& unit : units) {
      unit_time += compile_time(unit);
      compiled += unit.start ? 1 : 0;
    }
  }
  out.set_unit_time(unit_time);
  out.set_units_compiled(compiled);
  return out;
}

v1::UnitSideState absent() {
  v1::UnitSideState s;
  s.set_status("absent");
  return s;
}

} // namespace

v1::DiffResponse compute_diff(const DiffSideInput& a, const DiffSideInput& b) {
  v1::DiffResponse out;
  *out.mutable_a() = side_summary(a);
  *out.mutable_b() = side_summary(b);
  out.set_wall_time_delta(out.b().wall_time() - out.a().wall_time());
  out.set_unit_time_delta(out.b().unit_time() - out.a().unit_time());

  Side side_a = collect(a);
  Side side_b = collect(b);

  // Pairs of entries (either may be missing), matched by identity and version, then by
  // identity alone where both sides have as many left (in order).
  std::vector<std::pair<const Entry*, const Entry*>> pairs;
  std::map<std::string, std::vector<const Entry*>> left_a;
  std::map<std::string, std::vector<const Entry*>> left_b;
  for (const auto& [key, entry] : side_a.entries) {
    if (auto it = side_b.entries.find(key); it != side_b.entries.end()) {
      pairs.emplace_back(&entry, &it->second);
    } else {
      left_a[entry.identity].push_back(&entry);
    }
  }
  for (const auto& [key, entry] : side_b.entries) {
    if (side_a.entries.count(key) == 0) {
      left_b[entry.identity].push_back(&entry);
    }
  }
  for (auto& [identity, entries] : left_a) {
    auto it = left_b.find(identity);
    if (it != left_b.end() && entries.size() == it->second.size()) {
      for (size_t i = 0; i < entries.size(); ++i) {
        pairs.emplace_back(entries[i], it->second[i]); // both in key order: version, ordinal
      }
      left_b.erase(it);
    } else {
      for (const Entry* e : entries) {
        pairs.emplace_back(e, nullptr);
      }
    }
  }
  for (const auto& [identity, entries] : left_b) {
    for (const Entry* e : entries) {
      pairs.emplace_back(nullptr, e);
    }
  }

  std::vector<v1::UnitDiff> changed;
  for (const auto& [ea, eb] : pairs) {
    v1::UnitDiff d;
    std::optional<State> sa;
    std::optional<State> sb;
    if (ea != nullptr) {
      sa = state_of(*ea, side_a, a);
      *d.mutable_a() = sa->proto;
    } else {
      *d.mutable_a() = absent();
    }
    if (eb != nullptr) {
      sb = state_of(*eb, side_b, b);
      *d.mutable_b() = sb->proto;
    } else {
      *d.mutable_b() = absent();
    }
    const Entry& shown = eb != nullptr ? *eb : *ea;
    *d.mutable_unit() = make_unit_ref(to_registered(*shown.unit));
    d.set_delta(d.b().duration() - d.a().duration());
    d.set_presence(ea == nullptr ? "only_b" : eb == nullptr ? "only_a" : "both");
    d.set_cause_changed(
        sa && sb && (sa->proto.status() != sb->proto.status() || sa->cause_key != sb->cause_key));
    if (ea == nullptr) {
      out.set_units_only_b(out.units_only_b() + 1);
    } else if (eb == nullptr) {
      out.set_units_only_a(out.units_only_a() + 1);
    }
    if (d.cause_changed()) {
      out.set_causes_changed(out.causes_changed() + 1);
    }
    if (d.presence() == "both" && !d.cause_changed() && std::fabs(d.delta()) < k_min_delta_secs) {
      out.set_units_unchanged(out.units_unchanged() + 1);
      continue;
    }
    changed.push_back(std::move(d));
  }

  auto presence_rank = [](const v1::UnitDiff& d) { return d.presence() == "both" ? 1 : 0; };
  std::sort(changed.begin(), changed.end(), [&](const v1::UnitDiff& x, const v1::UnitDiff& y) {
    double dx = std::fabs(x.delta());
    double dy = std::fabs(y.delta());
    if (dx != dy) {
      return dx > dy;
    }
    if (presence_rank(x) != presence_rank(y)) {
      return presence_rank(x) < presence_rank(y);
    }
    if (x.cause_changed() != y.cause_changed()) {
      return x.cause_changed();
    }
    return x.unit().description() < y.unit().description();
  });
  for (auto& d : changed) {
    *out.add_units() = std::move(d);
  }
  return out;
}

} // namespace ca::query
