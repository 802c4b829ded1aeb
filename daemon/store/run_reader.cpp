#include "daemon/store/run_reader.hpp"

#include "daemon/store/dict_codec.hpp"
#include "shared/run_id.hpp"

#include <google/protobuf/arena.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace ca::store {

namespace v1 = cargo_analysis::v1;

namespace {

// The columns every RunSummary query selects, in the order fill_summary() reads them.
constexpr const char* k_run_columns =
    "run_id, session_id, parent_run_id, link, state, start_unix_ms, last_elapsed, command, "
    "workspace_root, cwd, profile, target_dir, rustc_version, jobs, units_new, units_dirty, "
    "units_fresh, units_total, units_finished, exit_code, pid, ppid, events, end_unix_ms";

std::vector<std::string> parse_argv(std::string_view json) {
  std::vector<std::string> argv;
  if (json.empty()) {
    return argv;
  }
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_array()) {
    for (const auto& a : j) {
      if (a.is_string()) {
        argv.push_back(a.get<std::string>());
      }
    }
  }
  return argv;
}

void fill_summary(const Statement& s, v1::RunSummary& r) {
  r.set_run_id(s.column_text(0));
  r.set_session_id(s.column_text(1));
  r.set_parent_run_id(s.column_text(2));
  r.set_link(s.column_text(3));
  r.set_state(s.column_text(4));
  r.set_start_unix_ms(s.column_int(5));
  r.set_start_time(format_rfc3339_ms(s.column_int(5)));
  r.set_duration_secs(s.column_double(6));
  std::vector<std::string> argv = parse_argv(s.column_text_view(7));
  for (const auto& a : argv) {
    r.add_command(a);
  }
  r.set_command_line(display_command(argv));
  r.set_workspace_root(s.column_text(8));
  r.set_cwd(s.column_text(9));
  r.set_profile(s.column_text(10));
  r.set_target_dir(s.column_text(11));
  r.set_rustc_version(s.column_text(12));
  r.set_jobs(static_cast<uint32_t>(s.column_int(13)));
  r.set_units_new(static_cast<uint32_t>(s.column_int(14)));
  r.set_units_dirty(static_cast<uint32_t>(s.column_int(15)));
  r.set_units_fresh(static_cast<uint32_t>(s.column_int(16)));
  r.set_units_total(static_cast<uint32_t>(s.column_int(17)));
  r.set_units_finished(static_cast<uint32_t>(s.column_int(18)));
  if (!s.column_is_null(19)) {
    r.set_exit_code(static_cast<int32_t>(s.column_int(19)));
  }
  r.set_pid(static_cast<uint32_t>(s.column_int(20)));
  r.set_ppid(static_cast<uint32_t>(s.column_int(21)));
  r.set_events(static_cast<uint64_t>(s.column_int(22)));
}

// Column 0 of every row `s` (bound) yields, as text.
Result<std::vector<std::string>> first_column_texts(Statement& s) {
  std::vector<std::string> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s.step());
    if (!row) {
      break;
    }
    out.push_back(s.column_text(0));
  }
  return out;
}

} // namespace

Result<std::unique_ptr<RunReader>> RunReader::open(const std::filesystem::path& db_path) {
  CA_TRY_ASSIGN(auto db, Database::open(db_path, Database::Mode::read_only));
  return std::unique_ptr<RunReader>(new RunReader(std::move(db)));
}

Result<std::vector<v1::RunSummary>> RunReader::runs_where(const char* where,
                                                          const std::string& arg) {
  std::string sql = std::string("SELECT ") + k_run_columns + " FROM runs WHERE " + where;
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached(sql));
  auto g = s->bind(arg);
  std::vector<v1::RunSummary> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    fill_summary(*s, out.emplace_back());
  }
  return out;
}

Result<v1::RunSummary> RunReader::run(const std::string& run_id) {
  CA_TRY_ASSIGN(auto runs, runs_where("run_id = ?1", run_id));
  if (runs.empty()) {
    return unexpected(ErrorCode::not_found, "session `" + run_id + "` not found");
  }
  return std::move(runs.front());
}

