#include "daemon/query/query_engine.hpp"

#include "daemon/query/critical_path_report.hpp"
#include "daemon/query/diff.hpp"
#include "daemon/query/package_filter.hpp"
#include "daemon/query/resource_usage.hpp"
#include "daemon/query/run_analysis.hpp"
#include "daemon/query/run_selection.hpp"
#include "daemon/query/slowest_crates.hpp"
#include "daemon/query/stored_kind.hpp"
#include "daemon/query/thrash.hpp"
#include "daemon/query/trends.hpp"
#include "daemon/query/unit_origin.hpp"
#include "shared/cargo_workspace.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <map>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr uint32_t k_default_limit = 10;
constexpr uint32_t k_default_trends_limit = 10;

std::string workspace_context(const std::string& dir) {
  return dir.empty() ? std::string() : " for workspace at `" + dir + "`";
}

// The runs a timings report shows. Cargo's `report timings` fails on a log without a unit
// ("no timing data found in log": `cargo build -p no-such-package` logs the build's start and
// its resolution, then fails): runs that ended without registering a unit are left out (a run
// in progress may still register some), and a request left with no run fails the same way.
Result<std::vector<v1::RunSummary>> with_timing_data(std::vector<v1::RunSummary> runs,
                                                     const std::string& id) {
  std::string asked = !id.empty() ? id : runs.empty() ? std::string() : runs.front().run_id();
  std::erase_if(runs, [](const v1::RunSummary& run) {
    return run.units_total() == 0 && !is_state(run.state(), RunState::in_progress);
  });
  if (runs.empty()) {
    return unexpected(ErrorCode::not_found, "no timing data found in `" + asked + "`");
  }
  return runs;
}

// A run as its analysis sees it, and the cache version of that: the whole summary, since the
// analysis copies it into its result (and reads `workspace_root`), and its `events` count and
// `state` change with every stored line and when the run ends. Depth is left out: it is where
// a request found the run (alone or in its session's tree), not the run's data.
struct RunVersion {
  v1::RunSummary run;
  std::string version;
};

RunVersion run_version(const v1::RunSummary& run) {
  RunVersion out{run, {}};
  out.run.clear_depth();
  out.version = out.run.SerializeAsString();
  return out;
}

// Arena blocks for a run's events and for its results: a few large ones rather than many small
// (a clean build of a few hundred units decodes into about a MiB, and its rebuilds report lists
// thousands of units), kept under malloc's mmap threshold.
google::protobuf::ArenaOptions arena_options() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 16 * 1024;
  options.max_block_size = 64 * 1024;
  return options;
}

// A message on an arena of its own, which lives as long as the message is shared: building and
// freeing a report of thousands of strings then costs a few block allocations.
template <class T> std::shared_ptr<T> make_arena_message() {
  struct Holder {
    google::protobuf::Arena arena{arena_options()};
    T* message = google::protobuf::Arena::CreateMessage<T>(&arena);
  };
  auto holder = std::make_shared<Holder>();
  return std::shared_ptr<T>(holder, holder->message);
}

// Cargo, run from a directory in no workspace, shows the paths in reasons relative to that
// directory rather than to the run's workspace: `file modified: ws/b/src/lib.rs` from the parent
// of `ws`. Reasons that name units carry no path and are left as they are.
void rebase_reason_paths(v1::RunRebuilds& rebuilds, const std::string& base) {
  const UnitMap no_units;
  const std::string& root = rebuilds.run().workspace_root();
  for (v1::RootRebuild& r : *rebuilds.mutable_root_rebuilds()) {
    if (format_dirty_reason(r.reason(), no_units, root) == r.reason_text()) {
      r.set_reason_text(format_dirty_reason(r.reason(), no_units, base));
    }
  }
}

} // namespace

