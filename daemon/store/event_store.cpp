#include "daemon/store/event_store.hpp"

#include "daemon/store/dict_codec.hpp"
#include "daemon/store/trend_index.hpp"
#include "shared/package_id.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace ca::store {

namespace v1 = cargo_analysis::v1;

std::string final_state(bool log_truncated,
                        int64_t events,
                        int64_t units_started,
                        int64_t units_finished,
                        std::optional<int> exit_code) {
  if (log_truncated || events == 0) {
    return std::string(to_string(RunState::interrupted));
  }
  if (units_started > units_finished || (exit_code && *exit_code != 0)) {
    return std::string(to_string(RunState::failed));
  }
  return std::string(to_string(RunState::completed));
}

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join_indices(const google::protobuf::RepeatedField<uint32_t>& v) {
  std::string out;
  for (uint32_t i : v) {
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(i);
  }
  return out;
}

const char* status_name(v1::FingerprintStatus s) {
  switch (s) {
  case v1::FINGERPRINT_STATUS_NEW:
    return "new";
  case v1::FINGERPRINT_STATUS_DIRTY:
    return "dirty";
  case v1::FINGERPRINT_STATUS_FRESH:
    return "fresh";
  default:
    return "unknown";
  }
}

} // namespace

Result<EventStore::RunCache*> EventStore::run_row(const std::string& run_id,
                                                  const std::string& source) {
  if (auto it = m_runs.find(run_id); it != m_runs.end()) {
    return &it->second;
  }
  CA_TRY_ASSIGN(RunId parsed, parse_run_id(run_id));
  {
    CA_TRY_ASSIGN(Statement * ins,
                  m_db.prepare_cached("INSERT OR IGNORE INTO runs(run_id, session_id, "
                                      "workspace_hash, start_unix_ms, source) "
                                      "VALUES (?1, ?1, ?2, ?3, ?4)"));
    auto g = ins->bind(run_id, parsed.workspace_hash, parsed.unix_ms, source);
    CA_TRY(ins->run());
    if (ins->changes() != 0) {
      CA_TRY(propagate_session(run_id)); // children seen before this parent join its session
    }
  }
  CA_TRY_ASSIGN(Statement * sel,
                m_db.prepare_cached("SELECT id, raw_last, raw_hash, COALESCE(workspace_root, '') "
                                    "FROM runs WHERE run_id = ?1"));
  auto g = sel->bind(run_id);
  CA_TRY_ASSIGN(bool row, sel->step());
  if (!row) {
    return unexpected(ErrorCode::internal, "run " + run_id + " vanished after insert");
  }
  RunCache& c = m_runs[run_id];
  c.id = sel->column_int(0);
  c.raw_last = static_cast<uint64_t>(sel->column_int(1));
  c.raw_hash =
      sel->column_int(1) == 0 ? k_roll_hash_seed : static_cast<uint64_t>(sel->column_int(2));
  return &c;
}

