#include "daemon/query/team_reports.hpp"

#include "daemon/query/run_selection.hpp"
#include "daemon/query/slowest_crates.hpp"
#include "daemon/query/trends.hpp"
#include "daemon/store/trend_index.hpp"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include <future>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace ca::query {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr uint32_t k_default_trends_limit = 10;

// `SELECT key..., argMax(c, exported_ms) AS c, ... FROM table [WHERE keys] GROUP BY key...`: one
// row per key, the newest export's, whatever ClickHouse has merged yet. `keys` narrows the rows
// read: a condition on the key, or units_having(); conditions that may differ between the rows
// of one key (machine, session, range) are applied after the dedupe, by the caller.
std::string dedup(const char* table,
                  const char* key,
                  std::initializer_list<const char*> columns,
                  const char* extra = "",
                  const std::string& keys = {}) {
  std::string sql = fmt::format("SELECT {}", key);
  for (const char* c : columns) {
    sql += fmt::format(", argMax({0}, exported_ms) AS {0}", c);
  }
  sql += extra;
  // Filtered in a subquery of its own: in this SELECT the aliases (`argMax(root, ..) AS root`)
  // would stand for the columns of the same name.
  sql += keys.empty() ? fmt::format(" FROM {}", table)
                      : fmt::format(" FROM (SELECT * FROM {} WHERE {})", table, keys);
  return sql + fmt::format(" GROUP BY {}", key);
}

// Only the unit rows that match `condition` (most of a run's units are fresh: no times, no
// cause), so the dedupe groups a few keys instead of every unit of every run. This assumes that
// a unit's rows differ only in `exported_ms`, as a resend's do (the exporter sends ended runs;
// `team push` folds the same log), so the newest matching row is the newest row. A run whose
// unit facts changed after it was exported (a unit no longer a root) would still be counted by
// its older row. Narrowing the keys exactly instead, `(run_id, unit_index) IN (keys having such
// a row)`, gave the same answers but took 3.2 s instead of 0.86 s for the slowest units over
// 100,000 runs (a tuple lookup per stored unit).
std::string units_having(const char* condition) {
  return condition;
}

// A unit's compile time (finish - start; NULL unless it started and finished).
constexpr const char* k_unit_secs =
    ", argMax(finish_secs, exported_ms) - argMax(start_secs, exported_ms) AS secs";

// ` AND machine = '...'` when one machine is asked for.
std::string machine_filter(const std::string& machine) {
  return machine.empty() ? std::string() : " AND machine = " + team::sql_quote(machine);
}

// ` AND <start> >= since AND <start> < until`, for the ends the range has.
std::string range_filter(const std::string& start, const TimeRange& range) {
  std::string out;
  if (range.since) {
    out += fmt::format(" AND {} >= {}", start, *range.since);
  }
  if (range.until) {
    out += fmt::format(" AND {} < {}", start, *range.until);
  }
  return out;
}

// Where the team's answer came from, for messages.
std::string team_context(const std::string& machine) {
  return machine.empty() ? " in the team's ClickHouse"
                         : " of machine `" + machine + "` in the team's ClickHouse";
}

// The SQL set of session ids in scope, for `session_id GLOBAL IN (...)`: sessions whose first
// run started in the range, the newest `last` of them (as RunReader::sessions_in_range() and
// recent_sessions() choose them); "" for the whole history.
std::string session_scope(const TimeRange& range, uint32_t last, const std::string& machine) {
  if (!range.bounded() && last == 0) {
    return {};
  }
  std::string sql =
      fmt::format("SELECT session_id FROM ({}) WHERE 1{} GROUP BY session_id HAVING 1{} "
                  "ORDER BY min(start_unix_ms) DESC, session_id DESC",
                  dedup("ca_runs", "run_id", {"session_id", "start_unix_ms", "machine"}),
                  machine_filter(machine), range_filter("min(start_unix_ms)", range));
  if (last > 0) {
    sql += fmt::format(" LIMIT {}", last);
  }
  return sql;
}