void order_as_tree(std::vector<v1::RunSummary>& runs) {
  std::map<std::string, size_t> by_id;
  for (size_t i = 0; i < runs.size(); ++i) {
    by_id[runs[i].run_id()] = i;
  }
  std::map<std::string, std::vector<size_t>> children;
  std::vector<size_t> roots;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& parent = runs[i].parent_run_id();
    if (!parent.empty() && by_id.count(parent) != 0 && parent != runs[i].run_id()) {
      children[parent].push_back(i);
    } else {
      roots.push_back(i);
    }
  }
  auto by_start = [&](size_t a, size_t b) {
    if (runs[a].start_unix_ms() != runs[b].start_unix_ms()) {
      return runs[a].start_unix_ms() < runs[b].start_unix_ms();
    }
    return runs[a].run_id() < runs[b].run_id();
  };
  std::sort(roots.begin(), roots.end(), by_start);
  std::vector<v1::RunSummary> out;
  out.reserve(runs.size());
  std::vector<bool> seen(runs.size(), false);
  std::function<void(size_t, uint32_t)> visit = [&](size_t i, uint32_t depth) {
    if (seen[i]) {
      return; // a cycle in bad data: never loop
    }
    seen[i] = true;
    out.push_back(runs[i]);
    out.back().set_depth(depth);
    auto it = children.find(runs[i].run_id());
    if (it == children.end()) {
      return;
    }
    auto kids = it->second;
    std::sort(kids.begin(), kids.end(), by_start);
    for (size_t k : kids) {
      visit(k, depth + 1);
    }
  };
  for (size_t r : roots) {
    visit(r, 0);
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!seen[i]) {
      visit(i, 0);
    }
  }
  runs = std::move(out);
}

Result<v1::Session> QueryEngine::load_session(store::RunReader& reader,
                                              const std::string& session_id) {
  CA_TRY_ASSIGN(auto runs, reader.session_runs(session_id));
  order_as_tree(runs);
  v1::Session s;
  s.set_session_id(session_id);
  for (auto& r : runs) {
    *s.add_runs() = std::move(r);
  }
  return s;
}

Result<v1::ListSessionsResponse> QueryEngine::list_sessions(const v1::ListSessionsRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  std::string root;
  if (!req.all()) {
    // Outside any cargo workspace: every workspace's sessions, as cargo lists them.
    CA_TRY_ASSIGN(root, scope_root(*reader, req.workspace(), req.cwd()));
  }
  uint32_t limit = req.limit() == 0 ? k_default_limit : req.limit();
  std::vector<std::string> ids;
  if (range.bounded()) {
    CA_TRY_ASSIGN(ids, reader->sessions_in_range(root, range.lower(), range.upper(), limit + 1));
  } else {
    CA_TRY_ASSIGN(ids, reader->recent_sessions(root, limit + 1));
  }
  if (ids.empty()) {
    return unexpected(ErrorCode::not_found,
                      "no sessions found" + workspace_context(root) + range.suffix());
  }
  v1::ListSessionsResponse resp;
  resp.set_workspace_root(root);
  resp.set_truncated(ids.size() > limit);
  ids.resize(std::min<size_t>(ids.size(), limit));
  for (const auto& id : ids) {
    CA_TRY_ASSIGN(auto s, load_session(*reader, id));
    *resp.add_sessions() = std::move(s);
  }
  return resp;
}

Result<v1::Session> QueryEngine::get_session(const v1::GetSessionRequest& req) {
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto s, load_session(*reader, req.id()));
  if (s.runs_size() == 0) {
    // Not a session id: maybe a run id, whose session we then show.
    auto run = reader->run(req.id());
    if (!run) {
      return unexpected(ErrorCode::not_found, "session `" + req.id() + "` not found");
    }
    CA_TRY_ASSIGN(s, load_session(*reader, run->session_id()));
  }
  return s;
}