Result<BatchOutcome> EventStore::apply(const Batch& batch) {
  BatchOutcome out;
  out.event_inserted.reserve(batch.events.size());
  std::unordered_map<int64_t, RunDelta> deltas;
  std::vector<RunCache*> touched;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const v1::Event& e = batch.events[i];
    CA_TRY_ASSIGN(RunCache * run, run_row(e.run_id(), batch.source));
    auto [it, first] = deltas.try_emplace(run->id);
    if (first) {
      touched.push_back(run);
    }
    uint64_t position = i < batch.positions.size() ? batch.positions[i] : 0;
    CA_TRY_ASSIGN(bool inserted, take_line(*run, e.run_id(), position, e.raw(), out));
    out.event_inserted.push_back(inserted);
    if (inserted) {
      ++out.inserted;
      CA_TRY(apply_event(e, *run, it->second));
    }
  }
  for (RunCache* run : touched) {
    CA_TRY_ASSIGN(int64_t units, flush_units(*run));
    CA_TRY(flush_lines(*run));
    RunDelta& d = deltas[run->id];
    d.units_total += units;
    CA_TRY(flush_delta(run->id, d));
    if (d.units_changed) {
      CA_TRY(refresh_root_rebuilds(m_db, run->id)); // once per run and batch: see trend_index.hpp
    }
  }
  for (const RunFacts& f : batch.facts) {
    CA_TRY(run_row(f.run_id, batch.source));
    CA_TRY(apply_facts(f));
  }
  if (batch.checkpoint) {
    const FileCheckpoint& cp = *batch.checkpoint;
    CA_TRY_ASSIGN(Statement * s,
                  m_db.prepare_cached("INSERT INTO sources(path, inode, offset, run_id, "
                                      "updated_ms, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                      "ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, "
                                      "offset = excluded.offset, run_id = excluded.run_id, "
                                      "updated_ms = excluded.updated_ms, line = excluded.line"));
    auto g = s->bind(cp.path, cp.inode, cp.offset, cp.run_id, now_ms(), cp.line);
    CA_TRY(s->run());
  }
  for (const StoredReport& r : batch.reports) {
    // Compressed against the workspace's dictionary of this kind of report: the timings of two
    // builds of a workspace list the same units (daemon/store/dict_codec.hpp).
    CA_TRY_ASSIGN(Statement * ws, m_db.prepare_cached("SELECT COALESCE(workspace_root, '') "
                                                      "FROM runs WHERE run_id = ?1"));
    std::string scope;
    {
      auto g = ws->bind(r.run_id);
      CA_TRY_ASSIGN(bool row, ws->step());
      if (!row) {
        continue; // the run is gone (deleted by the garbage collection meanwhile)
      }
      scope = report_scope(r.kind, ws->column_text_view(0));
    }
    CA_TRY_ASSIGN(Packed packed, pack(m_db, scope, r.body, k_compact_level));
    CA_TRY_ASSIGN(Statement * s,
                  m_db.prepare_cached("INSERT OR REPLACE INTO run_reports(run, kind, format, "
                                      "events, state, body, codec, dict) "
                                      "SELECT id, ?2, ?3, ?4, ?5, ?6, 1, ?7 "
                                      "FROM runs WHERE run_id = ?1"));
    auto g = s->bind(r.run_id, r.kind, r.format, r.events, r.state, Blob{packed.data}, packed.dict);
    CA_TRY(s->run());
  }
  return out;
}

namespace {

// The index of `position` in a block's ascending positions, or npos.
size_t find_position(const RawBlock& block, uint64_t position) {
  auto it = std::lower_bound(block.positions.begin(), block.positions.end(), position);
  if (it == block.positions.end() || *it != position) {
    return std::string::npos;
  }
  return static_cast<size_t>(it - block.positions.begin());
}

constexpr size_t k_max_reported_divergences = 20;

} // namespace

Result<bool> EventStore::take_line(RunCache& run,
                                   const std::string& run_id,
                                   uint64_t position,
                                   std::string_view raw,
                                   BatchOutcome& out) {
  if (position == 0) {
    // No position: the line is new unless the run already holds the same bytes.
    if (!run.contents) {
      run.contents.emplace();
      RawBlock stored;
      CA_TRY(read_blocks(m_db, run.id, stored));
      for (size_t i = 0; i < stored.size(); ++i) {
        run.contents->insert(roll_hash(k_roll_hash_seed, stored.line(i)));
      }
      for (size_t i = 0; i < run.pending.size(); ++i) {
        run.contents->insert(roll_hash(k_roll_hash_seed, run.pending.line(i)));
      }
    }
    if (!run.contents->insert(roll_hash(k_roll_hash_seed, raw)).second) {
      ++out.duplicates;
      return false;
    }
    position = run.raw_last + 1;
  } else if (run.contents && position > run.raw_last) {
    run.contents->insert(roll_hash(k_roll_hash_seed, raw));
  }
  if (position > run.raw_last) {
    if (run.pending.positions.empty() && run.pending.text.capacity() == 0 && !m_spare.empty()) {
      run.pending = std::move(m_spare.back()); // a buffer of an earlier batch, capacity kept
      m_spare.pop_back();
    }
    run.pending.add(position, raw);
    run.raw_last = position;
    run.raw_hash = roll_hash(run.raw_hash, raw);
    return true;
  }
  // A taken position: the same line again, or another line claiming its place.
  std::string_view stored;
  bool found = false;
  if (size_t i = find_position(run.pending, position); i != std::string::npos) {
    stored = run.pending.line(i);
    found = true;
  } else {
    if (!run.stored) {
      run.stored.emplace();
      CA_TRY(read_blocks(m_db, run.id, *run.stored));
    }
    if (size_t j = find_position(*run.stored, position); j != std::string::npos) {
      stored = run.stored->line(j);
      found = true;
    }
  }
  if (found && stored == raw) {
    ++out.duplicates;
    return false;
  }
  ++out.diverged;
  if (out.divergences.size() < k_max_reported_divergences) {
    out.divergences.push_back(Divergence{
        run_id, position,
        "run " + run_id + " line " + std::to_string(position) + ": " +
            (found ? "differs from the line stored at that position"
                   : "that position was skipped before (a rejected line)") +
            "; not stored (the run has lines up to " + std::to_string(run.raw_last) + ")"});
  }
  return false;
}