// The units of one run by index, as far as ClickHouse keeps them (no dependencies, no
// features): enough to name a unit in a rebuild cause.
Result<std::vector<store::StoredUnit>> team_units(const team::ClickHouseClient& ch,
                                                  const std::string& run_id) {
  CA_TRY_ASSIGN(
      auto found,
      ch.query_rows(fmt::format(
          "SELECT * FROM ({}) ORDER BY unit_index FORMAT JSONEachRow",
          dedup("ca_units", "run_id, unit_index",
                {"package_id", "name", "version", "target_name", "target_kind", "mode", "platform"},
                "", "run_id = " + team::sql_quote(run_id)))));
  std::vector<store::StoredUnit> out;
  out.reserve(found.size());
  for (const auto& j : found) {
    store::StoredUnit& u = out.emplace_back();
    u.index = team::json_number<uint32_t>(j, "unit_index");
    u.package_id = team::json_text(j, "package_id");
    u.name = team::json_text(j, "name");
    u.version = team::json_text(j, "version");
    u.target_name = team::json_text(j, "target_name");
    u.target_kind = team::json_text(j, "target_kind");
    u.mode = team::json_text(j, "mode");
    u.platform = team::json_text(j, "platform");
  }
  return out;
}

// The dirty root rebuilds in scope, grouped by unit and cause key like
// RunReader::trend_root_causes(). ClickHouse cannot compute our cause key, so it groups by the
// cause's JSON (finer: values and mtimes differ) and the groups of one key are merged here,
// keeping the newest example.
Result<std::vector<store::TrendRootCause>> team_root_causes(const team::ClickHouseClient& ch,
                                                            const std::string& where) {
  CA_TRY_ASSIGN(auto found,
                ch.query_rows(fmt::format(
                    "SELECT name, target_name, target_kind, mode, cause_kind, cause_json, "
                    "count() AS n, max(start_unix_ms) AS newest, "
                    "argMax(run_id, start_unix_ms) AS example_run_id, "
                    "argMax(unit_index, start_unix_ms) AS example_index, "
                    "argMax(package_id, start_unix_ms) AS package_id, "
                    "argMax(version, start_unix_ms) AS version FROM ({}) "
                    "WHERE root = 1 AND fingerprint = 'dirty'{} "
                    "GROUP BY name, target_name, target_kind, mode, cause_kind, cause_json "
                    "FORMAT JSONEachRow",
                    dedup("ca_units", "run_id, unit_index",
                          {"session_id", "machine", "start_unix_ms", "package_id", "name",
                           "version", "target_name", "target_kind", "mode", "fingerprint",
                           "cause_kind", "cause_json", "root"},
                          "", units_having("root = 1 AND fingerprint = 'dirty'")),
                    where)));
  struct Group {
    store::TrendRootCause cause;
    int64_t newest = std::numeric_limits<int64_t>::min();
  };
  std::map<std::string, Group> groups;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  for (const auto& j : found) {
    store::TrendRootCause c;
    c.name = team::json_text(j, "name");
    c.target_name = team::json_text(j, "target_name");
    c.target_kind = team::json_text(j, "target_kind");
    c.mode = team::json_text(j, "mode");
    c.package_id = team::json_text(j, "package_id");
    c.version = team::json_text(j, "version");
    c.cause_kind = team::json_text(j, "cause_kind");
    c.count = team::json_number<int64_t>(j, "n");
    c.example_run_id = team::json_text(j, "example_run_id");
    c.example_index = team::json_number<uint32_t>(j, "example_index");
    const std::string json = team::json_text(j, "cause_json");
    v1::DirtyReason reason;
    if (!json.empty() && google::protobuf::util::JsonStringToMessage(json, &reason, options).ok()) {
      c.cause_key = store::rebuild_cause_key(reason);
      reason.SerializeToString(&c.example_cause);
    }
    const int64_t newest = team::json_number<int64_t>(j, "newest");
    Group& g = groups[c.name + '\x1f' + c.target_name + '\x1f' + c.target_kind + '\x1f' + c.mode +
                      '\x1e' + c.cause_key];
    const int64_t count = g.cause.count + c.count;
    if (newest > g.newest) {
      g.cause = std::move(c);
      g.newest = newest;
    }
    g.cause.count = count;
  }
  std::vector<store::TrendRootCause> out;
  out.reserve(groups.size());
  std::set<std::string> example_runs;
  for (auto& [key, g] : groups) {
    example_runs.insert(g.cause.example_run_id);
    out.push_back(std::move(g.cause));
  }
  // The examples' workspace roots, for paths relative to them.
  if (!example_runs.empty()) {
    std::string in;
    for (const std::string& id : example_runs) {
      in += (in.empty() ? "" : ", ") + team::sql_quote(id);
    }
    CA_TRY_ASSIGN(auto roots,
                  ch.query_rows(fmt::format("SELECT run_id, argMax(workspace_root, "
                                            "exported_ms) AS workspace_root FROM ca_runs "
                                            "WHERE run_id IN ({}) GROUP BY run_id "
                                            "FORMAT JSONEachRow",
                                            in)));
    std::map<std::string, std::string> root_of;
    for (const auto& j : roots) {
      root_of[team::json_text(j, "run_id")] = team::json_text(j, "workspace_root");
    }
    for (store::TrendRootCause& c : out) {
      c.example_workspace_root = root_of[c.example_run_id];
    }
  }
  return out;
}

} // namespace

