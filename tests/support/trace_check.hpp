// Checks a Trace Event Format document (`report timings --format trace`) the way a viewer
// reads it, against the timings JSON of the same runs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ca::test {

struct TraceSummary {
  size_t units = 0;    // unit complete events
  size_t sections = 0; // section complete events
  size_t rmeta = 0;    // instant events
  size_t cpu = 0;      // "CPU usage" counter events
  size_t memory = 0;   // "Memory used" counter events
  size_t processes = 0;
  std::vector<std::string> problems; // empty when the trace is valid
};

// Every event must have the fields its phase needs (X: name, ts, dur >= 0, pid, tid; i: name,
// ts, pid, tid, s; C: name, ts, pid, numeric args; M: name, pid, args.name or
// args.sort_index); no two complete events of one (pid, tid) may overlap unless one contains
// the other; each run's units (pid = 1 + the run's index in `timings["runs"]`) must start and
// last what the timings JSON says, to the microsecond, relative to the earliest run's start.
TraceSummary check_trace(const nlohmann::json& trace, const nlohmann::json& timings);

} // namespace ca::test
