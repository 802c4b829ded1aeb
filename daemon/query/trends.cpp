#include "daemon/query/trends.hpp"

#include "daemon/query/run_analysis.hpp"
#include "daemon/query/stored_units.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

// Period lengths a reader can take in at a glance, in seconds.
constexpr std::array<int64_t, 24> k_periods = {
    1,    2,    5,     10,    15,    30,    60,     120,    300,     600,     900,     1800,
    3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000};
constexpr int64_t k_max_periods = 12;

int64_t period_for(int64_t span_ms) {
  for (int64_t p : k_periods) {
    if (p * 1000 * k_max_periods >= span_ms) {
      return p;
    }
  }
  return k_periods.back();
}

struct Bucket {
  uint32_t runs = 0;
  double total = 0;
  double min = 0;
  double max = 0;
};

struct KindStats {
  uint32_t runs = 0;
  double total = 0;
  std::map<int64_t, Bucket> buckets; // by period number since the epoch
};

v1::UnitRef trend_unit_ref(const std::string& package_id,
                           const std::string& target_name,
                           const std::string& target_kind,
                           const std::string& mode) {
  v1::UnitRegistered unit;
  unit.set_package_id(package_id);
  unit.mutable_target()->set_name(target_name);
  unit.mutable_target()->set_kind(target_kind);
  unit.set_mode(mode);
  return make_unit_ref(unit);
}

} // namespace

std::string command_kind(std::string_view argv_json) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(argv_json);
  simdjson::ondemand::document doc;
  simdjson::ondemand::array argv;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS || doc.get_array().get(argv)) {
    return "other";
  }
  bool program = true;
  bool skip_value = false;
  for (auto item : argv) {
    std::string_view arg;
    if (item.get_string().get(arg) != simdjson::SUCCESS) {
      return "other";
    }
    if (program) {
      program = false;
      continue;
    }
    if (skip_value) {
      skip_value = false;
      continue;
    }
    if (arg == "-Z" || arg == "--config" || arg == "-C" || arg == "--color") {
      skip_value = true;
      continue;
    }
    if (arg.empty() || arg.front() == '-' || arg.front() == '+') {
      continue;
    }
    if (arg == "build" || arg == "b") {
      return "build";
    }
    if (arg == "check" || arg == "c") {
      return "check";
    }
    if (arg == "test" || arg == "t") {
      return "test";
    }
    return "other";
  }
  return "other";
}

std::string cause_label(const v1::DirtyReason& reason, std::string_view workspace_root) {
  const std::string& kind = reason.dirty_reason();
  if (kind == "env-var-changed") {
    return "environment variable changed (" + reason.env_var().name() + ")";
  }
  if (kind == "unit-dependency-info-changed") {
    return "dependency info changed";
  }
  if (kind == "rerun-if-changed-output-paths-changed") {
    return "rerun-if-changed paths changed";
  }
  if (kind == "fs-status-outdated") {
    const v1::FsStatus& status = reason.fs_status();
    if (status.fs_status() == "stale-dependency" || status.fs_status() == "stale-dep-fingerprint") {
      return "dependency rebuilt";
    }
    const std::string& item = status.stale_item().stale_item();
    if (status.fs_status() == "stale-item" && item == "changed-env") {
      return "environment variable changed (" + status.stale_item().var() + ")";
    }
    if (status.fs_status() == "stale-item" &&
        (item == "file-size-changed" || item == "changed-checksum")) {
      // `<what>: <path> (<sizes or checksums>)`: the part in parentheses varies.
      std::string text = format_dirty_reason(reason, {}, workspace_root);
      if (auto paren = text.rfind(" ("); paren != std::string::npos) {
        text.resize(paren);
      }
      return text;
    }
  }
  return format_dirty_reason(reason, {}, workspace_root);
}

Result<v1::TrendsResponse>
compute_trends(store::RunReader& reader, const store::TrendScope& scope, uint32_t limit) {
  TrendInputs in;
  CA_TRY_ASSIGN(in.runs, reader.trend_runs(scope));
  CA_TRY_ASSIGN(in.unit_times, reader.trend_unit_times(scope, limit));
  CA_TRY_ASSIGN(in.root_causes, reader.trend_root_causes(scope));
  return assemble_trends(in, limit,
                         [&reader](const std::string& run_id) { return reader.units(run_id); });
}

