#include "shared/render/timings_trace.hpp"

#include "shared/proto_json.hpp"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ca::render {

namespace v1 = cargo_analysis::v1;
namespace pb = google::protobuf;

namespace {

int64_t to_us(double seconds) {
  return std::llround(seconds * 1e6);
}

// One trace event under construction.
class Event {
public:
  Event(pb::ListValue& list, std::string_view ph, std::string_view name, int pid, int tid)
      : m_fields(list.add_values()->mutable_struct_value()->mutable_fields()) {
    set("ph", ph);
    set("name", name);
    (*m_fields)["pid"].set_number_value(pid);
    (*m_fields)["tid"].set_number_value(tid);
  }
  Event& set(const std::string& key, std::string_view v) {
    (*m_fields)[key].set_string_value(std::string(v));
    return *this;
  }
  Event& num(const std::string& key, double v) {
    (*m_fields)[key].set_number_value(v);
    return *this;
  }
  Event& arg(const std::string& key, std::string_view v) {
    (*args())[key].set_string_value(std::string(v));
    return *this;
  }
  Event& arg_num(const std::string& key, double v) {
    (*args())[key].set_number_value(v);
    return *this;
  }
  Event& arg_bool(const std::string& key, bool v) {
    (*args())[key].set_bool_value(v);
    return *this;
  }

private:
  pb::Map<std::string, pb::Value>* args() {
    return (*m_fields)["args"].mutable_struct_value()->mutable_fields();
  }
  pb::Map<std::string, pb::Value>* m_fields;
};

void metadata(pb::ListValue& list, std::string_view what, int pid, int tid, std::string_view name) {
  Event(list, "M", what, pid, tid).arg("name", name);
}

void run_events(pb::ListValue& list, const v1::RunTimings& t, int pid, int64_t offset_us) {
  const v1::RunSummary& run = t.run();
  std::string label = run.command_line().empty() ? "cargo" : run.command_line();
  metadata(list, "process_name", pid, 0, label + " (" + run.run_id() + ")");
  Event(list, "M", "process_sort_index", pid, 0).arg_num("sort_index", pid);
  metadata(list, "thread_name", pid, 0, "run");
  Event(list, "X", label, pid, 0)
      .set("cat", "run")
      .num("ts", static_cast<double>(offset_us))
      .num("dur", static_cast<double>(std::max<int64_t>(to_us(t.total_time()), 0)))
      .arg("run_id", run.run_id())
      .arg("session_id", run.session_id())
      .arg("state", run.state())
      .arg_num("depth", run.depth());

  // Units by start, each on the first lane free at its start.
  std::vector<const v1::UnitTiming*> units;
  for (const v1::UnitTiming& u : t.units()) {
    if (u.started()) {
      units.push_back(&u);
    }
  }
  std::stable_sort(units.begin(), units.end(), [](const auto* a, const auto* b) {
    return to_us(a->start()) < to_us(b->start());
  });
  std::vector<int64_t> lane_end; // per lane, where its last unit ended (relative us)
  for (const v1::UnitTiming* u : units) {
    const int64_t start = to_us(u->start());
    const int64_t end = start + std::max<int64_t>(to_us(u->duration()), 0);
    size_t lane = 0;
    while (lane < lane_end.size() && lane_end[lane] > start) {
      ++lane;
    }
    if (lane == lane_end.size()) {
      lane_end.push_back(end);
      metadata(list, "thread_name", pid, static_cast<int>(lane) + 1,
               "lane " + std::to_string(lane + 1));
    }
    lane_end[lane] = end;
    const int tid = static_cast<int>(lane) + 1;
    Event unit(list, "X", u->unit().description(), pid, tid);
    unit.set("cat", "unit")
        .num("ts", static_cast<double>(offset_us + start))
        .num("dur", static_cast<double>(end - start))
        .arg_num("index", u->unit().index())
        .arg("mode", u->unit().mode())
        .arg("package_id", u->unit().package_id())
        .arg_bool("critical", u->critical())
        .arg_bool("finished", u->finished());
    // Sections inside the unit, one after the other (Perfetto nests by containment).
    int64_t at = start;
    for (const v1::SectionTiming& s : u->sections()) {
      int64_t s_start = std::clamp(start + to_us(s.start()), at, end);
      int64_t s_end = std::clamp(start + to_us(s.end()), s_start, end);
      at = s_end;
      if (s_end == s_start) {
        continue;
      }
      Event(list, "X", s.name(), pid, tid)
          .set("cat", "section")
          .num("ts", static_cast<double>(offset_us + s_start))
          .num("dur", static_cast<double>(s_end - s_start))
          .arg_bool("reported", s.reported());
    }
    if (u->has_rmeta_time()) {
      Event(list, "i", "rmeta", pid, tid)
          .set("cat", "rmeta")
          .set("s", "t")
          .num("ts", static_cast<double>(offset_us + std::min(start + to_us(u->rmeta_time()), end)))
          .arg("unit", u->unit().description());
    }
  }

  for (const v1::ResourceSample& s : t.resource_usage()) {
    const double ts = static_cast<double>(offset_us + to_us(s.t()));
    Event(list, "C", "CPU usage", pid, 0).num("ts", ts).arg_num("percent", s.cpu_percent());
    Event(list, "C", "Memory used", pid, 0)
        .num("ts", ts)
        .arg_num("MiB", std::round(static_cast<double>(s.mem_used_bytes()) / 1048576.0 * 10) / 10);
  }
}

} // namespace

std::string render_timings_trace(const v1::GetTimingsResponse& timings) {
  pb::Struct root;
  auto& fields = *root.mutable_fields();
  pb::ListValue& list = *fields["traceEvents"].mutable_list_value();
  fields["displayTimeUnit"].set_string_value("ms");
  int64_t base_ms = 0;
  bool first = true;
  for (const v1::RunTimings& t : timings.runs()) {
    if (first || t.run().start_unix_ms() < base_ms) {
      base_ms = t.run().start_unix_ms();
      first = false;
    }
  }
  int pid = 0;
  for (const v1::RunTimings& t : timings.runs()) {
    run_events(list, t, ++pid, (t.run().start_unix_ms() - base_ms) * 1000);
  }
  auto json = to_json(root, {});
  return json ? *json + "\n" : std::string("{\"traceEvents\":[]}\n");
}

} // namespace ca::render
