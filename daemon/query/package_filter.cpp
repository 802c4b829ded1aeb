#include "daemon/query/package_filter.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

void collect_package_ids(const v1::RunTimings& timings, std::vector<std::string>& out) {
  for (const v1::UnitTiming& unit : timings.units()) {
    out.push_back(unit.unit().package_id());
  }
}

v1::RunRebuilds filter_rebuilds(const v1::RunRebuilds& full,
                                const std::vector<PackageIdSpec>& specs) {
  v1::RunRebuilds out = full;
  out.clear_root_rebuilds();
  uint32_t cascading = 0;
  for (const v1::RootRebuild& root : full.root_rebuilds()) {
    bool keep =
        any_spec_matches(specs, root.unit().package_id()) ||
        std::any_of(root.affected().begin(), root.affected().end(),
                    [&](const v1::UnitRef& u) { return any_spec_matches(specs, u.package_id()); });
    if (keep) {
      *out.add_root_rebuilds() = root;
      cascading += root.affected_count();
    }
  }
  out.set_root_count(static_cast<uint32_t>(out.root_rebuilds_size()));
  out.set_cascading(cascading);
  return out;
}

void filter_timings(v1::RunTimings& timings, const std::vector<PackageIdSpec>& specs) {
  std::unordered_set<uint32_t> kept;
  for (const v1::UnitTiming& u : timings.units()) {
    if (any_spec_matches(specs, u.unit().package_id())) {
      kept.insert(u.unit().index());
    }
  }
  auto* units = timings.mutable_units();
  units->erase(
      std::remove_if(units->begin(), units->end(),
                     [&](const v1::UnitTiming& u) { return kept.count(u.unit().index()) == 0; }),
      units->end());
  auto* path = timings.mutable_critical_path();
  path->erase(std::remove_if(path->begin(), path->end(),
                             [&](uint32_t index) { return kept.count(index) == 0; }),
              path->end());
}

std::vector<uint32_t> critical_path_to(const v1::RunTimings& timings,
                                       const std::vector<PackageIdSpec>& specs) {
  std::unordered_map<uint32_t, const v1::UnitTiming*> by_index;
  // Which unit made each unit ready: the record naming it in cargo's `unblocked` lists (of
  // `unit-rmeta-finished` or `unit-finished`), read as compute_critical_path() reads them.
  std::unordered_map<uint32_t, uint32_t> unblocked_by;
  const v1::UnitTiming* last = nullptr;
  for (const v1::UnitTiming& unit : timings.units()) {
    by_index[unit.unit().index()] = &unit;
    if (!unit.started()) {
      continue;
    }
    for (uint32_t dependent : unit.unblocked_rmeta_units()) {
      unblocked_by[dependent] = unit.unit().index();
    }
    for (uint32_t dependent : unit.unblocked_units()) {
      unblocked_by[dependent] = unit.unit().index();
    }
    if (any_spec_matches(specs, unit.unit().package_id()) &&
        (last == nullptr || unit.start() + unit.duration() > last->start() + last->duration())) {
      last = &unit;
    }
  }
  std::vector<uint32_t> path;
  std::unordered_set<uint32_t> seen; // bad data must not make the walk go round in circles
  for (const v1::UnitTiming* unit = last;
       unit != nullptr && seen.insert(unit->unit().index()).second;) {
    path.push_back(unit->unit().index());
    auto it = unblocked_by.find(unit->unit().index());
    if (it == unblocked_by.end()) {
      break;
    }
    auto dep = by_index.find(it->second);
    unit = dep == by_index.end() || !dep->second->started() ? nullptr : dep->second;
  }
  return {path.rbegin(), path.rend()};
}

void filter_trends(v1::TrendsResponse& trends,
                   const std::vector<PackageIdSpec>& specs,
                   uint32_t limit) {
  auto* slow = trends.mutable_slowest_units();
  slow->erase(std::remove_if(slow->begin(), slow->end(),
                             [&](const v1::UnitTimeTrend& t) {
                               return !any_spec_matches(specs, t.unit().package_id());
                             }),
              slow->end());
  while (static_cast<uint32_t>(slow->size()) > limit) {
    slow->RemoveLast();
  }
  auto* roots = trends.mutable_root_rebuilds();
  roots->erase(std::remove_if(roots->begin(), roots->end(),
                              [&](const v1::UnitRebuildTrend& t) {
                                return !any_spec_matches(specs, t.unit().package_id());
                              }),
               roots->end());
  uint32_t total = 0;
  for (const v1::UnitRebuildTrend& t : *roots) {
    total += t.rebuilds();
  }
  trends.set_root_rebuilds_total(total);
  while (static_cast<uint32_t>(roots->size()) > limit) {
    roots->RemoveLast();
  }
}

} // namespace ca::query
