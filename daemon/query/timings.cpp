// `report timings`: when each unit ran, how long it took, how busy the build was, and which
// units bounded it.
//
// Follows cargo 1.95 (`ops/cargo_report/timings.rs::prepare_context`, `core/compiler/timings/
// report.rs::{aggregate_sections, compute_concurrency}`) so that every number of cargo's HTML
// report can be reproduced from our result:
// - A unit's times are relative to the build start; `duration` is until `unit-finished` (or
//   until `unit-rmeta-finished` for a unit that never finished), `rmeta_time` until
//   `unit-rmeta-finished`. Negative spans are clamped to 0, as cargo does.
// - Sections: with `-Zsection-timings`, cargo's sections plus an implicit "frontend" from the
//   unit's start to the first section and an "other" after the last one; otherwise "frontend"
//   and "codegen" split at the rmeta time; none for a unit without rmeta. Section bounds are
//   rounded to centiseconds exactly where cargo rounds them.
// - Concurrency is derived, as in cargo, from centisecond-rounded starts and durations: a unit is
//   inactive until the unit that unblocked it was ready (its frontend ended, for a unit unblocked
//   on metadata), waiting until it starts, active until it ends.
//
// Cargo 1.95 lists every registered unit, also those that never started (fresh ones), with
// start and duration 0; its concurrency samples include them too. Newer cargo (2026-07) drops
// them; we keep 1.95's behaviour and mark them `started = false`.
#include "daemon/query/run_analysis.hpp"
#include "shared/package_id.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

double round_to_centisecond(double x) {
  return std::round(x * 100.0) / 100.0;
}

struct RawSection {
  std::string name;
  double start = 0;
  std::optional<double> end;
};

struct UnitEntry {
  v1::UnitRegistered unit;
  double start = 0;
  double duration = 0;
  std::optional<double> rmeta;
  std::vector<RawSection> sections; // in the order they first started, like cargo's IndexMap
  std::vector<uint32_t> unblocked;
  std::vector<uint32_t> unblocked_rmeta;
  bool started = false;
  bool finished = false;
};

struct Section {
  std::string name;
  double start = 0;
  double end = 0;
  bool reported = false; // by rustc, rather than derived by cargo
};

