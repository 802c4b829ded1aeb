#include "daemon/export/team_exporter.hpp"

#include "shared/run_id.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace ca::export_ {
namespace {

namespace v1 = cargo_analysis::v1;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

team::TeamUnit to_team_unit(const store::StoredUnit& u) {
  team::TeamUnit t;
  t.index = u.index;
  t.package_id = u.package_id;
  t.name = u.name;
  t.version = u.version;
  t.target_name = u.target_name;
  t.target_kind = u.target_kind;
  t.mode = u.mode;
  t.platform = u.platform;
  t.fingerprint = u.fingerprint;
  t.root = u.root;
  t.start = u.start;
  t.rmeta = u.rmeta;
  t.finish = u.finish;
  if (!u.cause.empty()) {
    v1::DirtyReason reason;
    if (reason.ParseFromString(u.cause)) {
      t.cause_kind = reason.dirty_reason();
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(reason, &t.cause_json, options);
    }
  }
  return t;
}

team::TeamRun to_team_run(const v1::RunSummary& s,
                          std::vector<store::StoredUnit> units,
                          const std::string& host,
                          const std::string& machine) {
  team::TeamRun r;
  r.run_id = s.run_id();
  r.session_id = s.session_id();
  r.parent_run_id = s.parent_run_id();
  r.link = s.link();
  r.state = s.state();
  r.start_unix_ms = s.start_unix_ms();
  r.duration_secs = s.duration_secs();
  r.command.assign(s.command().begin(), s.command().end());
  r.command_line = s.command_line();
  r.workspace_root = s.workspace_root();
  r.profile = s.profile();
  r.target_dir = s.target_dir();
  r.rustc_version = s.rustc_version();
  r.jobs = s.jobs();
  r.units_total = s.units_total();
  r.units_new = s.units_new();
  r.units_dirty = s.units_dirty();
  r.units_fresh = s.units_fresh();
  r.units_finished = s.units_finished();
  r.events = s.events();
  if (s.has_exit_code()) {
    r.exit_code = s.exit_code();
  }
  r.host = host;
  r.machine = machine;
  r.units.reserve(units.size());
  for (const store::StoredUnit& u : units) {
    r.units.push_back(to_team_unit(u));
  }
  return r;
}

// Deduplicated runs: the newest exported row of each run id (see team_schema.hpp).
constexpr const char* k_dedup_runs = R"sql(
  SELECT run_id, argMax(session_id, exported_ms) AS session_id,
    argMax(parent_run_id, exported_ms) AS parent_run_id, argMax(link, exported_ms) AS link,
    argMax(state, exported_ms) AS state, argMax(start_unix_ms, exported_ms) AS start_unix_ms,
    argMax(duration_secs, exported_ms) AS duration_secs, argMax(command, exported_ms) AS command,
    argMax(command_line, exported_ms) AS command_line,
    argMax(workspace_root, exported_ms) AS workspace_root, argMax(profile, exported_ms) AS profile,
    argMax(target_dir, exported_ms) AS target_dir,
    argMax(rustc_version, exported_ms) AS rustc_version, argMax(jobs, exported_ms) AS jobs,
    argMax(units_total, exported_ms) AS units_total, argMax(units_new, exported_ms) AS units_new,
    argMax(units_dirty, exported_ms) AS units_dirty, argMax(units_fresh, exported_ms) AS units_fresh,
    argMax(units_finished, exported_ms) AS units_finished, argMax(events, exported_ms) AS events,
    argMax(exit_code, exported_ms) AS exit_code, argMax(host, exported_ms) AS host,
    argMax(machine, exported_ms) AS machine
  FROM ca_runs GROUP BY run_id)sql";