Result<std::vector<v1::RunSummary>> RunReader::session_runs(const std::string& session_id) {
  return runs_where("session_id = ?1 ORDER BY start_unix_ms, run_id", session_id);
}

Result<std::vector<std::string>> RunReader::recent_sessions(const std::string& workspace_root,
                                                            size_t limit) {
  // A session's place in time is its first run's. A workspace's sessions are those with a run
  // of it, nested ones included: a workspace built only from another's build script has its
  // runs listed by cargo's `report sessions` too. (A session can also have several top-level
  // runs: `exec -- sh -c 'cargo build; cargo test'`.)
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT session_id, MIN(start_unix_ms) AS first_start "
                                     "FROM runs GROUP BY session_id "
                                     "HAVING ?1 = '' OR MAX(workspace_root = ?1) "
                                     "ORDER BY first_start DESC, session_id DESC LIMIT ?2"));
  auto g = s->bind(workspace_root, static_cast<int64_t>(limit));
  return first_column_texts(*s);
}

Result<std::string> RunReader::newest_run(const std::string& workspace_root) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached(
                                   "SELECT run_id FROM runs WHERE (?1 = '' OR workspace_root = ?1) "
                                   "ORDER BY start_unix_ms DESC, run_id DESC LIMIT 1"));
  auto g = s->bind(workspace_root);
  CA_TRY_ASSIGN(bool row, s->step());
  if (!row) {
    return unexpected(ErrorCode::not_found, "no sessions found");
  }
  return s->column_text(0);
}

Result<std::string> RunReader::workspace_containing(const std::filesystem::path& dir) {
  // Try `dir` and each ancestor, deepest first: one indexed lookup per path component.
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT 1 FROM runs WHERE workspace_root = ?1 LIMIT 1"));
  for (std::filesystem::path p = dir.lexically_normal(); !p.empty();) {
    std::string text = p.string();
    if (text.size() > 1 && text.back() == '/') {
      text.pop_back();
    }
    {
      auto g = s->bind(text);
      CA_TRY_ASSIGN(bool row, s->step());
      if (row) {
        return text;
      }
    }
    auto parent = p.parent_path();
    if (parent == p) {
      break;
    }
    p = parent;
  }
  return std::string();
}

Result<RawBlock> RunReader::raw_lines(const std::string& run_id) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached("SELECT id FROM runs WHERE run_id = ?1"));
  int64_t id = 0;
  {
    auto g = s->bind(run_id);
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      return unexpected(ErrorCode::not_found, "no stored run " + run_id);
    }
    id = s->column_int(0);
  }
  RawBlock out;
  CA_TRY(read_blocks(*m_db, id, out));
  return out;
}

Result<std::vector<v1::Event>> RunReader::events(const std::string& run_id) {
  auto lines = raw_lines(run_id);
  if (!lines) {
    if (lines.error().code == ErrorCode::not_found) {
      return std::vector<v1::Event>();
    }
    return unexpected(lines.error());
  }
  std::vector<v1::Event> out;
  out.reserve(lines->size());
  for (size_t i = 0; i < lines->size(); ++i) {
    if (!m_decoder.decode(lines->line(i), out.emplace_back())) {
      out.pop_back();
    }
  }
  return out;
}

namespace {

// The value of a line's top-level "reason" as cargo writes it (`"reason":"unit-started"`), to
// skip the lines a report does not read without decoding them; "" if not found that way (the
// line is then decoded and filtered by its decoded reason).
std::string_view quick_reason(std::string_view line) {
  constexpr std::string_view key = "\"reason\":\"";
  size_t at = line.find(key);
  if (at == std::string_view::npos) {
    return {};
  }
  size_t begin = at + key.size();
  size_t end = line.find('"', begin);
  if (end == std::string_view::npos) {
    return {};
  }
  return line.substr(begin, end - begin);
}

} // namespace