namespace {

// A run's analysis as computed, and whether it describes the state the summary names: a batch
// committed between reading the summary and reading the events makes it one of a newer state,
// which must not be cached or stored under the older one.
template <class Message> struct Computed {
  std::shared_ptr<Message> result;
  bool current = false;
};

// The cancellation flag of the precompute() running on this thread, if any: read by
// from_events(), so that a stopping daemon does not wait for a huge run to be decoded.
thread_local const std::atomic<bool>* t_cancel = nullptr;
// Set while precompute() runs on this thread: what it computes is stored, not cached (the
// background analysis of a back-fill of thousands of runs would fill the cache, and the memory,
// with runs nobody asked for, pushing out those somebody did).
thread_local bool t_precomputing = false;

// `compute` over the lines of `reasons` of the run (see RunReader::events()).
template <class Message, class Compute>
Result<Computed<Message>> from_events(store::RunReader& reader,
                                      const v1::RunSummary& run,
                                      std::span<const std::string_view> reasons,
                                      Compute compute) {
  google::protobuf::Arena arena(arena_options());
  CA_TRY_ASSIGN(auto events, reader.events(run.run_id(), arena, reasons, t_cancel));
  Computed<Message> out{make_arena_message<Message>(), events.stored == run.events()};
  compute(events.events, run, *out.result);
  return out;
}

// `message` serialized without its `run`: a stored report takes the summary from the run when
// read, since links and exit codes can arrive after the run ended. `message` must not be shared
// yet (it is changed and restored).
template <class Message> std::string serialized_without_run(Message& message) {
  v1::RunSummary* run = message.unsafe_arena_release_run();
  std::string out = message.SerializeAsString();
  message.unsafe_arena_set_allocated_run(run);
  return out;
}

// One run's analysis (`Message`: RunRebuilds or RunTimings), from the first place that has it
// for the run's current state: the result cache (`lookup`), the stored report of `kind` (for an
// ended run), else `compute`. What did not come from the cache is put there (`put`), and what
// was computed for an ended run is handed to `keep` to be stored.
template <class Message, class Lookup, class Put, class Compute, class Keep>
Result<std::shared_ptr<const Message>> analysed(store::RunReader& reader,
                                                const v1::RunSummary& run,
                                                StoredKind kind,
                                                Lookup lookup,
                                                Put put,
                                                Compute compute,
                                                Keep keep) {
  RunVersion v = run_version(run);
  if (std::shared_ptr<const Message> cached = lookup(run.run_id(), v.version)) {
    return cached;
  }
  const bool ended = !is_state(run.state(), RunState::in_progress);
  if (ended) {
    CA_TRY_ASSIGN(auto body, reader.stored_report(run, static_cast<int>(kind), k_report_format));
    auto result = make_arena_message<Message>();
    // A row that does not parse is computed again and replaced, never answered from.
    if (body && result->ParseFromString(*body)) {
      *result->mutable_run() = v.run; // the summary now: links and exit codes come later
      put(run.run_id(), v.version, result);
      return std::shared_ptr<const Message>(std::move(result));
    }
  }
  CA_TRY_ASSIGN(Computed<Message> computed, compute(v.run));
  if (computed.current) {
    if (ended) {
      keep(store::StoredReport{run.run_id(), static_cast<int>(kind), k_report_format, run.events(),
                               run.state(), serialized_without_run(*computed.result)});
    }
    if (!t_precomputing) {
      put(run.run_id(), v.version, computed.result); // shared from here on
    }
  }
  return std::shared_ptr<const Message>(std::move(computed.result));
}

} // namespace

namespace {

// The full rebuilds of a run (not stored: a clean build's list most of the build once per root,
// and only `-vv` and JSON read them), from the cache or computed and cached; and whether they
// describe the state `run` names.
Result<Computed<const v1::RunRebuilds>>
full_rebuilds(RunResultCache& cache, store::RunReader& reader, const v1::RunSummary& run) {
  RunVersion v = run_version(run);
  if (auto cached = cache.rebuilds(run.run_id(), v.version)) {
    return Computed<const v1::RunRebuilds>{std::move(cached), true};
  }
  CA_TRY_ASSIGN(auto computed, from_events<v1::RunRebuilds>(
                                   reader, v.run, k_rebuilds_reasons,
                                   [](const auto& events, const v1::RunSummary& r,
                                      v1::RunRebuilds& out) { compute_rebuilds(events, r, out); }));
  // Not while precomputing: the thread that stores the reports of every run that ends would
  // fill the cache with runs nobody asked about (a back-fill of 100 clean builds kept ~25 MB).
  if (computed.current && !t_precomputing) {
    cache.put(run.run_id(), v.version, computed.result);
  }
  return Computed<const v1::RunRebuilds>{std::move(computed.result), computed.current};
}

} // namespace