v1::RunSummary run_from_row(const nlohmann::json& j) {
  v1::RunSummary r;
  r.set_run_id(team::json_text(j, "run_id"));
  r.set_session_id(team::json_text(j, "session_id"));
  r.set_parent_run_id(team::json_text(j, "parent_run_id"));
  r.set_link(team::json_text(j, "link"));
  r.set_state(team::json_text(j, "state"));
  r.set_start_unix_ms(team::json_number<int64_t>(j, "start_unix_ms"));
  r.set_start_time(format_rfc3339_ms(r.start_unix_ms()));
  r.set_duration_secs(team::json_number<double>(j, "duration_secs"));
  if (auto it = j.find("command"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) {
        r.add_command(a.get<std::string>());
      }
    }
  }
  r.set_command_line(team::json_text(j, "command_line"));
  r.set_workspace_root(team::json_text(j, "workspace_root"));
  r.set_profile(team::json_text(j, "profile"));
  r.set_target_dir(team::json_text(j, "target_dir"));
  r.set_rustc_version(team::json_text(j, "rustc_version"));
  r.set_jobs(team::json_number<uint32_t>(j, "jobs"));
  r.set_units_total(team::json_number<uint32_t>(j, "units_total"));
  r.set_units_new(team::json_number<uint32_t>(j, "units_new"));
  r.set_units_dirty(team::json_number<uint32_t>(j, "units_dirty"));
  r.set_units_fresh(team::json_number<uint32_t>(j, "units_fresh"));
  r.set_units_finished(team::json_number<uint32_t>(j, "units_finished"));
  r.set_events(team::json_number<uint64_t>(j, "events"));
  if (auto it = j.find("exit_code"); it != j.end() && it->is_number()) {
    r.set_exit_code(it->get<int32_t>());
  }
  r.set_host(team::json_text(j, "host"));
  r.set_machine(team::json_text(j, "machine"));
  return r;
}

// The runs of one session in tree order (pre-order, siblings by start), with depths, as the
// local report orders them. Runs whose parent is not in the session hang from the root.
void add_tree(v1::Session& session, std::vector<v1::RunSummary> runs) {
  std::sort(runs.begin(), runs.end(), [](const auto& a, const auto& b) {
    return a.start_unix_ms() != b.start_unix_ms() ? a.start_unix_ms() < b.start_unix_ms()
                                                  : a.run_id() < b.run_id();
  });
  std::map<std::string, std::vector<size_t>> children;
  std::vector<size_t> roots;
  std::map<std::string, size_t> by_id;
  for (size_t i = 0; i < runs.size(); ++i) {
    by_id[runs[i].run_id()] = i;
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& p = runs[i].parent_run_id();
    if (!p.empty() && by_id.count(p) > 0 && p != runs[i].run_id()) {
      children[p].push_back(i);
    } else {
      roots.push_back(i);
    }
  }
  std::vector<std::pair<size_t, uint32_t>> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) {
    stack.emplace_back(*it, 0);
  }
  std::vector<bool> seen(runs.size(), false);
  while (!stack.empty()) {
    auto [i, depth] = stack.back();
    stack.pop_back();
    if (seen[i]) {
      continue;
    }
    seen[i] = true;
    runs[i].set_depth(depth);
    const auto& kids = children[runs[i].run_id()];
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      stack.emplace_back(*it, depth + 1);
    }
    *session.add_runs() = runs[i];
  }
}

} // namespace

TeamExporter::TeamExporter(Options options, store::ReaderPool& readers, store::Writer& writer)
    : m_options(std::move(options)), m_host(team::local_host_name()), m_readers(readers),
      m_writer(writer), m_client(m_options.url) {
  if (m_options.machine.empty()) {
    m_options.machine = m_host;
  }
}

TeamExporter::~TeamExporter() {
  stop();
}

Result<void> TeamExporter::start() {
  auto enabled = m_writer.run_exclusive<bool>([](store::Database& db) -> Result<bool> {
    CA_TRY_ASSIGN(store::Statement * s,
                  db.prepare_cached("INSERT OR IGNORE INTO team_export(id, since_ms) "
                                    "VALUES (1, ?1)"));
    auto g = s->bind(now_ms());
    CA_TRY(s->run());
    return s->changes() > 0;
  });
  CA_TRY_ASSIGN(bool switched_on, enabled.get());
  CA_TRY_ASSIGN(m_outbox_db,
                store::Database::open(m_options.db_path, store::Database::Mode::read_only));
  CA_TRY_ASSIGN(m_status_db,
                store::Database::open(m_options.db_path, store::Database::Mode::read_only));
  CA_TRY_ASSIGN(uint64_t queued, backlog());
  spdlog::info("team export to {} as machine `{}`{}: {} runs queued", m_client.url().text,
               m_options.machine, switched_on ? " (switched on now)" : "", queued);
  m_thread = std::thread([this] { run(); });
  return {};
}