Result<v1::TrendsResponse> team_trends(const team::ClickHouseClient& ch,
                                       const v1::TrendsRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  if (!req.packages().empty()) {
    return unexpected(ErrorCode::invalid_argument,
                      "team trends cannot be filtered by package yet (leave out -p/--package)");
  }
  const uint32_t limit = req.limit() == 0 ? k_default_trends_limit : req.limit();
  std::string where = machine_filter(req.machine());
  if (std::string scope = session_scope(range, req.last(), req.machine()); !scope.empty()) {
    where += " AND session_id GLOBAL IN (" + scope + ")";
  }

  // Slowest units: as RunReader::trend_unit_times(), the unit's newest package id and version
  // being those of its slowest build.
  const std::string times_sql =
      fmt::format("SELECT name, target_name, target_kind, mode, "
                  "argMax(package_id, secs) AS package_id, "
                  "argMax(version, secs) AS version, count() AS n, sum(secs) AS total, "
                  "max(secs) AS longest FROM ({}) WHERE isNotNull(secs){} "
                  "GROUP BY name, target_name, target_kind, mode "
                  "ORDER BY total / n DESC, name, target_name, target_kind, mode "
                  "LIMIT {} FORMAT JSONEachRow",
                  dedup("ca_units", "run_id, unit_index",
                        {"session_id", "machine", "package_id", "name", "version", "target_name",
                         "target_kind", "mode"},
                        k_unit_secs, units_having("isNotNull(finish_secs)")),
                  where, limit);
  // The three reads are independent: asked at once, the server works on the units while the
  // runs are parsed here.
  const std::string runs_sql =
      fmt::format("SELECT run_id, session_id, parent_run_id, state, command, "
                  "start_unix_ms, duration_secs FROM ({}) WHERE 1{} "
                  "ORDER BY start_unix_ms, run_id FORMAT JSONEachRow",
                  dedup("ca_runs", "run_id",
                        {"session_id", "parent_run_id", "state", "command", "start_unix_ms",
                         "duration_secs", "machine"}),
                  where);
  auto runs_read = std::async(std::launch::async, [&] { return ch.query_rows(runs_sql); });
  auto times_read = std::async(std::launch::async, [&] { return ch.query_rows(times_sql); });
  auto causes_read = std::async(std::launch::async, [&] { return team_root_causes(ch, where); });

  TrendInputs in;
  CA_TRY_ASSIGN(auto runs, runs_read.get());
  in.runs.reserve(runs.size());
  for (const auto& j : runs) {
    store::TrendRun& r = in.runs.emplace_back();
    r.run_id = team::json_text(j, "run_id");
    r.session_id = team::json_text(j, "session_id");
    r.parent_run_id = team::json_text(j, "parent_run_id");
    r.state = team::json_text(j, "state");
    if (auto it = j.find("command"); it != j.end() && it->is_array()) {
      r.command = it->dump(); // as the store keeps it: argv as a JSON array
    }
    r.start_unix_ms = team::json_number<int64_t>(j, "start_unix_ms");
    r.duration_secs = team::json_number<double>(j, "duration_secs");
  }
  if (in.runs.empty()) {
    return unexpected(ErrorCode::not_found,
                      "no sessions found" + team_context(req.machine()) + range.suffix());
  }

  CA_TRY_ASSIGN(auto times, times_read.get());
  for (const auto& j : times) {
    store::TrendUnitTime& t = in.unit_times.emplace_back();
    t.name = team::json_text(j, "name");
    t.target_name = team::json_text(j, "target_name");
    t.target_kind = team::json_text(j, "target_kind");
    t.mode = team::json_text(j, "mode");
    t.package_id = team::json_text(j, "package_id");
    t.version = team::json_text(j, "version");
    t.builds = team::json_number<int64_t>(j, "n");
    t.total_secs = team::json_number<double>(j, "total");
    t.max_secs = team::json_number<double>(j, "longest");
  }

  CA_TRY_ASSIGN(in.root_causes, causes_read.get());
  CA_TRY_ASSIGN(v1::TrendsResponse out,
                assemble_trends(in, limit, [&ch](const std::string& run_id) {
                  return team_units(ch, run_id);
                }));
  out.set_team(true);
  out.set_machine(req.machine());
  return out;
}