Result<v1::TrendsResponse>
assemble_trends(const TrendInputs& in, uint32_t limit, const UnitsOfRun& units_of) {
  v1::TrendsResponse out;

  // Runs: counts, span, and build time per command kind.
  const std::vector<store::TrendRun>& runs = in.runs;
  std::set<std::string> sessions;
  for (const store::TrendRun& run : runs) {
    sessions.insert(run.session_id);
  }
  out.set_sessions(static_cast<uint32_t>(sessions.size()));
  out.set_runs(static_cast<uint32_t>(runs.size()));
  if (!runs.empty()) {
    out.set_first_start(format_rfc3339_ms(runs.front().start_unix_ms));
    out.set_last_start(format_rfc3339_ms(runs.back().start_unix_ms));
  }
  int64_t period =
      runs.empty() ? 1 : period_for(runs.back().start_unix_ms - runs.front().start_unix_ms);
  out.set_bucket_secs(static_cast<double>(period));
  std::map<std::string, KindStats> kinds;
  for (const store::TrendRun& run : runs) {
    if (!run.parent_run_id.empty() ||
        (!is_state(run.state, RunState::completed) && !is_state(run.state, RunState::failed))) {
      continue; // nested runs are part of their session's time; runs in progress have none
    }
    KindStats& k = kinds[command_kind(run.command)];
    ++k.runs;
    k.total += run.duration_secs;
    Bucket& b = k.buckets[run.start_unix_ms / (period * 1000)];
    b.min = b.runs == 0 ? run.duration_secs : std::min(b.min, run.duration_secs);
    b.max = b.runs == 0 ? run.duration_secs : std::max(b.max, run.duration_secs);
    ++b.runs;
    b.total += run.duration_secs;
  }
  for (const char* name : {"build", "check", "test", "other"}) {
    auto it = kinds.find(name);
    if (it == kinds.end()) {
      continue;
    }
    v1::CommandKindTrend* k = out.add_commands();
    k->set_kind(name);
    k->set_runs(it->second.runs);
    k->set_total_secs(it->second.total);
    k->set_mean_secs(it->second.total / it->second.runs);
    for (const auto& [number, bucket] : it->second.buckets) {
      v1::BuildTimeBucket* b = k->add_buckets();
      b->set_start_unix_ms(number * period * 1000);
      b->set_start_time(format_rfc3339_ms(number * period * 1000));
      b->set_runs(bucket.runs);
      b->set_mean_secs(bucket.total / bucket.runs);
      b->set_min_secs(bucket.min);
      b->set_max_secs(bucket.max);
    }
  }

  // Slowest units.
  for (const store::TrendUnitTime& t : in.unit_times) {
    v1::UnitTimeTrend* u = out.add_slowest_units();
    *u->mutable_unit() = trend_unit_ref(t.package_id, t.target_name, t.target_kind, t.mode);
    u->set_builds(static_cast<uint32_t>(t.builds));
    u->set_mean_secs(t.builds > 0 ? t.total_secs / static_cast<double>(t.builds) : 0.0);
    u->set_max_secs(t.max_secs);
  }

  // Root rebuilds, by unit, each with its causes.
  const std::vector<store::TrendRootCause>& causes = in.root_causes;
  std::map<std::string, v1::UnitRebuildTrend> by_unit;
  std::unordered_map<std::string, UnitMap> example_units; // by run id, when a reason names one
  const UnitMap no_units;
  uint32_t total = 0;
  for (const store::TrendRootCause& c : causes) {
    v1::UnitRebuildTrend& u =
        by_unit[c.name + '\x1f' + c.target_name + '\x1f' + c.target_kind + '\x1f' + c.mode];
    if (!u.has_unit()) {
      *u.mutable_unit() = trend_unit_ref(c.package_id, c.target_name, c.target_kind, c.mode);
    }
    u.set_rebuilds(u.rebuilds() + static_cast<uint32_t>(c.count));
    total += static_cast<uint32_t>(c.count);

    auto reason = decode_cause(c.example_cause);
    std::string label = c.cause_kind.empty() ? "no cause logged" : c.cause_kind;
    if (reason) {
      label = cause_label(*reason, c.example_workspace_root);
    }
    // Keys that read the same (rows stored before schema version 2 have coarser keys) are one.
    auto* list = u.mutable_causes();
    auto same = std::find_if(list->begin(), list->end(),
                             [&](const v1::RebuildCauseCount& x) { return x.cause() == label; });
    if (same != list->end()) {
      same->set_count(same->count() + static_cast<uint32_t>(c.count));
      continue;
    }
    v1::RebuildCauseCount* cause = u.add_causes();
    cause->set_cause(label);
    cause->set_kind(c.cause_kind);
    cause->set_count(static_cast<uint32_t>(c.count));
    cause->set_example_run_id(c.example_run_id);
    if (!reason) {
      cause->set_example(label);
      continue;
    }
    const bool names_unit = reason->dirty_reason() == "unit-dependency-info-changed" ||
                            reason->fs_status().fs_status() == "stale-dependency" ||
                            reason->fs_status().fs_status() == "stale-dep-fingerprint";
    if (names_unit && example_units.count(c.example_run_id) == 0) {
      CA_TRY_ASSIGN(auto units, units_of(c.example_run_id));
      example_units.emplace(c.example_run_id, unit_map(units));
    }
    const UnitMap& units = names_unit ? example_units.at(c.example_run_id) : no_units;
    cause->set_example(format_dirty_reason(*reason, units, c.example_workspace_root));
  }
  out.set_root_rebuilds_total(total);

  std::vector<v1::UnitRebuildTrend*> ranked;
  for (auto& [key, u] : by_unit) {
    auto* list = u.mutable_causes();
    std::stable_sort(list->begin(), list->end(),
                     [](const v1::RebuildCauseCount& x, const v1::RebuildCauseCount& y) {
                       if (x.count() != y.count()) {
                         return x.count() > y.count();
                       }
                       return x.cause() < y.cause();
                     });
    ranked.push_back(&u);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const v1::UnitRebuildTrend* x, const v1::UnitRebuildTrend* y) {
                     if (x->rebuilds() != y->rebuilds()) {
                       return x->rebuilds() > y->rebuilds();
                     }
                     return x->unit().description() < y->unit().description();
                   });
  for (size_t i = 0; i < ranked.size() && i < limit; ++i) {
    *out.add_root_rebuilds() = std::move(*ranked[i]);
  }
  return out;
}

} // namespace ca::query
