#include "daemon/store/event_store.hpp"

#include "daemon/store/trend_index.hpp"
#include "shared/package_id.hpp"
#include "shared/run_id.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

namespace ca::store {

namespace v1 = cargo_analysis::v1;

uint64_t line_hash(std::string_view line) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : line) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string final_state(bool log_truncated,
                        int64_t events,
                        int64_t units_started,
                        int64_t units_finished,
                        std::optional<int> exit_code) {
  if (log_truncated || events == 0) {
    return "interrupted";
  }
  if (units_started > units_finished || (exit_code && *exit_code != 0)) {
    return "failed";
  }
  return "completed";
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
                m_db.prepare_cached("SELECT id, (SELECT COALESCE(MAX(seq) + 1, 0) FROM events "
                                    "WHERE run = runs.id) FROM runs WHERE run_id = ?1"));
  auto g = sel->bind(run_id);
  CA_TRY_ASSIGN(bool row, sel->step());
  if (!row) {
    return unexpected(ErrorCode::internal, "run " + run_id + " vanished after insert");
  }
  RunCache& c = m_runs[run_id];
  c.id = sel->column_int(0);
  c.next_seq = sel->column_int(1);
  return &c;
}

Result<BatchOutcome> EventStore::apply(const Batch& batch) {
  BatchOutcome out;
  out.event_inserted.reserve(batch.events.size());
  std::unordered_map<int64_t, RunDelta> deltas;
  for (const v1::Event& e : batch.events) {
    CA_TRY_ASSIGN(RunCache * run, run_row(e.run_id(), batch.source));
    RunDelta& d = deltas[run->id];
    CA_TRY_ASSIGN(bool inserted, apply_event(e, *run, d));
    out.event_inserted.push_back(inserted);
    if (inserted) {
      ++out.inserted;
    } else {
      ++out.duplicates;
    }
  }
  for (const auto& [run, d] : deltas) {
    CA_TRY(flush_delta(run, d));
    if (d.units_changed) {
      CA_TRY(refresh_root_rebuilds(m_db, run)); // once per run and batch: see trend_index.hpp
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
                                      "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
                                      "ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, "
                                      "offset = excluded.offset, run_id = excluded.run_id, "
                                      "updated_ms = excluded.updated_ms"));
    auto g = s->bind(cp.path, cp.inode, cp.offset, cp.run_id, now_ms());
    CA_TRY(s->run());
  }
  for (const StoredReport& r : batch.reports) {
    CA_TRY_ASSIGN(Statement * s,
                  m_db.prepare_cached("INSERT OR REPLACE INTO run_reports(run, kind, format, "
                                      "events, state, body) SELECT id, ?2, ?3, ?4, ?5, ?6 "
                                      "FROM runs WHERE run_id = ?1"));
    auto g = s->bind(r.run_id, r.kind, r.format, r.events, r.state, Blob{r.body});
    CA_TRY(s->run());
  }
  return out;
}

Result<bool> EventStore::apply_event(const v1::Event& e, RunCache& run, RunDelta& d) {
  {
    CA_TRY_ASSIGN(Statement * ins,
                  m_db.prepare_cached("INSERT OR IGNORE INTO events(run, seq, line_hash, reason, "
                                      "unix_ns, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    auto g = ins->bind(run.id, run.next_seq, static_cast<int64_t>(line_hash(e.raw())), e.reason(),
                       e.timestamp_unix_ns(), e.raw());
    CA_TRY(ins->run());
    if (ins->changes() == 0) {
      return false; // this line of this run is stored already
    }
  }
  ++run.next_seq;
  ++d.events;
  d.last_event_ns = std::max(d.last_event_ns, e.timestamp_unix_ns());

  auto set_unit_time = [&](const char* sql, uint32_t index, double elapsed) -> Result<void> {
    CA_TRY_ASSIGN(Statement * s, m_db.prepare_cached(sql));
    auto g = s->bind(run.id, index, elapsed);
    CA_TRY(s->run());
    d.last_elapsed = std::max(d.last_elapsed, elapsed);
    return {};
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
    CA_TRY_ASSIGN(Statement * s,
                  m_db.prepare_cached(
                      "INSERT OR IGNORE INTO units(run, idx, package_id, name, version, "
                      "target_name, target_kind, mode, platform, requested, dependencies, "
                      "features) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    auto g = s->bind(run.id, u.index(), u.package_id(), pkg.name, pkg.version, u.target().name(),
                     u.target().kind(), u.mode(), u.platform(), u.requested() ? 1 : 0,
                     join_indices(u.dependencies()), features);
    CA_TRY(s->run());
    d.units_total += s->changes();
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
    CA_TRY_ASSIGN(Statement * s,
                  m_db.prepare_cached("UPDATE units SET fingerprint = ?3, cause_kind = ?4, "
                                      "cause = CAST(?5 AS BLOB) WHERE run = ?1 AND idx = ?2"));
    auto g = s->bind(run.id, f.index(), status_name(f.status()), cause_kind, cause_blob);
    CA_TRY(s->run());
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
    CA_TRY(set_unit_time("UPDATE units SET start = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_started().index(), e.unit_started().elapsed()));
    ++d.units_started;
    break;
  case v1::Event::kUnitRmetaFinished:
    CA_TRY(set_unit_time("UPDATE units SET rmeta = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_rmeta_finished().index(), e.unit_rmeta_finished().elapsed()));
    break;
  case v1::Event::kUnitFinished:
    CA_TRY(set_unit_time("UPDATE units SET finish = ?3 WHERE run = ?1 AND idx = ?2",
                         e.unit_finished().index(), e.unit_finished().elapsed()));
    CA_TRY(record_unit_build(m_db, run.id, e.unit_finished().index()));
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
  return true;
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
    bool truncated = f.log_truncated || q->column_text_view(6) == "interrupted";
    state = final_state(truncated, q->column_int(0), q->column_int(1), q->column_int(2), exit_code);
    end_ms = q->column_int(4) + static_cast<int64_t>(q->column_double(5) * 1000.0);
  }
  CA_TRY_ASSIGN(
      Statement * u,
      m_db.prepare_cached("UPDATE runs SET state = ?2, end_unix_ms = ?3 WHERE run_id = ?1"));
  auto g = u->bind(f.run_id, state, end_ms);
  return u->run();
}

} // namespace ca::store