void TeamExporter::notify() {
  std::lock_guard lock(m_mutex);
  m_woken = true;
  if (m_failures == 0) {
    m_cv.notify_all();
  }
}

void TeamExporter::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
    m_cv.notify_all();
  }
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

Result<uint64_t> TeamExporter::backlog() {
  std::lock_guard lock(m_status_db_mutex);
  if (!m_status_db) {
    return uint64_t{0};
  }
  CA_TRY_ASSIGN(int64_t n, m_status_db->query_int("SELECT COUNT(*) FROM team_outbox"));
  return static_cast<uint64_t>(n);
}

v1::TeamStatus TeamExporter::status() {
  v1::TeamStatus s;
  s.set_url(m_client.url().text);
  s.set_machine(m_options.machine);
  auto b = backlog();
  {
    std::lock_guard lock(m_mutex);
    s.set_runs_sent(m_runs_sent);
    s.set_units_sent(m_units_sent);
    s.set_last_error(m_last_error);
    if (m_last_error_ms != 0) {
      s.set_last_error_time(format_rfc3339_ms(m_last_error_ms));
    }
    if (m_last_success_ms != 0) {
      s.set_last_success_time(format_rfc3339_ms(m_last_success_ms));
    }
    s.set_consecutive_failures(m_failures);
  }
  if (b) {
    s.set_backlog(*b);
  } else if (s.last_error().empty()) {
    s.set_last_error("cannot count the outbox: " + b.error().message);
  }
  return s;
}

Result<size_t> TeamExporter::send_batch() {
  std::vector<std::string> ids;
  {
    CA_TRY_ASSIGN(store::Statement * q,
                  m_outbox_db->prepare_cached(
                      "SELECT run_id FROM team_outbox ORDER BY queued_ms, run_id LIMIT ?1"));
    auto g = q->bind(static_cast<int64_t>(m_options.batch_runs));
    for (;;) {
      CA_TRY_ASSIGN(bool row, q->step());
      if (!row) {
        break;
      }
      ids.push_back(q->column_text(0));
    }
  }
  if (ids.empty()) {
    return size_t{0};
  }
  std::vector<team::TeamRun> runs;
  runs.reserve(ids.size());
  {
    CA_TRY_ASSIGN(auto reader, m_readers.lease());
    for (const std::string& id : ids) {
      auto summary = reader->run(id);
      if (!summary) {
        if (summary.error().code == ErrorCode::not_found) {
          continue; // deleted by retention since: nothing to send, the row goes below
        }
        return unexpected(summary.error());
      }
      CA_TRY_ASSIGN(auto units, reader->units(id));
      runs.push_back(to_team_run(*summary, std::move(units), m_host, m_options.machine));
    }
  }
  auto sent = [&]() -> Result<void> {
    if (!m_schema_checked) {
      CA_TRY(team::check_schema(m_client));
      m_schema_checked = true;
    }
    return team::send_runs(m_client, runs, now_ms());
  }();
  if (!sent) {
    m_schema_checked = false; // the server may have been replaced meanwhile
    std::string error = sent.error().message;
    (void)m_writer
        .run_exclusive<bool>([ids, error](store::Database& db) -> Result<bool> {
          CA_TRY_ASSIGN(store::Statement * u,
                        db.prepare_cached("UPDATE team_outbox SET attempts = attempts + 1, "
                                          "last_error = ?2 WHERE run_id = ?1"));
          for (const std::string& id : ids) {
            auto g = u->bind(id, error);
            CA_TRY(u->run());
          }
          return true;
        })
        .get();
    return unexpected(sent.error());
  }
  // Acknowledged: only now do the runs leave the outbox.
  auto deleted =
      m_writer
          .run_exclusive<bool>([ids](store::Database& db) -> Result<bool> {
            store::Transaction tx(db);
            if (!tx.ok()) {
              return unexpected(tx.begin_error());
            }
            CA_TRY_ASSIGN(store::Statement * d,
                          db.prepare_cached("DELETE FROM team_outbox WHERE run_id = ?1"));
            for (const std::string& id : ids) {
              auto g = d->bind(id);
              CA_TRY(d->run());
            }
            CA_TRY(tx.commit());
            return true;
          })
          .get();
  if (!deleted) {
    // Sent but still queued: they will be sent again, and deduplicated by ClickHouse.
    spdlog::error("team export: cannot dequeue {} sent runs: {}", ids.size(),
                  deleted.error().message);
  }
  size_t units = 0;
  for (const auto& r : runs) {
    units += r.units.size();
  }
  std::lock_guard lock(m_mutex);
  m_runs_sent += runs.size();
  m_units_sent += units;
  return ids.size();
}

