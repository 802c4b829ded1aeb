// The ClickHouse side of team export: the tables, their schema version, and the rows we send.
//
// Tables (in the URL's database):
//   ca_schema  (version UInt32)                       one row per `team init`; max = version
//   ca_runs    one row per ended run, ReplacingMergeTree(exported_ms) ORDER BY run_id
//   ca_units   one row per unit of a run, ReplacingMergeTree(exported_ms) ORDER BY (run_id,
//              unit_index)
// A run sent twice (a resend after a lost acknowledgement, `team push` of a log a daemon also
// exported) has the same sort key, so ClickHouse keeps one row: at once for every query we make
// (they group by the key and take the newest `exported_ms` with argMax), and on disk after its
// background merges. With `--cluster C`, ca_runs/ca_units are Distributed tables over C's shards,
// sharded by cityHash64(run_id) (every row of a run on one shard, so the dedupe holds), over local
// tables ca_runs_local/ca_units_local.
//
// ClickHouse 18.16 (Debian 12) is the oldest server we support: no DateTime64, so times are
// Int64 milliseconds since the Unix epoch and Float64 seconds.
#pragma once

#include "shared/error.hpp"
#include "shared/team/clickhouse_client.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ca::team {

// The version of the tables this binary writes and reads.
inline constexpr uint32_t k_team_schema_version = 1;

// Creates the tables (IF NOT EXISTS) and records the version. With `cluster`, creates the local
// tables and the Distributed tables over that cluster on this server (run it against each
// shard's server). Fails with failed_precondition if the server has a newer schema (nothing is
// changed then), or with the server's error.
Result<void> init_schema(const ClickHouseClient& ch, const std::string& cluster);

// The server's schema version: failed_precondition when the tables are missing ("run team init")
// or newer than k_team_schema_version, unavailable when the server cannot be reached.
Result<uint32_t> check_schema(const ClickHouseClient& ch);

// One unit of an exported run.
struct TeamUnit {
  uint32_t index = 0;
  std::string package_id;
  std::string name;
  std::string version;
  std::string target_name;
  std::string target_kind;
  std::string mode;
  std::string platform;
  std::string fingerprint; // new, dirty, fresh, or ""
  std::string cause_kind;  // DirtyReason.dirty_reason, "" if not rebuilt for a reason
  std::string cause_json;  // the DirtyReason as proto JSON, "" if none
  bool root = false;
  std::optional<double> start; // seconds since the run's start
  std::optional<double> rmeta;
  std::optional<double> finish;
};

// One ended run as exported.
struct TeamRun {
  std::string run_id;
  std::string session_id;
  std::string parent_run_id;
  std::string link;
  std::string state;
  int64_t start_unix_ms = 0;
  double duration_secs = 0;
  std::vector<std::string> command;
  std::string command_line;
  std::string workspace_root;
  std::string profile;
  std::string target_dir;
  std::string rustc_version;
  uint32_t jobs = 0;
  uint32_t units_total = 0;
  uint32_t units_new = 0;
  uint32_t units_dirty = 0;
  uint32_t units_fresh = 0;
  uint32_t units_finished = 0;
  uint64_t events = 0;
  std::optional<int32_t> exit_code;
  std::string host;    // the machine's host name
  std::string machine; // the `team.machine` label ("" = the host name)
  std::vector<TeamUnit> units;
};

// Sends `runs` (units first, then the runs, each as one INSERT ... FORMAT JSONEachRow) with
// `exported_ms` as their version. All or nothing from our side: on any error the caller resends
// them all, which the tables dedupe.
Result<void>
send_runs(const ClickHouseClient& ch, std::span<const TeamRun> runs, int64_t exported_ms);

// The host name (gethostname), "" if unknown.
std::string local_host_name();

} // namespace ca::team
