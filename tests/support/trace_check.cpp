#include "tests/support/trace_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>

namespace ca::test {

namespace {

using nlohmann::json;

bool is_int(const json& e, const char* key) {
  return e.contains(key) && e[key].is_number();
}

} // namespace

TraceSummary check_trace(const json& trace, const json& timings) {
  TraceSummary out;
  auto problem = [&out](const std::string& what, const json& e) {
    if (out.problems.size() < 20) {
      out.problems.push_back(what + ": " + e.dump());
    }
  };
  if (!trace.is_object() || !trace.contains("traceEvents") || !trace["traceEvents"].is_array()) {
    out.problems.push_back("no traceEvents array");
    return out;
  }
  struct Span {
    int64_t start;
    int64_t end;
    std::string name;
  };
  std::map<std::pair<int64_t, int64_t>, std::vector<Span>> lanes;
  std::map<int64_t, std::map<int64_t, std::pair<int64_t, int64_t>>> units; // pid -> index -> ts,dur
  for (const json& e : trace["traceEvents"]) {
    if (!e.is_object() || !e.contains("ph") || !e["ph"].is_string() || !e.contains("name") ||
        !e["name"].is_string() || !is_int(e, "pid")) {
      problem("event without ph, name or pid", e);
      continue;
    }
    const std::string ph = e["ph"];
    if (ph == "X") {
      if (!is_int(e, "ts") || !is_int(e, "dur") || !is_int(e, "tid") ||
          e["dur"].get<double>() < 0) {
        problem("complete event without ts, dur >= 0 or tid", e);
        continue;
      }
      auto ts = static_cast<int64_t>(e["ts"].get<double>());
      auto dur = static_cast<int64_t>(e["dur"].get<double>());
      lanes[{e["pid"].get<int64_t>(), e["tid"].get<int64_t>()}].push_back(
          Span{ts, ts + dur, e["name"]});
      std::string cat = e.value("cat", "");
      if (cat == "unit") {
        ++out.units;
        units[e["pid"].get<int64_t>()][e["args"]["index"].get<int64_t>()] = {ts, dur};
      } else if (cat == "section") {
        ++out.sections;
      }
    } else if (ph == "i") {
      if (!is_int(e, "ts") || !is_int(e, "tid") || !e.contains("s")) {
        problem("instant event without ts, tid or s", e);
      }
      ++out.rmeta;
    } else if (ph == "C") {
      bool numeric = e.contains("args") && e["args"].is_object() && !e["args"].empty();
      if (numeric) {
        for (const json& v : e["args"]) {
          numeric = numeric && v.is_number();
        }
      }
      if (!is_int(e, "ts") || !numeric) {
        problem("counter event without ts or numeric args", e);
      }
      if (e["name"] == "CPU usage") {
        ++out.cpu;
        double v = e["args"].value("percent", -1.0);
        if (v < 0 || v > 100) {
          problem("CPU usage out of 0..100", e);
        }
      } else {
        ++out.memory;
      }
    } else if (ph == "M") {
      if (!e.contains("args") ||
          !(e["args"].contains("name") || e["args"].contains("sort_index"))) {
        problem("metadata event without args.name", e);
      }
      out.processes += e["name"] == "process_name" ? 1 : 0;
    } else {
      problem("unexpected phase", e);
    }
  }
  // Per lane: sorted by start (longer first), every span either ends before the next starts or
  // contains it.
  for (auto& [lane, spans] : lanes) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return a.start != b.start ? a.start < b.start : a.end > b.end;
    });
    std::vector<const Span*> open;
    for (const Span& s : spans) {
      while (!open.empty() && open.back()->end <= s.start) {
        open.pop_back();
      }
      if (!open.empty() && s.end > open.back()->end) {
        out.problems.push_back("lane " + std::to_string(lane.first) + "/" +
                               std::to_string(lane.second) + ": " + s.name + " overlaps " +
                               open.back()->name + " without nesting");
      }
      open.push_back(&s);
    }
  }
  // Units against the timings JSON.
  int64_t base_ms = INT64_MAX;
  for (const json& run : timings["runs"]) {
    base_ms =
        std::min<int64_t>(base_ms, std::stoll(run["run"]["start_unix_ms"].get<std::string>()));
  }
  int64_t pid = 0;
  for (const json& run : timings["runs"]) {
    ++pid;
    const int64_t offset =
        (std::stoll(run["run"]["start_unix_ms"].get<std::string>()) - base_ms) * 1000;
    for (const json& u : run["units"]) {
      if (!u.value("started", false)) {
        continue;
      }
      auto index = u["unit"].value("index", 0);
      auto it = units[pid].find(index);
      if (it == units[pid].end()) {
        out.problems.push_back("unit " + std::to_string(index) + " of run " + std::to_string(pid) +
                               " missing from the trace");
        continue;
      }
      auto ts = static_cast<int64_t>(std::llround(u.value("start", 0.0) * 1e6)) + offset;
      auto dur = static_cast<int64_t>(std::llround(u.value("duration", 0.0) * 1e6));
      if (it->second.first != ts || it->second.second != dur) {
        out.problems.push_back("unit " + std::to_string(index) + ": trace ts/dur " +
                               std::to_string(it->second.first) + "/" +
                               std::to_string(it->second.second) + " vs timings " +
                               std::to_string(ts) + "/" + std::to_string(dur));
      }
    }
  }
  return out;
}

} // namespace ca::test
