#include "shared/team/team_schema.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <charconv>
#include <ctime>

namespace ca::team {
namespace {

// The columns of each table, after its key. Column names follow the proto field names of
// RunSummary and UnitRef where there is one.
constexpr const char* k_runs_columns = R"sql(
  run_id String, session_id String, parent_run_id String, link String, state String,
  start_unix_ms Int64, start_date Date, duration_secs Float64, command Array(String),
  command_line String, workspace_root String, profile String, target_dir String,
  rustc_version String, jobs UInt32, units_total UInt32, units_new UInt32, units_dirty UInt32,
  units_fresh UInt32, units_finished UInt32, events UInt64, exit_code Nullable(Int32),
  host String, machine String, exported_ms UInt64)sql";
constexpr const char* k_units_columns = R"sql(
  run_id String, unit_index UInt32, session_id String, start_unix_ms Int64, start_date Date,
  host String, machine String, package_id String, name String, version String,
  target_name String, target_kind String, mode String, platform String, fingerprint String,
  cause_kind String, cause_json String, root UInt8, start_secs Nullable(Float64),
  rmeta_secs Nullable(Float64), finish_secs Nullable(Float64), exported_ms UInt64)sql";

std::string merge_tree_ddl(const std::string& table, const char* columns, const char* key) {
  return fmt::format("CREATE TABLE IF NOT EXISTS {} ({}) ENGINE = ReplacingMergeTree(exported_ms) "
                     "PARTITION BY toYYYYMM(start_date) ORDER BY {}",
                     table, columns, key);
}

std::string distributed_ddl(const std::string& table,
                            const char* columns,
                            const std::string& cluster,
                            const std::string& database,
                            const std::string& local) {
  return fmt::format("CREATE TABLE IF NOT EXISTS {} ({}) ENGINE = Distributed({}, {}, {}, "
                     "cityHash64(run_id))",
                     table, columns, sql_quote(cluster), sql_quote(database), local);
}

// YYYY-MM-DD (UTC) of a time in milliseconds since the epoch.
std::string utc_date(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

} // namespace

Result<uint32_t> check_schema(const ClickHouseClient& ch) {
  CA_TRY_ASSIGN(std::string exists,
                ch.query("SELECT count() FROM system.tables WHERE database = currentDatabase() "
                         "AND name = 'ca_schema'"));
  if (exists.empty() || exists[0] == '0') {
    return unexpected(ErrorCode::failed_precondition,
                      fmt::format("ClickHouse at {} has no cargo-analysis tables (create them "
                                  "with: cargo-analysis-client team init --url URL)",
                                  ch.url().text));
  }
  CA_TRY_ASSIGN(std::string text, ch.query("SELECT max(version) FROM ca_schema"));
  uint32_t version = 0;
  std::from_chars(text.data(), text.data() + text.size(), version);
  if (version > k_team_schema_version) {
    return unexpected(ErrorCode::failed_precondition,
                      fmt::format("ClickHouse at {} has team schema version {}, newer than this "
                                  "cargo-analysis's {} (upgrade cargo-analysis on this machine)",
                                  ch.url().text, version, k_team_schema_version));
  }
  if (version == 0) {
    return unexpected(ErrorCode::failed_precondition,
                      fmt::format("ClickHouse at {} has an empty ca_schema table (run: "
                                  "cargo-analysis-client team init --url URL)",
                                  ch.url().text));
  }
  return version;
}