Result<std::shared_ptr<const v1::RunRebuilds>>
QueryEngine::run_rebuilds(store::RunReader& reader, const v1::RunSummary& run) {
  CA_TRY_ASSIGN(auto full, full_rebuilds(m_cache, reader, run));
  return std::move(full.result);
}

void QueryEngine::keep(store::StoredReport report, std::vector<store::StoredReport>* precomputed) {
  if (precomputed != nullptr) {
    precomputed->push_back(std::move(report));
    return;
  }
  if (m_reports == nullptr) {
    return;
  }
  store::Batch batch;
  batch.source = "query";
  batch.reports.push_back(std::move(report));
  // Never wait on a query thread: a full sink leaves the report unstored, and it is computed
  // again when next asked for (or by the precomputer, which stores what it computes).
  if (!m_reports->try_submit(batch, [] {})) {
    spdlog::debug("report of run {} not stored: the store is busy", batch.reports.front().run_id);
  }
}

Result<std::shared_ptr<const v1::RunRebuilds>>
QueryEngine::run_rebuild_roots(store::RunReader& reader,
                               const v1::RunSummary& run,
                               std::vector<store::StoredReport>* precomputed) {
  return analysed<v1::RunRebuilds>(
      reader, run, StoredKind::rebuild_roots,
      [this](const std::string& id, const std::string& v) { return m_cache.rebuild_roots(id, v); },
      [this](const std::string& id, const std::string& v, auto result) {
        m_cache.put_rebuild_roots(id, v, std::move(result));
      },
      [&](const v1::RunSummary& r) -> Result<Computed<v1::RunRebuilds>> {
        CA_TRY_ASSIGN(auto full, full_rebuilds(m_cache, reader, r));
        Computed<v1::RunRebuilds> out{make_arena_message<v1::RunRebuilds>(), full.current};
        copy_rebuilds_view(*full.result, RebuildsView{0, true}, *out.result);
        return out;
      },
      [&](store::StoredReport r) { keep(std::move(r), precomputed); });
}

Result<std::shared_ptr<const v1::RunTimings>>
QueryEngine::run_timings(store::RunReader& reader,
                         const v1::RunSummary& run,
                         std::vector<store::StoredReport>* precomputed) {
  return analysed<v1::RunTimings>(
      reader, run, StoredKind::timings,
      [this](const std::string& id, const std::string& v) { return m_cache.timings(id, v); },
      [this](const std::string& id, const std::string& v, auto result) {
        m_cache.put(id, v, std::move(result));
      },
      [&](const v1::RunSummary& r) {
        return from_events<v1::RunTimings>(
            reader, r, k_timings_reasons,
            [](const auto& events, const v1::RunSummary& s, v1::RunTimings& out) {
              compute_timings(events, s, out);
            });
      },
      [&](store::StoredReport r) { keep(std::move(r), precomputed); });
}

Result<std::vector<store::StoredReport>> QueryEngine::precompute(const std::string& run_id,
                                                                 const std::atomic<bool>* cancel) {
  struct CancelScope {
    explicit CancelScope(const std::atomic<bool>* flag) {
      t_cancel = flag;
      t_precomputing = true;
    }
    ~CancelScope() {
      t_cancel = nullptr;
      t_precomputing = false;
    }
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;
  } scope(cancel);
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto run, reader->run(run_id));
  std::vector<store::StoredReport> computed;
  if (is_state(run.state(), RunState::in_progress)) {
    return computed;
  }
  CA_TRY(run_rebuild_roots(*reader, run, &computed));
  CA_TRY(run_timings(*reader, run, &computed));
  return computed;
}