std::string to_lower(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

// Cargo's `aggregate_sections`. `end` is the unit's unrounded duration.
std::vector<Section> aggregate_sections(const std::vector<RawSection>& sections,
                                        double end,
                                        std::optional<double> rmeta) {
  std::vector<Section> out;
  if (!sections.empty()) {
    // Rustc's frontend is implicit: from the unit's start to the first reported section. Its
    // end is the next section's unrounded start (cargo rounds only the sections it reports).
    out.push_back({"frontend", 0.0, round_to_centisecond(end), false});
    for (const RawSection& section : sections) {
      out.back().end = section.start;
      out.push_back({to_lower(section.name), round_to_centisecond(section.start),
                     round_to_centisecond(section.end.value_or(end)), true});
    }
    // Time after the last section (usually link) is not frontend: cargo shows it as "other".
    // The comparison is of a rounded end with the unrounded duration, as in cargo.
    if (out.back().end < end) {
      double start = out.back().end;
      out.push_back({"other", round_to_centisecond(start), round_to_centisecond(end), false});
    }
  } else if (rmeta) {
    out.push_back({"frontend", 0.0, round_to_centisecond(*rmeta), false});
    out.push_back({"codegen", round_to_centisecond(*rmeta), round_to_centisecond(end), false});
  }
  return out;
}

// A unit as cargo's `compute_concurrency` sees it: rounded, with aggregated sections.
struct RoundedUnit {
  uint32_t index = 0;
  double start = 0;
  double duration = 0;
  std::optional<double> frontend_end;
  const std::vector<uint32_t>* unblocked = nullptr;
  const std::vector<uint32_t>* unblocked_rmeta = nullptr;
};

// Cargo's `compute_concurrency`, over units in report order.
std::vector<v1::ConcurrencySample> compute_concurrency(const std::vector<RoundedUnit>& units) {
  std::vector<v1::ConcurrencySample> out;
  if (units.empty()) {
    return out;
  }
  std::unordered_map<uint32_t, const RoundedUnit*> by_index;
  for (const RoundedUnit& unit : units) {
    by_index[unit.index] = &unit;
  }
  struct UnblockedBy {
    uint32_t index;
    bool on_rmeta;
  };
  // Cargo asserts that no unit is unblocked twice; a later record simply wins here.
  std::unordered_map<uint32_t, UnblockedBy> unblocked_by;
  for (const RoundedUnit& unit : units) {
    for (uint32_t id : *unit.unblocked_rmeta) {
      unblocked_by[id] = {unit.index, true};
    }
    for (uint32_t id : *unit.unblocked) {
      unblocked_by[id] = {unit.index, false};
    }
  }
  auto ready_time = [&](const RoundedUnit& unit) -> std::optional<double> {
    auto by = unblocked_by.find(unit.index);
    if (by == unblocked_by.end()) {
      return std::nullopt;
    }
    auto dep = by_index.find(by->second.index);
    if (dep == by_index.end()) {
      return std::nullopt;
    }
    const RoundedUnit& d = *dep->second;
    if (by->second.on_rmeta) {
      return d.start + d.frontend_end.value_or(d.duration);
    }
    return d.start + d.duration;
  };

  enum class State { ready = 0, start = 1, end = 2 };
  struct Point {
    double t;
    State state;
    uint32_t index;
  };
  std::vector<Point> points;
  points.reserve(units.size() * 3);
  for (const RoundedUnit& unit : units) {
    // Sums of rounded numbers can put "ready" after "start"; cargo caps it at the start.
    double ready = std::min(ready_time(unit).value_or(unit.start), unit.start);
    points.push_back({ready, State::ready, unit.index});
    points.push_back({unit.start, State::start, unit.index});
    points.push_back({unit.start + unit.duration, State::end, unit.index});
  }
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    if (a.t != b.t) {
      return a.t < b.t;
    }
    if (a.state != b.state) {
      return a.state < b.state;
    }
    return a.index < b.index;
  });

  std::unordered_set<uint32_t> inactive;
  for (const RoundedUnit& unit : units) {
    inactive.insert(unit.index);
  }
  std::unordered_set<uint32_t> waiting;
  std::unordered_set<uint32_t> active;
  for (const Point& point : points) {
    inactive.erase(point.index);
    waiting.erase(point.index);
    active.erase(point.index);
    if (point.state == State::ready) {
      waiting.insert(point.index);
    } else if (point.state == State::start) {
      active.insert(point.index);
    }
    v1::ConcurrencySample sample;
    sample.set_t(point.t);
    sample.set_active(static_cast<uint32_t>(active.size()));
    sample.set_waiting(static_cast<uint32_t>(waiting.size()));
    sample.set_inactive(static_cast<uint32_t>(inactive.size()));
    // Several changes at one instant would draw vertical lines; keep the last state only.
    if (!out.empty() && out.back().t() == point.t) {
      out.back() = std::move(sample);
    } else {
      out.push_back(std::move(sample));
    }
  }
  return out;
}

// Cargo prints the run id's time with jiff's `Timestamp` display: RFC 3339 in UTC, with the
// milliseconds trimmed of trailing zeros (`...:01.5Z`, `...:01Z`). Empty if the id is malformed.
std::string build_start_text(std::string_view run_id) {
  // 20261123T062733765Z-<hex>
  if (run_id.size() < 19 || run_id[8] != 'T' || run_id[18] != 'Z') {
    return {};
  }
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17}) {
    if (std::isdigit(static_cast<unsigned char>(run_id[i])) == 0) {
      return {};
    }
  }
  std::string out;
  out.append(run_id.substr(0, 4)).append("-").append(run_id.substr(4, 2)).append("-");
  out.append(run_id.substr(6, 2)).append("T").append(run_id.substr(9, 2)).append(":");
  out.append(run_id.substr(11, 2)).append(":").append(run_id.substr(13, 2));
  std::string millis(run_id.substr(15, 3));
  while (!millis.empty() && millis.back() == '0') {
    millis.pop_back();
  }
  if (!millis.empty()) {
    out.append(".").append(millis);
  }
  return out + "Z";
}

// One line of cargo's "Targets:" (`Target::description_named` on the logged target).
std::string root_unit_text(const v1::UnitRegistered& unit) {
  PackageName package = parse_package_id(unit.package_id());
  std::string target;
  if (unit.target().kind() == "lib") {
    target = "lib";
  } else if (unit.target().kind() == "build-script") {
    target = "build script";
  } else {
    // Cargo's leading space, kept: `wsapp 0.1.0 ( wsapp "bin")`.
    target = " " + unit.target().name() + " \"" + unit.target().kind() + "\"";
  }
  return package.name + " " + (package.version.empty() ? "N/A" : package.version) + " (" + target +
         ")";
}

} // namespace

