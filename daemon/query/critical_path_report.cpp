#include "daemon/query/critical_path_report.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

// Logged elapsed times are rounded to nanoseconds; a successor that starts within that of a
// unit's end did not overlap it.
constexpr double k_slack_secs = 1e-9;

} // namespace

v1::RunCriticalPath critical_path_report(const v1::RunTimings& timings) {
  v1::RunCriticalPath out;
  *out.mutable_run() = timings.run();
  out.set_total_time(timings.total_time());

  std::unordered_map<uint32_t, const v1::UnitTiming*> by_index;
  for (const v1::UnitTiming& unit : timings.units()) {
    by_index[unit.unit().index()] = &unit;
  }
  std::vector<const v1::UnitTiming*> path;
  for (uint32_t index : timings.critical_path()) {
    if (auto it = by_index.find(index); it != by_index.end()) {
      path.push_back(it->second);
    }
  }

  double ready = 0; // when the previous step let this one start (the build's start at first)
  double path_time = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    const v1::UnitTiming& unit = *path[i];
    v1::CriticalPathStep* step = out.add_steps();
    *step->mutable_unit() = unit.unit();
    step->set_start(unit.start());
    step->set_duration(unit.duration());
    step->set_wait(std::max(unit.start() - ready, 0.0));
    double end = unit.start() + unit.duration();
    double next_ready = end;
    if (i + 1 < path.size()) {
      const v1::UnitTiming& next = *path[i + 1];
      if (unit.has_rmeta_time() && next.start() + k_slack_secs < end) {
        next_ready = unit.start() + unit.rmeta_time();
        step->set_next_on_rmeta(true);
      }
    }
    double contribution = std::max(next_ready - unit.start(), 0.0);
    step->set_contribution(contribution);
    step->set_share(timings.total_time() > 0 ? contribution / timings.total_time() : 0.0);
    path_time += contribution;
    ready = next_ready;
  }
  out.set_path_time(path_time);
  out.set_path_share(timings.total_time() > 0 ? path_time / timings.total_time() : 0.0);
  return out;
}

} // namespace ca::query