Result<v1::GetRebuildsResponse> QueryEngine::get_rebuilds(const v1::GetRebuildsRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto specs, parse_specs(req.packages()));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto selected, select_runs(*reader, req.id(), req.workspace(), req.cwd(), range));
  const auto& runs = selected.runs;
  if (!specs.empty()) {
    std::vector<std::string> ids;
    for (const auto& run : runs) {
      CA_TRY_ASSIGN(auto units, reader->units(run.run_id()));
      for (auto& unit : units) {
        ids.push_back(std::move(unit.package_id));
      }
    }
    CA_TRY(check_package_specs(specs, ids));
  }
  const RebuildsView view{req.max_roots(), req.omit_affected()};
  const bool outside = req.workspace().empty() && outside_any_cargo_workspace(req.cwd());
  v1::GetRebuildsResponse resp;
  resp.set_other_runs_in_range(selected.other_runs);
  for (const auto& run : runs) {
    // Only -vv and JSON read the affected units: the rest is answered from the roots, which
    // are stored for every ended run. A package filter reads them to find the roots that
    // dragged a package along.
    CA_TRY_ASSIGN(auto result, view.omit_affected&& specs.empty() ? run_rebuild_roots(*reader, run)
                                                                  : run_rebuilds(*reader, run));
    v1::RunRebuilds* out = resp.add_runs();
    if (!specs.empty()) {
      copy_rebuilds_view(filter_rebuilds(*result, specs), view, *out);
    } else if (view.full()) {
      *out = *result;
    } else {
      copy_rebuilds_view(*result, view, *out);
    }
    out->mutable_run()->set_depth(run.depth());
    if (outside) {
      rebase_reason_paths(*out, req.cwd());
    }
    // Why new units were new depends on the runs before this one, not on this run's events:
    // answered from the units table each time, never cached or stored with the report.
    CA_TRY(explain_new_roots(*reader, *out));
  }
  return resp;
}

Result<v1::GetTimingsResponse> QueryEngine::get_timings(const v1::GetTimingsRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto specs, parse_specs(req.packages()));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto selected, select_runs(*reader, req.id(), req.workspace(), req.cwd(), range));
  CA_TRY_ASSIGN(auto runs, with_timing_data(std::move(selected.runs), req.id()));
  v1::GetTimingsResponse resp;
  resp.set_other_runs_in_range(selected.other_runs);
  std::vector<std::string> ids;
  for (const auto& run : runs) {
    CA_TRY_ASSIGN(auto result, run_timings(*reader, run));
    v1::RunTimings* out = resp.add_runs();
    *out = *result;
    out->mutable_run()->set_depth(run.depth());
    CA_TRY(attach_resource_usage(*reader, run, *out));
    collect_package_ids(*out, ids);
  }
  if (!specs.empty()) {
    CA_TRY(check_package_specs(specs, ids));
    for (auto& run : *resp.mutable_runs()) {
      filter_timings(run, specs);
    }
  }
  return resp;
}

namespace {

// Appends field `field` of wire type LEN holding `a` then `b` (a message's serialized fields,
// in two parts: protobuf parsers take fields in any order).
void append_length_delimited(std::string& out,
                             uint32_t field,
                             std::string_view a,
                             std::string_view b) {
  auto varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  constexpr uint32_t k_wire_len = 2;
  varint(field << 3 | k_wire_len);
  varint(a.size() + b.size());
  out.append(a);
  out.append(b);
}

} // namespace