Result<RunReader::ArenaEvents> RunReader::events(const std::string& run_id,
                                                 google::protobuf::Arena& arena,
                                                 std::span<const std::string_view> reasons,
                                                 const std::atomic<bool>* cancel) {
  ArenaEvents out;
  auto lines = raw_lines(run_id);
  if (!lines) {
    if (lines.error().code == ErrorCode::not_found) {
      return out;
    }
    return unexpected(lines.error());
  }
  out.stored = lines->size();
  auto wanted = [&](std::string_view reason) {
    return reasons.empty() || std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
  };
  for (size_t i = 0; i < lines->size(); ++i) {
    if (cancel != nullptr && i % 1024 == 1023 && cancel->load(std::memory_order_relaxed)) {
      return unexpected(ErrorCode::unavailable, "reading run " + run_id + ": cancelled");
    }
    std::string_view line = lines->line(i);
    std::string_view reason = quick_reason(line);
    if (!reason.empty() && !wanted(reason)) {
      continue;
    }
    auto* e = google::protobuf::Arena::CreateMessage<v1::Event>(&arena);
    if (m_decoder.decode(line, *e) && wanted(e->reason())) {
      out.events.push_back(e);
    }
  }
  return out;
}

Result<std::optional<std::string>>
RunReader::stored_report(const v1::RunSummary& run, int kind, int format) {
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT p.body, p.codec, p.dict FROM run_reports p "
                                     "JOIN runs r ON r.id = p.run "
                                     "WHERE r.run_id = ?1 AND p.kind = ?2 AND p.format = ?3 "
                                     "AND p.events = ?4 AND p.state = ?5"));
  auto g = s->bind(run.run_id(), kind, format, run.events(), run.state());
  CA_TRY_ASSIGN(bool row, s->step());
  if (!row) {
    return std::optional<std::string>();
  }
  if (s->column_int(1) == 0) {
    return std::optional<std::string>(std::string(s->column_blob_view(0)));
  }
  CA_TRY_ASSIGN(std::string body, unpack(*m_db, s->column_int(2), s->column_blob_view(0),
                                         "stored report of run " + run.run_id()));
  return std::optional<std::string>(std::move(body));
}

Result<std::vector<std::string>> RunReader::runs_without_reports(int kinds, int format) {
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT r.run_id FROM runs r WHERE r.state != 'in_progress' "
                                     "AND (SELECT COUNT(*) FROM run_reports p WHERE p.run = r.id "
                                     "AND p.format = ?2 AND p.events = r.events "
                                     "AND p.state = r.state) < ?1 "
                                     "ORDER BY r.start_unix_ms DESC, r.run_id DESC"));
  auto g = s->bind(kinds, format);
  return first_column_texts(*s);
}

Result<StoreCounts> RunReader::counts() {
  StoreCounts c;
  CA_TRY_ASSIGN(
      Statement * s,
      m_db->prepare_cached("SELECT COALESCE(SUM(events), 0), COUNT(*), COUNT(DISTINCT session_id), "
                           "COALESCE(SUM(state = 'in_progress'), 0) FROM runs"));
  auto g = s->bind();
  CA_TRY_ASSIGN(bool row, s->step());
  if (row) {
    c.events = static_cast<uint64_t>(s->column_int(0));
    c.runs = static_cast<uint64_t>(s->column_int(1));
    c.sessions = static_cast<uint64_t>(s->column_int(2));
    c.runs_in_progress = static_cast<uint64_t>(s->column_int(3));
  }
  return c;
}

Result<std::vector<WatchedFile>> RunReader::watched_files() {
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT s.path, s.inode, s.offset, COALESCE(s.run_id, ''), "
                                     "COALESCE(r.state, ''), s.line FROM sources s "
                                     "LEFT JOIN runs r ON r.run_id = s.run_id"));
  auto g = s->bind();
  std::vector<WatchedFile> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    WatchedFile& f = out.emplace_back();
    f.path = s->column_text(0);
    f.inode = static_cast<uint64_t>(s->column_int(1));
    f.offset = static_cast<uint64_t>(s->column_int(2));
    f.run_id = s->column_text(3);
    f.run_state = s->column_text(4);
    f.line = static_cast<uint64_t>(s->column_int(5));
  }
  return out;
}

