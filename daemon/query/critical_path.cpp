// The critical path of a build: the chain of units that bounded its wall time.
//
// Cargo starts a unit once all its dependencies are ready: finished, or, for a unit that can be
// pipelined (a lib that only needs its dependencies' metadata), with their rmeta written. So the
// unit that finished last could not have started before its last-ready dependency was ready;
// that dependency could not have started before *its* last-ready dependency; and so on back to
// a unit with no dependency built in this run. Making any unit on that chain faster (and only
// those) makes the build faster, up to the point where another chain takes over.
//
// Which dependency was last? Cargo tells us: the `unblocked` list of `unit-finished` (and of
// `unit-rmeta-finished`) names the units that became ready at that moment, so the unit whose
// list names U is the dependency that completed last for U. When no such record exists (a
// producer that does not write the lists, a hand-written log), we infer it: among U's
// dependencies that ran, the one that became ready for U last, no later than U's start. A
// dependency is ready for U at its rmeta if U was pipelined (cargo unblocked U on some unit's
// metadata) or if U started before the dependency finished (so U cannot have needed more),
// and at its finish otherwise.
//
// Example: `a -> b -> c` (c depends on b, b on a), c slow; `x` is another dependency of c that
// finished early. The last unit to finish is c; c was unblocked by b, b by a: the path is
// a, b, c, and x is not on it.
#include "daemon/query/run_analysis.hpp"

#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace ca::query {

namespace {

// Elapsed times come from one monotonic clock, but a hand-made or re-encoded log may round
// them; a dependency that is ready within a nanosecond of the unit's start still counts.
constexpr double k_slack_secs = 1e-9;

struct Unblocker {
  uint32_t index;
  bool on_rmeta;
};

} // namespace

std::vector<uint32_t> compute_critical_path(std::span<const CriticalPathUnit> units) {
  std::unordered_map<uint32_t, const CriticalPathUnit*> by_index;
  for (const CriticalPathUnit& unit : units) {
    by_index[unit.index] = &unit;
  }

  std::unordered_map<uint32_t, Unblocker> unblocked_by;
  std::unordered_set<uint32_t> pipelined; // units cargo unblocked on a dependency's metadata
  for (const CriticalPathUnit& unit : units) {
    if (!unit.started) {
      continue;
    }
    for (uint32_t dependent : unit.unblocked_rmeta) {
      unblocked_by[dependent] = {unit.index, true};
      pipelined.insert(dependent);
    }
    for (uint32_t dependent : unit.unblocked) {
      unblocked_by[dependent] = {unit.index, false};
    }
  }

  auto predecessor = [&](const CriticalPathUnit& unit) -> const CriticalPathUnit* {
    if (auto it = unblocked_by.find(unit.index); it != unblocked_by.end()) {
      auto dep = by_index.find(it->second.index);
      if (dep != by_index.end() && dep->second->started) {
        return dep->second;
      }
    }
    const bool on_rmeta = pipelined.count(unit.index) != 0;
    const CriticalPathUnit* best = nullptr;
    double best_ready = -std::numeric_limits<double>::infinity();
    for (uint32_t index : unit.dependencies) {
      auto dep = by_index.find(index);
      if (dep == by_index.end() || !dep->second->started) {
        continue; // fresh or unknown: it did not hold anything up in this run
      }
      const CriticalPathUnit& d = *dep->second;
      const bool has_rmeta = d.rmeta_end >= 0;
      double ready = 0;
      if (on_rmeta && has_rmeta) {
        ready = d.rmeta_end;
      } else if (d.end <= unit.start + k_slack_secs) {
        ready = d.end;
      } else if (has_rmeta && d.rmeta_end <= unit.start + k_slack_secs) {
        ready = d.rmeta_end; // it started before d finished: it only waited for the metadata
      } else {
        continue; // not ready before the unit started: not what held it up
      }
      if (ready <= unit.start + k_slack_secs && ready > best_ready) {
        best = &d;
        best_ready = ready;
      }
    }
    return best;
  };

  const CriticalPathUnit* last = nullptr;
  for (const CriticalPathUnit& unit : units) {
    if (unit.started && (last == nullptr || unit.end > last->end)) {
      last = &unit;
    }
  }

  std::vector<uint32_t> path;
  std::unordered_set<uint32_t> seen; // a malformed log could make the walk go round in circles
  for (const CriticalPathUnit* unit = last; unit != nullptr && seen.insert(unit->index).second;
       unit = predecessor(*unit)) {
    path.push_back(unit->index);
  }
  return {path.rbegin(), path.rend()};
}

} // namespace ca::query