Result<std::string> QueryEngine::get_timings_serialized(const v1::GetTimingsRequest& req) {
  if (req.packages_size() != 0) {
    // Filtered reports are built as messages (the stored bytes hold every unit).
    CA_TRY_ASSIGN(auto resp, get_timings(req));
    return resp.SerializeAsString();
  }
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto selected, select_runs(*reader, req.id(), req.workspace(), req.cwd(), range));
  CA_TRY_ASSIGN(auto runs, with_timing_data(std::move(selected.runs), req.id()));
  constexpr uint32_t k_response_runs = v1::GetTimingsResponse::kRunsFieldNumber;
  constexpr uint32_t k_timings_run = v1::RunTimings::kRunFieldNumber;
  std::string out;
  for (const auto& run : runs) {
    // The report without its summary: cached, else stored (as it is kept), else computed.
    RunVersion v = run_version(run);
    std::shared_ptr<const std::string> body = m_cache.timings_bytes(run.run_id(), v.version);
    if (!body && !is_state(run.state(), RunState::in_progress)) {
      CA_TRY_ASSIGN(auto stored, reader->stored_report(run, static_cast<int>(StoredKind::timings),
                                                       k_report_format));
      if (stored) {
        // Written by this daemon's own serializer, in a row SQLite checksums nothing of but
        // keeps intact: sent as it is.
        body = std::make_shared<const std::string>(std::move(*stored));
        m_cache.put_timings_bytes(run.run_id(), v.version, body);
      }
    }
    if (!body) {
      // In progress, or not stored yet (the precomputer stores it soon): the message path.
      CA_TRY_ASSIGN(auto result, run_timings(*reader, run));
      v1::RunTimings copy = *result;
      copy.clear_run();
      body = std::make_shared<const std::string>(copy.SerializeAsString());
    }
    const std::string summary = run.SerializeAsString(); // with the run's depth in the request
    std::string field;
    append_length_delimited(field, k_timings_run, summary, {});
    // The samples, read at each request (daemon/query/resource_usage.hpp): their fields after
    // the rest, which a parser merges.
    v1::RunTimings usage;
    CA_TRY(attach_resource_usage(*reader, run, usage));
    usage.AppendToString(&field);
    append_length_delimited(out, k_response_runs, *body, field);
  }
  if (selected.other_runs != 0) {
    // Parsers merge fields appended to a message's bytes: this sets the count.
    v1::GetTimingsResponse tail;
    tail.set_other_runs_in_range(selected.other_runs);
    out += tail.SerializeAsString();
  }
  return out;
}

Result<v1::GetCriticalPathResponse>
QueryEngine::get_critical_path(const v1::GetCriticalPathRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto specs, parse_specs(req.packages()));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto selected, select_runs(*reader, req.id(), req.workspace(), req.cwd(), range));
  std::vector<std::shared_ptr<const v1::RunTimings>> timings;
  std::vector<std::string> ids;
  for (const auto& run : selected.runs) {
    CA_TRY_ASSIGN(auto t, run_timings(*reader, run));
    collect_package_ids(*t, ids);
    timings.push_back(std::move(t));
  }
  CA_TRY(check_package_specs(specs, ids));
  v1::GetCriticalPathResponse resp;
  resp.set_other_runs_in_range(selected.other_runs);
  for (size_t i = 0; i < selected.runs.size(); ++i) {
    v1::RunCriticalPath* out = resp.add_runs();
    if (specs.empty()) {
      *out = critical_path_report(*timings[i]);
    } else {
      // The chain that bounded the packages' last unit, told as the whole build's would be.
      v1::RunTimings to_package = *timings[i];
      auto path = critical_path_to(to_package, specs);
      to_package.mutable_critical_path()->Assign(path.begin(), path.end());
      *out = critical_path_report(to_package);
    }
    out->mutable_run()->set_depth(selected.runs[i].depth());
  }
  return resp;
}

Result<v1::DiffResponse> QueryEngine::diff(const v1::DiffRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  if (req.a().empty() && req.b().empty() && range.bounded()) {
    // The oldest and the newest session that started in the range.
    CA_TRY_ASSIGN(auto reader, m_readers.lease());
    CA_TRY_ASSIGN(std::string root, scope_root(*reader, req.workspace(), req.cwd()));
    CA_TRY_ASSIGN(auto ids, reader->sessions_in_range(root, range.lower(), range.upper(),
                                                      std::numeric_limits<int64_t>::max()));
    if (ids.size() < 2) {
      return unexpected(ErrorCode::not_found, std::to_string(ids.size()) + " session" +
                                                  (ids.size() == 1 ? "" : "s") + " found" +
                                                  workspace_context(root) + range.suffix() +
                                                  ": a diff needs two");
    }
    v1::DiffRequest ranged;
    ranged.set_a(ids.back());
    ranged.set_b(ids.front());
    return diff(ranged);
  }
  if (req.a().empty() || req.b().empty()) {
    return unexpected(ErrorCode::invalid_argument,
                      "a diff needs two ids (run ids or session ids), or a time range");
  }
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  auto load = [&](const std::string& id) -> Result<DiffSideInput> {
    DiffSideInput side;
    side.id = id;
    // A session id names the whole session, also where it is its top-level run's id (sessions
    // found by ancestry take that id): comparing sessions is what the id says. A nested run's
    // id names that run alone.
    CA_TRY_ASSIGN(side.runs, reader->session_runs(id));
    if (side.runs.empty()) {
      CA_TRY_ASSIGN(auto selected, select_runs(*reader, id, "", "", TimeRange{}));
      side.runs = std::move(selected.runs);
    }
    order_as_tree(side.runs);
    side.session = side.runs.size() != 1 || side.runs.front().run_id() != id;
    for (const auto& run : side.runs) {
      CA_TRY_ASSIGN(auto units, reader->units(run.run_id()));
      side.units.push_back(std::move(units));
    }
    return side;
  };
  CA_TRY_ASSIGN(auto a, load(req.a()));
  CA_TRY_ASSIGN(auto b, load(req.b()));
  return compute_diff(a, b);
}