namespace {

// The scope's sessions as a JSON array for `json_each(?)`, or NULL for the whole history.
std::optional<std::string> sessions_param(const TrendScope& scope) {
  if (!scope.sessions) {
    return std::nullopt;
  }
  return nlohmann::json(*scope.sessions).dump();
}

std::vector<uint32_t> split_indices(std::string_view text) {
  std::vector<uint32_t> out;
  uint32_t value = 0;
  bool digits = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      value = value * 10 + static_cast<uint32_t>(c - '0');
      digits = true;
    } else {
      if (digits) {
        out.push_back(value);
      }
      value = 0;
      digits = false;
    }
  }
  if (digits) {
    out.push_back(value);
  }
  return out;
}

std::optional<double> column_optional_double(const Statement& s, int col) {
  if (s.column_is_null(col)) {
    return std::nullopt;
  }
  return s.column_double(col);
}

// The unit columns fill_unit() reads, from `units u`, starting at column `first`.
constexpr const char* k_unit_columns =
    "u.idx, u.package_id, u.name, u.version, u.target_name, u.target_kind, u.mode, "
    "COALESCE(u.platform, ''), u.dependencies, COALESCE(u.fingerprint, ''), "
    "CASE WHEN u.fingerprint IN ('new', 'dirty') THEN u.cause END, u.start, u.rmeta, u.finish, "
    "u.root, u.features";

std::vector<std::string> split_features(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

void fill_unit(const Statement& s, int first, StoredUnit& u) {
  u.index = static_cast<uint32_t>(s.column_int(first));
  u.package_id = s.column_text(first + 1);
  u.name = s.column_text(first + 2);
  u.version = s.column_text(first + 3);
  u.target_name = s.column_text(first + 4);
  u.target_kind = s.column_text(first + 5);
  u.mode = s.column_text(first + 6);
  u.platform = s.column_text(first + 7);
  u.dependencies = split_indices(s.column_text_view(first + 8));
  u.fingerprint = s.column_text(first + 9);
  u.cause = s.column_text(first + 10);
  u.start = column_optional_double(s, first + 11);
  u.rmeta = column_optional_double(s, first + 12);
  u.finish = column_optional_double(s, first + 13);
  u.root = s.column_int(first + 14) != 0;
  u.features_known = !s.column_is_null(first + 15);
  u.features = split_features(s.column_text_view(first + 15));
}

// The run columns fill_run_config() reads, from `runs r`, as columns 0 to 6.
constexpr const char* k_run_config_columns =
    "r.run_id, r.session_id, COALESCE(r.command, ''), r.start_unix_ms, COALESCE(r.profile, ''), "
    "COALESCE(r.target_dir, ''), COALESCE(r.rustc_version, '')";
constexpr int k_run_config_count = 7;

void fill_run_config(const Statement& s, RunConfig& r) {
  r.run_id = s.column_text(0);
  r.session_id = s.column_text(1);
  r.command = s.column_text(2);
  r.command_line = display_command(parse_argv(r.command));
  r.start_unix_ms = s.column_int(3);
  r.profile = s.column_text(4);
  r.target_dir = s.column_text(5);
  r.rustc_version = s.column_text(6);
}

Result<std::vector<RunUnit>> run_units(Statement& s) {
  std::vector<RunUnit> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s.step());
    if (!row) {
      break;
    }
    RunUnit& ru = out.emplace_back();
    if (out.size() > 1 && out[out.size() - 2].run.run_id == s.column_text_view(0)) {
      ru.run = out[out.size() - 2].run;
    } else {
      fill_run_config(s, ru.run);
    }
    fill_unit(s, k_run_config_count, ru.unit);
  }
  return out;
}

} // namespace

Result<std::vector<StoredUnit>> RunReader::units(const std::string& run_id) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached(std::string("SELECT ") + k_unit_columns +
                                                    " FROM runs r JOIN units u ON u.run = r.id "
                                                    "WHERE r.run_id = ?1 ORDER BY u.idx"));
  auto g = s->bind(run_id);
  std::vector<StoredUnit> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    fill_unit(*s, 0, out.emplace_back());
  }
  return out;
}