v1::RunTimings compute_timings(std::span<const v1::Event> events, const v1::RunSummary& run) {
  v1::RunTimings out;
  compute_timings(event_pointers(events), run, out);
  return out;
}

void compute_timings(std::span<const v1::Event* const> events,
                     const v1::RunSummary& run,
                     v1::RunTimings& out) {
  out.Clear();
  *out.mutable_run() = run;
  out.set_build_start(build_start_text(run.run_id()));

  std::vector<UnitEntry> entries;
  std::unordered_map<uint32_t, std::size_t> position; // unit index -> entries
  std::set<uint32_t> requested;
  std::set<std::string> platforms;
  uint32_t fresh = 0;
  uint32_t dirty = 0;

  auto find = [&](uint32_t index) -> UnitEntry* {
    auto it = position.find(index);
    return it == position.end() ? nullptr : &entries[it->second];
  };

  for (const v1::Event* e : events) {
    const v1::Event& event = *e;
    switch (event.payload_case()) {
    case v1::Event::kBuildStarted: {
      const v1::BuildStarted& build = event.build_started();
      out.set_host(build.host());
      out.set_jobs(build.jobs());
      out.set_num_cpus(build.has_num_cpus() ? static_cast<uint32_t>(build.num_cpus()) : 0);
      out.set_profile(build.profile());
      out.set_rustc_version_verbose(build.rustc_version_verbose().empty()
                                        ? build.rustc_version()
                                        : build.rustc_version_verbose());
      break;
    }
    case v1::Event::kUnitRegistered: {
      const v1::UnitRegistered& unit = event.unit_registered();
      if (unit.requested()) {
        requested.insert(unit.index());
      }
      platforms.insert(unit.platform());
      UnitEntry entry;
      entry.unit = unit;
      // Registering an index again replaces the unit in place, as cargo's IndexMap does.
      if (UnitEntry* existing = find(unit.index())) {
        *existing = std::move(entry);
      } else {
        position[unit.index()] = entries.size();
        entries.push_back(std::move(entry));
      }
      break;
    }
    case v1::Event::kUnitFingerprint:
      switch (event.unit_fingerprint().status()) {
      case v1::FINGERPRINT_STATUS_NEW:
      case v1::FINGERPRINT_STATUS_DIRTY:
        ++dirty; // cargo's "Dirty units" counts new units too
        break;
      case v1::FINGERPRINT_STATUS_FRESH:
        ++fresh;
        break;
      default:
        break;
      }
      break;
    case v1::Event::kUnitStarted:
      if (UnitEntry* entry = find(event.unit_started().index())) {
        entry->start = event.unit_started().elapsed();
        entry->started = true;
      }
      break;
    case v1::Event::kUnitRmetaFinished:
      if (UnitEntry* entry = find(event.unit_rmeta_finished().index())) {
        const v1::UnitProgress& progress = event.unit_rmeta_finished();
        double elapsed = std::max(progress.elapsed() - entry->start, 0.0);
        entry->unblocked_rmeta.assign(progress.unblocked().begin(), progress.unblocked().end());
        entry->duration = elapsed;
        entry->rmeta = elapsed;
      }
      break;
    case v1::Event::kUnitSectionStarted:
      if (UnitEntry* entry = find(event.unit_section_started().index())) {
        const v1::UnitSection& section = event.unit_section_started();
        double elapsed = std::max(section.elapsed() - entry->start, 0.0);
        auto it = std::find_if(entry->sections.begin(), entry->sections.end(),
                               [&](const RawSection& s) { return s.name == section.section(); });
        if (it != entry->sections.end()) {
          *it = {section.section(), elapsed, std::nullopt}; // started twice: the last wins
        } else {
          entry->sections.push_back({section.section(), elapsed, std::nullopt});
        }
      }
      break;
    case v1::Event::kUnitSectionFinished:
      if (UnitEntry* entry = find(event.unit_section_finished().index())) {
        const v1::UnitSection& section = event.unit_section_finished();
        auto it = std::find_if(entry->sections.begin(), entry->sections.end(),
                               [&](const RawSection& s) { return s.name == section.section(); });
        if (it != entry->sections.end()) {
          it->end = std::max(section.elapsed() - entry->start, 0.0);
        }
      }
      break;
    case v1::Event::kUnitFinished:
      if (UnitEntry* entry = find(event.unit_finished().index())) {
        const v1::UnitProgress& progress = event.unit_finished();
        entry->duration = std::max(progress.elapsed() - entry->start, 0.0);
        entry->unblocked.assign(progress.unblocked().begin(), progress.unblocked().end());
        entry->finished = true;
      }
      break;
    default:
      break;
    }
  }

  out.set_fresh_units(fresh);
  out.set_dirty_units(dirty);
  out.set_total_units(fresh + dirty);
  for (uint32_t index : requested) {
    if (const UnitEntry* entry = find(index)) {
      out.add_root_units(root_unit_text(entry->unit));
    }
  }
  for (const std::string& platform : platforms) {
    out.add_requested_targets(platform);
  }

  // Report order: by start. Cargo's sort is unstable, so among equal starts its order is
  // arbitrary; ours is by index.
  std::vector<const UnitEntry*> order;
  order.reserve(entries.size());
  for (const UnitEntry& entry : entries) {
    order.push_back(&entry);
  }
  std::sort(order.begin(), order.end(), [](const UnitEntry* a, const UnitEntry* b) {
    if (a->start != b->start) {
      return a->start < b->start;
    }
    return a->unit.index() < b->unit.index();
  });

  std::vector<RoundedUnit> rounded;
  std::vector<CriticalPathUnit> path_units;
  rounded.reserve(order.size());
  path_units.reserve(order.size());
  for (const UnitEntry* entry : order) {
    std::vector<Section> sections =
        aggregate_sections(entry->sections, entry->duration, entry->rmeta);

    v1::UnitTiming* timing = out.add_units();
    fill_unit_ref(entry->unit, *timing->mutable_unit());
    timing->set_start(entry->start);
    timing->set_duration(entry->duration);
    if (entry->rmeta) {
      timing->set_rmeta_time(*entry->rmeta);
    }
    for (const Section& section : sections) {
      v1::SectionTiming* s = timing->add_sections();
      s->set_name(section.name);
      s->set_start(section.start);
      s->set_end(section.end);
      s->set_reported(section.reported);
    }
    timing->mutable_unblocked_units()->Add(entry->unblocked.begin(), entry->unblocked.end());
    timing->mutable_unblocked_rmeta_units()->Add(entry->unblocked_rmeta.begin(),
                                                 entry->unblocked_rmeta.end());
    timing->set_started(entry->started);
    timing->set_finished(entry->finished);

    RoundedUnit r;
    r.index = entry->unit.index();
    r.start = round_to_centisecond(entry->start);
    r.duration = round_to_centisecond(entry->duration);
    if (!sections.empty()) {
      r.frontend_end = sections.front().end;
    }
    r.unblocked = &entry->unblocked;
    r.unblocked_rmeta = &entry->unblocked_rmeta;
    rounded.push_back(r);

    CriticalPathUnit p;
    p.index = entry->unit.index();
    p.start = entry->start;
    p.end = entry->start + entry->duration;
    p.rmeta_end = entry->rmeta ? entry->start + *entry->rmeta : -1;
    p.started = entry->started;
    p.dependencies.assign(entry->unit.dependencies().begin(), entry->unit.dependencies().end());
    p.unblocked = entry->unblocked;
    p.unblocked_rmeta = entry->unblocked_rmeta;
    path_units.push_back(std::move(p));
  }

  std::vector<v1::ConcurrencySample> concurrency = compute_concurrency(rounded);
  uint32_t max_active = 0;
  for (v1::ConcurrencySample& sample : concurrency) {
    max_active = std::max(max_active, sample.active());
    *out.add_concurrency() = std::move(sample);
  }
  out.set_max_concurrency(max_active);
  // Cargo's "Total time" is the last concurrency sample: the end of the last unit, rounded.
  out.set_total_time(out.concurrency().empty() ? 0.0 : out.concurrency().rbegin()->t());

  std::vector<uint32_t> critical = compute_critical_path(path_units);
  std::unordered_set<uint32_t> on_path(critical.begin(), critical.end());
  for (v1::UnitTiming& timing : *out.mutable_units()) {
    timing.set_critical(on_path.count(timing.unit().index()) != 0);
  }
  out.mutable_critical_path()->Add(critical.begin(), critical.end());
}

} // namespace ca::query