Result<void> init_schema(const ClickHouseClient& ch, const std::string& cluster) {
  auto existing = check_schema(ch);
  if (!existing && existing.error().message.find("newer") != std::string::npos) {
    return unexpected(existing.error());
  }
  if (!existing && existing.error().code == ErrorCode::unavailable) {
    return unexpected(existing.error());
  }
  CA_TRY(ch.query("CREATE TABLE IF NOT EXISTS ca_schema (version UInt32, created_ms UInt64) "
                  "ENGINE = Log"));
  const std::string& db = ch.url().database;
  if (cluster.empty()) {
    CA_TRY(ch.query(merge_tree_ddl("ca_runs", k_runs_columns, "run_id")));
    CA_TRY(ch.query(merge_tree_ddl("ca_units", k_units_columns, "(run_id, unit_index)")));
  } else {
    CA_TRY(ch.query(merge_tree_ddl("ca_runs_local", k_runs_columns, "run_id")));
    CA_TRY(ch.query(merge_tree_ddl("ca_units_local", k_units_columns, "(run_id, unit_index)")));
    CA_TRY(ch.query(distributed_ddl("ca_runs", k_runs_columns, cluster, db, "ca_runs_local")));
    CA_TRY(ch.query(distributed_ddl("ca_units", k_units_columns, cluster, db, "ca_units_local")));
  }
  if (!existing || *existing < k_team_schema_version) {
    CA_TRY(ch.query(fmt::format("INSERT INTO ca_schema VALUES ({}, {})", k_team_schema_version,
                                static_cast<uint64_t>(std::time(nullptr)) * 1000)));
  }
  return {};
}

Result<void>
send_runs(const ClickHouseClient& ch, std::span<const TeamRun> runs, int64_t exported_ms) {
  if (runs.empty()) {
    return {};
  }
  std::string units;
  std::string rows;
  for (const TeamRun& r : runs) {
    const std::string date = utc_date(r.start_unix_ms);
    for (const TeamUnit& u : r.units) {
      nlohmann::json j = {{"run_id", r.run_id},
                          {"unit_index", u.index},
                          {"session_id", r.session_id},
                          {"start_unix_ms", r.start_unix_ms},
                          {"start_date", date},
                          {"host", r.host},
                          {"machine", r.machine},
                          {"package_id", u.package_id},
                          {"name", u.name},
                          {"version", u.version},
                          {"target_name", u.target_name},
                          {"target_kind", u.target_kind},
                          {"mode", u.mode},
                          {"platform", u.platform},
                          {"fingerprint", u.fingerprint},
                          {"cause_kind", u.cause_kind},
                          {"cause_json", u.cause_json},
                          {"root", u.root ? 1 : 0},
                          {"start_secs", optional_number(u.start)},
                          {"rmeta_secs", optional_number(u.rmeta)},
                          {"finish_secs", optional_number(u.finish)},
                          {"exported_ms", exported_ms}};
      units += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      units += '\n';
    }
    nlohmann::json j = {{"run_id", r.run_id},
                        {"session_id", r.session_id},
                        {"parent_run_id", r.parent_run_id},
                        {"link", r.link},
                        {"state", r.state},
                        {"start_unix_ms", r.start_unix_ms},
                        {"start_date", date},
                        {"duration_secs", r.duration_secs},
                        {"command", r.command},
                        {"command_line", r.command_line},
                        {"workspace_root", r.workspace_root},
                        {"profile", r.profile},
                        {"target_dir", r.target_dir},
                        {"rustc_version", r.rustc_version},
                        {"jobs", r.jobs},
                        {"units_total", r.units_total},
                        {"units_new", r.units_new},
                        {"units_dirty", r.units_dirty},
                        {"units_fresh", r.units_fresh},
                        {"units_finished", r.units_finished},
                        {"events", r.events},
                        {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nullptr},
                        {"host", r.host},
                        {"machine", r.machine},
                        {"exported_ms", exported_ms}};
    rows += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    rows += '\n';
  }
  // Rows of a Distributed table are sent to their shard before the INSERT returns, so that a
  // 200 means stored (by default it would only be queued on the server we talk to).
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"insert_distributed_sync", "1"}};
  if (!units.empty()) {
    CA_TRY(ch.query("INSERT INTO ca_units FORMAT JSONEachRow", units, settings));
  }
  CA_TRY(ch.query("INSERT INTO ca_runs FORMAT JSONEachRow", rows, settings));
  return {};
}

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    return {};
  }
  return buf;
}

} // namespace ca::team