Result<std::vector<RunUnit>> RunReader::earlier_builds(const std::string& workspace_root,
                                                       const std::string& name,
                                                       const std::string& target_name,
                                                       const std::string& target_kind,
                                                       int64_t before_unix_ms,
                                                       const std::string& before_run_id) {
  // unit_keys_by_target gives the target's rows across the history; the newest earlier run of the
  // workspace among them is found first, then its units of that target.
  CA_TRY_ASSIGN(
      Statement * newest,
      m_db->prepare_cached("SELECT r.id FROM units u JOIN runs r ON r.id = u.run "
                           "WHERE u.name = ?1 AND u.target_name = ?2 AND u.target_kind = ?3 "
                           "AND r.workspace_root = ?4 AND (r.start_unix_ms < ?5 OR "
                           "(r.start_unix_ms = ?5 AND r.run_id < ?6)) "
                           "ORDER BY r.start_unix_ms DESC, r.run_id DESC LIMIT 1"));
  int64_t run = 0;
  {
    auto g =
        newest->bind(name, target_name, target_kind, workspace_root, before_unix_ms, before_run_id);
    CA_TRY_ASSIGN(bool row, newest->step());
    if (!row) {
      return std::vector<RunUnit>();
    }
    run = newest->column_int(0);
  }
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached(std::string("SELECT ") + k_run_config_columns + ", " +
                                     k_unit_columns +
                                     " FROM units u JOIN runs r ON r.id = u.run "
                                     "WHERE u.run = ?1 AND u.name = ?2 AND u.target_name = ?3 "
                                     "AND u.target_kind = ?4 ORDER BY u.idx"));
  auto g = s->bind(run, name, target_name, target_kind);
  return run_units(*s);
}

namespace {

// The newest `last` runs of a workspace (all when 0), as a subquery on parameters ?1 and ?2.
constexpr const char* k_recent_runs =
    "SELECT id FROM runs WHERE workspace_root = ?1 "
    "ORDER BY start_unix_ms DESC, run_id DESC LIMIT CASE WHEN ?2 > 0 THEN ?2 ELSE -1 END";

} // namespace

Result<std::vector<RunConfig>> RunReader::recent_runs(const std::string& workspace_root,
                                                      size_t last_runs) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached(std::string("SELECT ") + k_run_config_columns +
                                                    " FROM runs r WHERE r.id IN (" + k_recent_runs +
                                                    ") ORDER BY r.start_unix_ms, r.run_id"));
  auto g = s->bind(workspace_root, static_cast<int64_t>(last_runs));
  std::vector<RunConfig> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    fill_run_config(*s, out.emplace_back());
  }
  return out;
}

Result<std::vector<RunUnit>> RunReader::recent_units(const std::string& workspace_root,
                                                     size_t last_runs) {
  CA_TRY_ASSIGN(
      Statement * s,
      m_db->prepare_cached(std::string("SELECT ") + k_run_config_columns + ", " + k_unit_columns +
                           " FROM runs r JOIN units u ON u.run = r.id WHERE r.id IN (" +
                           k_recent_runs + ") ORDER BY r.start_unix_ms, r.run_id, u.idx"));
  auto g = s->bind(workspace_root, static_cast<int64_t>(last_runs));
  return run_units(*s);
}

Result<std::vector<TrendRun>> RunReader::trend_runs(const TrendScope& scope) {
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached(
                    "SELECT run_id, session_id, COALESCE(parent_run_id, ''), state, "
                    "COALESCE(command, ''), start_unix_ms, last_elapsed FROM runs "
                    "WHERE (?1 = '' OR workspace_root = ?1) AND (?2 IS NULL OR session_id IN "
                    "(SELECT value FROM json_each(?2))) ORDER BY start_unix_ms, run_id"));
  auto g = s->bind(scope.workspace_root, sessions_param(scope));
  std::vector<TrendRun> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    TrendRun& r = out.emplace_back();
    r.run_id = s->column_text(0);
    r.session_id = s->column_text(1);
    r.parent_run_id = s->column_text(2);
    r.state = s->column_text(3);
    r.command = s->column_text(4);
    r.start_unix_ms = s->column_int(5);
    r.duration_secs = s->column_double(6);
  }
  return out;
}