Result<int64_t> EventStore::unit_key(std::string_view package_id,
                                     std::string_view name,
                                     std::string_view version,
                                     std::string_view target_name,
                                     std::string_view target_kind,
                                     std::string_view mode,
                                     std::string_view platform,
                                     std::string_view features) {
  std::string cache_key;
  for (std::string_view part : {package_id, target_name, target_kind, mode, platform, features}) {
    cache_key.append(part);
    cache_key.push_back('\0');
  }
  if (auto it = m_unit_keys.find(cache_key); it != m_unit_keys.end()) {
    return it->second;
  }
  CA_TRY_ASSIGN(Statement * ins,
                m_db.prepare_cached("INSERT OR IGNORE INTO unit_keys(package_id, name, version, "
                                    "target_name, target_kind, mode, platform, features) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  {
    auto g =
        ins->bind(package_id, name, version, target_name, target_kind, mode, platform, features);
    CA_TRY(ins->run());
  }
  CA_TRY_ASSIGN(Statement * sel,
                m_db.prepare_cached("SELECT id FROM unit_keys WHERE package_id = ?1 AND "
                                    "target_name = ?2 AND target_kind = ?3 AND mode = ?4 AND "
                                    "platform = ?5 AND features = ?6"));
  auto g = sel->bind(package_id, target_name, target_kind, mode, platform, features);
  CA_TRY_ASSIGN(bool row, sel->step());
  if (!row) {
    return unexpected(ErrorCode::internal, "unit key vanished after insert");
  }
  int64_t id = sel->column_int(0);
  m_unit_keys.emplace(std::move(cache_key), id);
  return id;
}

Result<int64_t> EventStore::flush_units(RunCache& run) {
  int64_t inserted = 0;
  if (run.new_units.empty()) {
    return inserted;
  }
  CA_TRY_ASSIGN(Statement * ins,
                m_db.prepare_cached("INSERT OR IGNORE INTO unit_rows(run, idx, key, requested, "
                                    "dependencies, fingerprint, cause_kind, cause, start, rmeta, "
                                    "finish) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                                    "CAST(?8 AS BLOB), ?9, ?10, ?11)"));
  CA_TRY_ASSIGN(Statement * upd,
                m_db.prepare_cached("UPDATE unit_rows SET fingerprint = COALESCE(?3, fingerprint), "
                                    "cause_kind = COALESCE(?4, cause_kind), "
                                    "cause = COALESCE(CAST(?5 AS BLOB), cause), "
                                    "start = COALESCE(?6, start), rmeta = COALESCE(?7, rmeta), "
                                    "finish = COALESCE(?8, finish) WHERE run = ?1 AND idx = ?2"));
  for (const auto& [index, u] : run.new_units) {
    bool inserted_now = false;
    {
      auto g = ins->bind(run.id, index, u.key, u.requested ? 1 : 0, u.dependencies, u.fingerprint,
                         u.cause_kind, u.cause, u.start, u.rmeta, u.finish);
      CA_TRY(ins->run());
      inserted += ins->changes();
      inserted_now = ins->changes() != 0;
      if (ins->changes() == 0) {
        // Registered again (a run that names one index twice): what this batch says still holds.
        auto g2 = upd->bind(run.id, index, u.fingerprint, u.cause_kind, u.cause, u.start, u.rmeta,
                            u.finish);
        CA_TRY(upd->run());
      }
    }
    if (u.start && u.finish && inserted_now) {
      CA_TRY(record_unit_build(m_db, UnitBuild{run.id, run.workspace_root, u.name, u.target_name,
                                               u.target_kind, u.mode, u.package_id, u.version,
                                               *u.finish - *u.start}));
    } else if (u.start && u.finish) {
      CA_TRY(record_unit_build(m_db, run.id, index));
    }
  }
  run.new_units.clear();
  return inserted;
}

Result<void> EventStore::flush_lines(RunCache& run) {
  run.stored.reset();
  if (run.pending.empty()) {
    return {};
  }
  CA_TRY(insert_block(m_db, run.id, run.pending, k_append_level));
  if (m_spare.size() < k_spare_blocks) {
    run.pending.positions.clear();
    run.pending.text.clear();
    run.pending.ends.clear();
    m_spare.push_back(std::move(run.pending));
  }
  run.pending = RawBlock{};
  CA_TRY_ASSIGN(Statement * s,
                m_db.prepare_cached("UPDATE runs SET raw_last = ?2, raw_hash = ?3 WHERE id = ?1"));
  auto g = s->bind(run.id, run.raw_last, static_cast<int64_t>(run.raw_hash));
  return s->run();
}

Result<void> EventStore::apply_event(const v1::Event& e, RunCache& run, RunDelta& d) {
  ++d.events;
  d.last_event_ns = std::max(d.last_event_ns, e.timestamp_unix_ns());

  auto set_unit_time = [&](std::optional<double> PendingUnit::*field, const char* sql,
                           uint32_t index, double elapsed) -> Result<void> {
    d.last_elapsed = std::max(d.last_elapsed, elapsed);
    if (auto it = run.new_units.find(index); it != run.new_units.end()) {
      it->second.*field = elapsed;
      return {};
    }
    CA_TRY_ASSIGN(Statement * s, m_db.prepare_cached(sql));
    auto g = s->bind(run.id, index, elapsed);
    return s->run();
  };

  switch (e.payload_case()) {
  case v1::Event::kBuildStarted: {
    const auto& b = e.build_started();
    nlohmann::json argv = nlohmann::json::array();
    for (const auto& a : b.command()) {
      argv.push_back(a);
    }
    CA_TRY_ASSIGN(Statement * s, m_db.prepare_cached(
                                     "UPDATE runs SET workspace_root = ?2, cwd = ?3, command = ?4, "
                                     "profile = ?5, target_dir = ?6, rustc_version = ?7, "
                                     "host = ?8, jobs = ?9 WHERE id = ?1"));
    auto g = s->bind(run.id, b.workspace_root(), b.cwd(),
                     argv.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     b.profile(), b.target_dir(), b.rustc_version(), b.host(), b.jobs());
    CA_TRY(s->run());
    run.workspace_root = b.workspace_root();
    break;
  }
  case v1::Event::kResolutionStarted:
    d.last_elapsed = std::max(d.last_elapsed, e.resolution_started().elapsed());
    break;
  case v1::Event::kResolutionFinished:
    d.last_elapsed = std::max(d.last_elapsed, e.resolution_finished().elapsed());
    break;
  case v1::Event::kUnitGraphStarted:
    d.last_elapsed = std::max(d.last_elapsed, e.unit_graph_started().elapsed());
    break;
  case v1::Event::kUnitGraphFinished:
    d.last_elapsed = std::max(d.last_elapsed, e.unit_graph_finished().elapsed());
    break;
  case v1::Event::kUnitRegistered: {
    const auto& u = e.unit_registered();
    PackageName pkg = parse_package_id(u.package_id());
    std::string features;
    for (const auto& f : u.features()) {
      if (!features.empty()) {
        features += ',';
      }
      features += f;
    }
    CA_TRY_ASSIGN(int64_t key, unit_key(u.package_id(), pkg.name, pkg.version, u.target().name(),
                                        u.target().kind(), u.mode(), u.platform(), features));
    // Written once at the end of the batch with what the batch says of it (see PendingUnit).
    PendingUnit& p = run.new_units[u.index()];
    p.key = key;
    p.package_id = u.package_id();
    p.name = pkg.name;
    p.version = pkg.version;
    p.target_name = u.target().name();
    p.target_kind = u.target().kind();
    p.mode = u.mode();
    p.requested = u.requested();
    p.dependencies = join_indices(u.dependencies());
    d.units_changed = true;
    break;
  }
  case v1::Event::kUnitFingerprint: {
    const auto& f = e.unit_fingerprint();
    std::optional<std::string> cause_kind;
    std::optional<std::string> cause_blob;
    if (f.has_cause()) {
      cause_kind = f.cause().dirty_reason();
      cause_blob = f.cause().SerializeAsString();
    }
    if (auto it = run.new_units.find(f.index()); it != run.new_units.end()) {
      it->second.fingerprint = status_name(f.status());
      it->second.cause_kind = std::move(cause_kind);
      it->second.cause = std::move(cause_blob);
    } else {
      CA_TRY_ASSIGN(Statement * s,
                    m_db.prepare_cached("UPDATE unit_rows SET fingerprint = ?3, cause_kind = ?4, "
                                        "cause = CAST(?5 AS BLOB) WHERE run = ?1 AND idx = ?2"));
      auto g = s->bind(run.id, f.index(), status_name(f.status()), cause_kind, cause_blob);
      CA_TRY(s->run());
    }
    switch (f.status()) {
    case v1::FINGERPRINT_STATUS_NEW:
      ++d.units_new;
      break;
    case v1::FINGERPRINT_STATUS_DIRTY:
      ++d.units_dirty;
      break;
    case v1::FINGERPRINT_STATUS_FRESH:
      ++d.units_fresh;
      break;
    default:
      break;
    }
    d.units_changed = true;
    break;
  }
  case v1::Event::kUnitStarted:
    CA_TRY(set_unit_time(&PendingUnit::start,
                         "UPDATE unit_rows SET start = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_started().index(), e.unit_started().elapsed()));
    ++d.units_started;
    break;
  case v1::Event::kUnitRmetaFinished:
    CA_TRY(set_unit_time(&PendingUnit::rmeta,
                         "UPDATE unit_rows SET rmeta = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_rmeta_finished().index(), e.unit_rmeta_finished().elapsed()));
    break;
  case v1::Event::kUnitFinished:
    CA_TRY(set_unit_time(&PendingUnit::finish,
                         "UPDATE unit_rows SET finish = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_finished().index(), e.unit_finished().elapsed()));
    if (!run.new_units.contains(e.unit_finished().index())) {
      CA_TRY(record_unit_build(m_db, run.id, e.unit_finished().index()));
    }
    ++d.units_finished;
    break;
  case v1::Event::kUnitSectionStarted:
    d.last_elapsed = std::max(d.last_elapsed, e.unit_section_started().elapsed());
    break;
  case v1::Event::kUnitSectionFinished:
    d.last_elapsed = std::max(d.last_elapsed, e.unit_section_finished().elapsed());
    break;
  case v1::Event::PAYLOAD_NOT_SET:
    break; // a reason this version does not know: kept raw only
  }
  return {};
}

Result<void> EventStore::flush_delta(int64_t run, const RunDelta& d) {
  if (d.events == 0) {
    return {};
  }
  // A run that gets events again after it was declared over is in progress again (a producer
  // resumed); its end is decided anew when it ends.
  CA_TRY_ASSIGN(Statement * s,
                m_db.prepare_cached(
                    "UPDATE runs SET units_total = units_total + ?2, units_new = units_new + ?3, "
                    "units_dirty = units_dirty + ?4, units_fresh = units_fresh + ?5, "
                    "units_started = units_started + ?6, units_finished = units_finished + ?7, "
                    "events = events + ?8, last_elapsed = MAX(last_elapsed, ?9), "
                    "last_event_ns = MAX(last_event_ns, ?10) WHERE id = ?1"));
  auto g = s->bind(run, d.units_total, d.units_new, d.units_dirty, d.units_fresh, d.units_started,
                   d.units_finished, d.events, d.last_elapsed, d.last_event_ns);
  return s->run();
}

Result<void> EventStore::propagate_session(const std::string& run_id) {
  // Every run below `run_id` (at any depth) takes its session: sessions are sticky.
  CA_TRY_ASSIGN(Statement * s,
                m_db.prepare_cached(
                    "WITH RECURSIVE below(id) AS ("
                    "  SELECT run_id FROM runs WHERE parent_run_id = ?1 "
                    "  UNION SELECT r.run_id FROM runs r JOIN below b ON r.parent_run_id = b.id) "
                    "UPDATE runs SET session_id = (SELECT session_id FROM runs WHERE run_id = ?1) "
                    "WHERE run_id IN (SELECT id FROM below) AND run_id != ?1"));
  auto g = s->bind(run_id);
  return s->run();
}

Result<void> EventStore::apply_facts(const RunFacts& f) {
  // A known parent decides the session; an unknown one (not stored yet) leaves the session as
  // given, and propagate_session() corrects it when the parent arrives.
  std::optional<std::string> session = f.session_id;
  if (f.parent_run_id && *f.parent_run_id != f.run_id) {
    CA_TRY_ASSIGN(Statement * p,
                  m_db.prepare_cached("SELECT session_id FROM runs WHERE run_id = ?1"));
    auto g = p->bind(*f.parent_run_id);
    CA_TRY_ASSIGN(bool row, p->step());
    if (row) {
      session = p->column_text(0);
    }
  }
  CA_TRY_ASSIGN(
      Statement * s,
      m_db.prepare_cached("UPDATE runs SET session_id = COALESCE(?2, session_id), "
                          "parent_run_id = COALESCE(?3, parent_run_id), link = COALESCE(?4, link), "
                          "pid = COALESCE(?5, pid), ppid = COALESCE(?6, ppid), "
                          "exit_code = COALESCE(?7, exit_code) WHERE run_id = ?1"));
  {
    std::optional<std::string> parent = f.parent_run_id;
    if (parent && *parent == f.run_id) {
      parent.reset(); // a run is never its own parent
    }
    auto g = s->bind(f.run_id, session, parent, f.link, f.pid, f.ppid, f.exit_code);
    CA_TRY(s->run());
  }
  if (session || f.parent_run_id) {
    CA_TRY(propagate_session(f.run_id));
  }
  bool already_ended = false;
  if (f.exit_code && !f.ended) {
    // An exit code that arrives after the run was declared over refines its state.
    CA_TRY_ASSIGN(Statement * q,
                  m_db.prepare_cached("SELECT state != 'in_progress' FROM runs WHERE run_id = ?1"));
    auto g = q->bind(f.run_id);
    CA_TRY_ASSIGN(bool row, q->step());
    already_ended = row && q->column_int(0) != 0;
  }
  if (!f.ended && !already_ended) {
    return {};
  }

  CA_TRY_ASSIGN(Statement * q, m_db.prepare_cached("SELECT events, units_started, units_finished, "
                                                   "exit_code, start_unix_ms, last_elapsed, "
                                                   "state FROM runs WHERE run_id = ?1"));
  std::string state;
  int64_t end_ms = 0;
  {
    auto g = q->bind(f.run_id);
    CA_TRY_ASSIGN(bool row, q->step());
    if (!row) {
      return {};
    }
    std::optional<int> exit_code;
    if (!q->column_is_null(3)) {
      exit_code = static_cast<int>(q->column_int(3));
    }
    // A log that ended cut stays `interrupted` whatever we learn later.
    bool truncated = f.log_truncated || is_state(q->column_text_view(6), RunState::interrupted);
    state = final_state(truncated, q->column_int(0), q->column_int(1), q->column_int(2), exit_code);
    end_ms = q->column_int(4) + static_cast<int64_t>(q->column_double(5) * 1000.0);
  }
  CA_TRY_ASSIGN(
      Statement * u,
      m_db.prepare_cached("UPDATE runs SET state = ?2, end_unix_ms = ?3 WHERE run_id = ?1"));
  {
    auto g = u->bind(f.run_id, state, end_ms);
    CA_TRY(u->run());
  }
  // The run's log is complete: its blocks (one per commit while it streamed) become one, and
  // its cached row is dropped (a back-fill of 10,000 logs must not keep 10,000 of them); a line
  // that still comes for it reads the row again.
  if (auto it = m_runs.find(f.run_id); it != m_runs.end()) {
    CA_TRY(compact_blocks(m_db, it->second.id));
    m_runs.erase(it);
  }
  return {};
}

} // namespace ca::store