Result<v1::TrendsResponse> QueryEngine::trends(const v1::TrendsRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto specs, parse_specs(req.packages()));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  store::TrendScope scope;
  if (!req.all()) {
    CA_TRY_ASSIGN(scope.workspace_root, scope_root(*reader, req.workspace(), req.cwd()));
  }
  if (range.bounded()) {
    // The sessions that started in the range, the newest `last` of them if asked.
    const int64_t n = req.last() > 0 ? req.last() : std::numeric_limits<int64_t>::max();
    CA_TRY_ASSIGN(auto ids,
                  reader->sessions_in_range(scope.workspace_root, range.lower(), range.upper(), n));
    scope.sessions = std::move(ids);
  } else if (req.last() > 0) {
    CA_TRY_ASSIGN(auto ids, reader->recent_sessions(scope.workspace_root, req.last()));
    scope.sessions = std::move(ids);
  }
  uint32_t limit = req.limit() == 0 ? k_default_trends_limit : req.limit();
  // Filtered, the ranked lists are cut after the filter: every unit is ranked first.
  constexpr uint32_t k_every_unit = std::numeric_limits<uint32_t>::max();
  CA_TRY_ASSIGN(auto resp, compute_trends(*reader, scope, specs.empty() ? limit : k_every_unit));
  if (resp.runs() == 0) {
    return unexpected(ErrorCode::not_found, "no sessions found" +
                                                workspace_context(scope.workspace_root) +
                                                range.suffix());
  }
  if (!specs.empty()) {
    std::vector<std::string> ids;
    for (const auto& unit : resp.slowest_units()) {
      ids.push_back(unit.unit().package_id());
    }
    for (const auto& unit : resp.root_rebuilds()) {
      ids.push_back(unit.unit().package_id());
    }
    CA_TRY(check_package_specs(specs, ids));
    filter_trends(resp, specs, limit);
  }
  resp.set_workspace_root(scope.workspace_root);
  return resp;
}

Result<v1::SlowestCratesResponse> QueryEngine::slowest_crates(const v1::SlowestCratesRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto resp, local_slowest_crates(*reader, req));
  if (resp.runs() == 0) {
    return unexpected(ErrorCode::not_found, "no runs found" + range.suffix());
  }
  return resp;
}

Result<v1::ThrashResponse> QueryEngine::thrash(const v1::ThrashRequest& req) {
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  const std::string& asked = !req.workspace().empty() ? req.workspace() : req.cwd();
  std::string root;
  if (!asked.empty()) {
    CA_TRY_ASSIGN(root, reader->workspace_containing(asked));
  }
  if (root.empty()) {
    return unexpected(ErrorCode::not_found, "no sessions found" + workspace_context(asked));
  }
  const uint32_t last = req.last() == 0 ? k_default_thrash_runs : req.last();
  CA_TRY_ASSIGN(auto runs, reader->recent_runs(root, last));
  CA_TRY_ASSIGN(auto units, reader->recent_units(root, last));
  v1::ThrashResponse resp = compute_thrash(runs, units, root);
  resp.set_workspace_root(root);
  return resp;
}

} // namespace ca::query