void TeamExporter::run() {
  for (;;) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stop) {
        return;
      }
      m_woken = false;
    }
    auto r = send_batch();
    std::unique_lock lock(m_mutex);
    if (r && *r > 0) {
      if (m_failures > 0) {
        spdlog::info("team export: sending again after {} failed attempts", m_failures);
      }
      m_failures = 0;
      m_last_error.clear();
      m_last_success_ms = now_ms();
      continue; // more may be queued
    }
    if (r) {
      // Nothing queued: wait for a run to end (and look again now and then, in case one ended
      // before we were told).
      m_failures = 0;
      m_cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_stop || m_woken; });
      continue;
    }
    ++m_failures;
    if (m_last_error != r.error().message) {
      spdlog::warn("team export: {}", r.error().message);
    }
    m_last_error = r.error().message;
    m_last_error_ms = now_ms();
    auto backoff =
        std::min(std::chrono::milliseconds(250LL << std::min<uint32_t>(m_failures - 1, 16)),
                 m_options.max_backoff);
    m_cv.wait_for(lock, backoff, [&] { return m_stop; });
  }
}

Result<v1::ListSessionsResponse> TeamExporter::sessions(const v1::ListSessionsRequest& req) {
  const uint32_t limit = req.limit() == 0 ? 10 : req.limit();
  std::string where =
      req.machine().empty() ? "" : " WHERE machine = " + team::sql_quote(req.machine());
  CA_TRY_ASSIGN(auto id_rows, m_client.query_rows(
                                  fmt::format("SELECT session_id, min(start_unix_ms) AS first FROM "
                                              "({}){} GROUP BY session_id ORDER BY first DESC, "
                                              "session_id LIMIT {} FORMAT JSONEachRow",
                                              k_dedup_runs, where, limit + 1)));
  v1::ListSessionsResponse resp;
  if (id_rows.size() > limit) {
    resp.set_truncated(true);
    id_rows.resize(limit);
  }
  if (id_rows.empty()) {
    return resp;
  }
  std::string in;
  for (const auto& j : id_rows) {
    in += (in.empty() ? "" : ", ") + team::sql_quote(team::json_text(j, "session_id"));
  }
  CA_TRY_ASSIGN(auto run_rows,
                m_client.query_rows(fmt::format("SELECT * FROM ({}) WHERE session_id IN ({}) "
                                                "FORMAT JSONEachRow",
                                                k_dedup_runs, in)));
  std::map<std::string, std::vector<v1::RunSummary>> by_session;
  for (const auto& j : run_rows) {
    v1::RunSummary r = run_from_row(j);
    by_session[r.session_id()].push_back(std::move(r));
  }
  for (const auto& j : id_rows) {
    std::string id = team::json_text(j, "session_id");
    v1::Session* s = resp.add_sessions();
    s->set_session_id(id);
    add_tree(*s, std::move(by_session[id]));
  }
  return resp;
}

Result<void> disable_team_export(store::Writer& writer) {
  auto done = writer
                  .run_exclusive<bool>([](store::Database& db) -> Result<bool> {
                    CA_TRY(db.exec("DELETE FROM team_export"));
                    return true;
                  })
                  .get();
  if (!done) {
    return unexpected(done.error());
  }
  return {};
}

} // namespace ca::export_