Result<std::vector<TrendUnitTime>> RunReader::trend_unit_times(const TrendScope& scope,
                                                               size_t limit) {
  // The whole history comes from the per-workspace totals kept at ingest; across workspaces,
  // package id and version are those of one of them.
  constexpr const char* k_history =
      "SELECT name, target_name, target_kind, mode, package_id, version, SUM(builds) AS n, "
      "SUM(total_secs) AS total, MAX(max_secs) FROM unit_trends "
      "WHERE (?1 = '' OR workspace_root = ?1) AND ?2 IS NULL "
      "GROUP BY name, target_name, target_kind, mode "
      "ORDER BY total / n DESC, name, target_name, target_kind, mode LIMIT ?3";
  constexpr const char* k_sessions =
      "SELECT u.name, u.target_name, u.target_kind, u.mode, u.package_id, u.version, "
      "COUNT(*) AS n, SUM(u.finish - u.start) AS total, MAX(u.finish - u.start) "
      "FROM runs r JOIN units u ON u.run = r.id "
      "WHERE (?1 = '' OR r.workspace_root = ?1) "
      "AND r.session_id IN (SELECT value FROM json_each(?2)) "
      "AND u.start IS NOT NULL AND u.finish IS NOT NULL "
      "GROUP BY u.name, u.target_name, u.target_kind, u.mode "
      "ORDER BY total / n DESC, u.name, u.target_name, u.target_kind, u.mode LIMIT ?3";
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached(scope.sessions ? k_sessions : k_history));
  auto g = s->bind(scope.workspace_root, sessions_param(scope), static_cast<int64_t>(limit));
  std::vector<TrendUnitTime> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    TrendUnitTime& t = out.emplace_back();
    t.name = s->column_text(0);
    t.target_name = s->column_text(1);
    t.target_kind = s->column_text(2);
    t.mode = s->column_text(3);
    t.package_id = s->column_text(4);
    t.version = s->column_text(5);
    t.builds = s->column_int(6);
    t.total_secs = s->column_double(7);
    t.max_secs = s->column_double(8);
  }
  return out;
}

Result<std::vector<TrendRootCause>> RunReader::trend_root_causes(const TrendScope& scope) {
  // MAX() as the only min/max aggregate makes SQLite take the other columns (the example) from
  // the newest row of each group. The partial index units_dirty_roots holds just these rows.
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached(
                    "SELECT u.name, u.target_name, u.target_kind, u.mode, u.package_id, "
                    "u.version, COALESCE(u.cause_key, ''), COALESCE(u.cause_kind, ''), COUNT(*), "
                    "MAX(r.start_unix_ms), r.run_id, u.idx, u.cause, "
                    "COALESCE(r.workspace_root, '') "
                    "FROM units u JOIN runs r ON r.id = u.run "
                    "WHERE u.root = 1 AND u.fingerprint = 'dirty' "
                    "AND (?1 = '' OR r.workspace_root = ?1) AND (?2 IS NULL OR r.session_id IN "
                    "(SELECT value FROM json_each(?2))) "
                    "GROUP BY u.name, u.target_name, u.target_kind, u.mode, u.cause_key"));
  auto g = s->bind(scope.workspace_root, sessions_param(scope));
  std::vector<TrendRootCause> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    TrendRootCause& c = out.emplace_back();
    c.name = s->column_text(0);
    c.target_name = s->column_text(1);
    c.target_kind = s->column_text(2);
    c.mode = s->column_text(3);
    c.package_id = s->column_text(4);
    c.version = s->column_text(5);
    c.cause_key = s->column_text(6);
    c.cause_kind = s->column_text(7);
    c.count = s->column_int(8);
    c.example_run_id = s->column_text(10);
    c.example_index = static_cast<uint32_t>(s->column_int(11));
    c.example_cause = s->column_text(12);
    c.example_workspace_root = s->column_text(13);
  }
  return out;
}

ReaderPool::Lease::~Lease() {
  if (m_reader && m_pool != nullptr) {
    std::lock_guard lock(m_pool->m_mutex);
    m_pool->m_idle.push_back(std::move(m_reader));
  }
}

Result<ReaderPool::Lease> ReaderPool::lease() {
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      auto r = std::move(m_idle.back());
      m_idle.pop_back();
      return Lease(*this, std::move(r));
    }
  }
  CA_TRY_ASSIGN(auto reader, RunReader::open(m_path));
  return Lease(*this, std::move(reader));
}

} // namespace ca::store