Result<v1::SlowestCratesResponse> team_slowest_crates(const team::ClickHouseClient& ch,
                                                      const v1::SlowestCratesRequest& req) {
  CA_TRY_ASSIGN(auto range, TimeRange::of(req));
  const std::string where = range_filter("start_unix_ms", range) + machine_filter(req.machine());
  // Asked at once with the count of runs.
  const std::string crates_sql =
      fmt::format("SELECT package_id, any(name) AS name, any(version) AS version, "
                  "uniqExact(run_id) AS runs, count() AS compiles, sum(secs) AS total, "
                  "groupUniqArray(machine) AS machines FROM ({}) "
                  "WHERE isNotNull(secs){} GROUP BY package_id FORMAT JSONEachRow",
                  dedup("ca_units", "run_id, unit_index",
                        {"start_unix_ms", "machine", "package_id", "name", "version"}, k_unit_secs,
                        units_having("isNotNull(finish_secs)")),
                  where);
  auto crates_read = std::async(std::launch::async, [&] { return ch.query_rows(crates_sql); });
  CA_TRY_ASSIGN(
      auto counted,
      ch.query_rows(fmt::format("SELECT count() AS n FROM ({}) WHERE 1{} FORMAT JSONEachRow",
                                dedup("ca_runs", "run_id", {"start_unix_ms", "machine"}), where)));
  const uint64_t runs = counted.empty() ? 0 : team::json_number<uint64_t>(counted.front(), "n");
  if (runs == 0) {
    return unexpected(ErrorCode::not_found,
                      "no runs found" + team_context(req.machine()) + range.suffix());
  }
  CA_TRY_ASSIGN(auto found, crates_read.get());
  std::vector<store::CrateTotal> crates;
  crates.reserve(found.size());
  for (const auto& j : found) {
    store::CrateTotal& c = crates.emplace_back();
    c.package_id = team::json_text(j, "package_id");
    c.name = team::json_text(j, "name");
    c.version = team::json_text(j, "version");
    c.runs = team::json_number<uint64_t>(j, "runs");
    c.compiles = team::json_number<uint64_t>(j, "compiles");
    c.total_secs = team::json_number<double>(j, "total");
    if (auto it = j.find("machines"); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        if (m.is_string()) {
          c.machines.push_back(m.get<std::string>());
        }
      }
    }
  }
  auto resp = rank_slowest_crates(std::move(crates), runs, req.limit());
  resp.set_team(true);
  resp.set_machine(req.machine());
  return resp;
}

} // namespace ca::query
