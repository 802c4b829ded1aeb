// Report computations over the events of one run: pure functions of the events cargo logged,
// so they give the same answers whether the events came from a file, the socket or gRPC.
//
// The algorithms follow cargo's own `src/cargo/ops/cargo_report/` (1.95) where cargo has the
// report (rebuilds, timings) so that our answers match cargo's line for line. Where cargo's
// newest source and the 1.95 release disagree, 1.95 wins (it is what users run and what our
// golden files were produced with); the differences are noted at the point they matter.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "cargo_analysis/v1/reports.pb.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ca::query {

// Cargo's `report rebuilds` analysis of one run (`rebuilds.rs::prepare_context`). `events` are
// the run's events in log order; `run` is copied into the result, and its `workspace_root` is
// the base that paths in reasons are shown relative to (cargo uses the workspace it is run in).
// Never fails: events that do not fit are skipped. Counts follow every fingerprint, as cargo's
// do; a root rebuild whose unit was never registered is left out of `root_rebuilds` (cargo 1.95
// panics there).
cargo_analysis::v1::RunRebuilds compute_rebuilds(std::span<const cargo_analysis::v1::Event> events,
                                                 const cargo_analysis::v1::RunSummary& run);
// The same over events held elsewhere (e.g. on an arena, see store::RunReader::events()), into
// `out` (cleared first), which may be on an arena too.
void compute_rebuilds(std::span<const cargo_analysis::v1::Event* const> events,
                      const cargo_analysis::v1::RunSummary& run,
                      cargo_analysis::v1::RunRebuilds& out);

// What of a run's rebuilds a request asks for (GetRebuildsRequest's `max_roots` and
// `omit_affected`): the text report without `-v` shows 5 roots and the size of their impact,
// and the full result of a clean build lists most of its units once per root.
struct RebuildsView {
  uint32_t max_roots = 0; // 0: every root
  bool omit_affected = false;

  bool full() const { return max_roots == 0 && !omit_affected; }
};

// `full` (a compute_rebuilds() result) cut down to `view`, into `out` (cleared first). The
// counts stay the whole run's.
void copy_rebuilds_view(const cargo_analysis::v1::RunRebuilds& full,
                        const RebuildsView& view,
                        cargo_analysis::v1::RunRebuilds& out);

// Cargo's `report timings` analysis of one run (`cargo_report/timings.rs::prepare_context` and
// `timings/report.rs::compute_concurrency`): unit start/duration/rmeta, sections, concurrency
// samples, and the critical path (see `compute_critical_path`). `run` is copied into the
// result. Every registered unit is listed, also those that never started (fresh units), as
// cargo 1.95 lists them; `UnitTiming.started` tells them apart. Never fails.
cargo_analysis::v1::RunTimings compute_timings(std::span<const cargo_analysis::v1::Event> events,
                                               const cargo_analysis::v1::RunSummary& run);
void compute_timings(std::span<const cargo_analysis::v1::Event* const> events,
                     const cargo_analysis::v1::RunSummary& run,
                     cargo_analysis::v1::RunTimings& out);

// The reasons of the events each analysis reads; the others can be left undecoded, as they
// change nothing in its result (tests/unit/query checks this on every corpus run).
inline constexpr std::string_view k_rebuilds_reasons[] = {"unit-registered", "unit-fingerprint"};
inline constexpr std::string_view k_timings_reasons[] = {
    "build-started",       "unit-registered",      "unit-fingerprint",      "unit-started",
    "unit-rmeta-finished", "unit-section-started", "unit-section-finished", "unit-finished"};

// Pointers to `events`, for the overloads above.
std::vector<const cargo_analysis::v1::Event*>
event_pointers(std::span<const cargo_analysis::v1::Event> events);

// Cargo's unit description (`wsapp@0.1.0 wsapp "bin"`, `wscore@0.1.0 build-script (run)`,
// `serde@1.0.1`), from `rebuilds.rs::unit_description`: `name@version` (version `<n/a>` when the
// package id has none) plus `unit_target_description`.
std::string unit_description(const cargo_analysis::v1::UnitRegistered& unit);

// Cargo's `util.rs::unit_target_description`: empty for a lib built or checked, ` build-script`
// for a build script, ` <name> "<kind>"` otherwise, then the mode suffix (` (test)`,
// ` (check)`, ` (doc)`, ` (doc test)`, ` (doc scrape)`, ` (run)`; none for `build`).
std::string unit_target_description(const cargo_analysis::v1::Target& target,
                                    std::string_view mode);

// The unit as reports show it: index, package id, parsed name and version, target, mode,
// features, description and target description.
cargo_analysis::v1::UnitRef make_unit_ref(const cargo_analysis::v1::UnitRegistered& unit);
// The same into `ref` (cleared first), e.g. a field of a message on an arena.
void fill_unit_ref(const cargo_analysis::v1::UnitRegistered& unit,
                   cargo_analysis::v1::UnitRef& ref);

// The units of one run by index, as registered.
using UnitMap = std::unordered_map<uint32_t, cargo_analysis::v1::UnitRegistered>;

// Cargo's `rebuilds.rs::format_dirty_reason`, in 1.95's words: `file modified: src/lib.rs`,
// `environment variable changed (FOO): <unset> -> 1`, ... Paths under `workspace_root` are shown
// relative to it (component-wise, like Rust's `Path::strip_prefix`); other paths verbatim.
// Units named by the reason are described from `units`, or by index when unknown. A kind this
// version does not know is shown verbatim (cargo 1.95 would fail to read such a line).
std::string format_dirty_reason(const cargo_analysis::v1::DirtyReason& reason,
                                const UnitMap& units,
                                std::string_view workspace_root);

// Per unit of a timings analysis, what the critical path needs. Times are seconds since the
// build started; `rmeta_end` is negative when the unit produced no metadata event.
struct CriticalPathUnit {
  uint32_t index = 0;
  double start = 0;
  double end = 0;
  double rmeta_end = -1;
  bool started = false;
  std::vector<uint32_t> dependencies;
  std::vector<uint32_t> unblocked;       // units this one unblocked when it finished
  std::vector<uint32_t> unblocked_rmeta; // ... and when its metadata was ready
};

// The chain of units that bounded the build, in build order (first unit first). It starts from
// the started unit that finished last and walks back, from each unit, to the dependency that
// became ready last before the unit started: the dependency that cargo logged as having
// unblocked it when there is one (cargo knows which dependency completed last), otherwise the
// started dependency whose finish (or rmeta, for a unit that cargo unblocked on metadata or that
// started before the dependency finished) came last no later than the unit's start. Empty when
// no unit started.
std::vector<uint32_t> compute_critical_path(std::span<const CriticalPathUnit> units);

} // namespace ca::query
