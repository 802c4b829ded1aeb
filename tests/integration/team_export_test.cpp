// Team export to a real ClickHouse (#13): private `clickhouse-server` processes on free ports,
// real daemons, the real client. Skipped when clickhouse-server is not installed.
//
// What is checked: the corpus runs arrive with their units; a server killed while the daemon
// exports and started again, or a daemon killed with a backlog and started again, leaves every
// run in ClickHouse exactly once; `team push` sends logs without a daemon, and again without
// duplicates; `report sessions --team` answers from ClickHouse like the local report; a server
// with a newer schema is refused with a clear error and the outbox keeps every run; two servers
// as shards behind Distributed tables hold the runs of two machines, and the team report lists
// both machines' sessions.
#include "shared/team/clickhouse_client.hpp"
#include "tests/support/clickhouse_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

constexpr size_t k_corpus_a_runs = 10;

// Tests that need clickhouse-server: skipped, saying so, where it is not installed.
class NeedsClickHouse : public ::testing::Test {
protected:
  void SetUp() override {
    if (clickhouse_server_binary().empty()) {
      GTEST_SKIP() << "clickhouse-server is not installed (apt-get install clickhouse-server)";
    }
  }
};

uint64_t u64(const json& j, const char* field) {
  if (!j.contains(field)) {
    return 0;
  }
  const auto& v = j[field];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

json client_json(const DaemonProcess& d, const std::vector<std::string>& args) {
  auto r = d.client(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

team::ClickHouseClient ch_client(const ClickHouseServer& s) {
  return team::ClickHouseClient(*team::parse_clickhouse_url(s.url()), std::chrono::seconds(10));
}

// A number ClickHouse answers (TabSeparated), or -1 with a test failure.
int64_t ch_number(const ClickHouseServer& s, const std::string& sql) {
  auto r = ch_client(s).query(sql);
  EXPECT_TRUE(r) << sql << ": " << r.error().message;
  return r ? std::stoll(*r) : -1;
}

// Waits (up to `timeout`) until the daemon's team backlog is empty and `runs` runs were sent
// since it started; returns the last status' `team`.
json wait_for_export(const DaemonProcess& d,
                     uint64_t runs,
                     std::chrono::seconds timeout = std::chrono::seconds(60)) {
  json team;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto status = client_json(d, {"--no-spawn", "status", "--format", "json"});
    team = status["team"];
    if (u64(team, "backlog") == 0 && u64(team, "runs_sent") >= runs) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return team;
}

json team_status(const DaemonProcess& d) {
  return client_json(d, {"--no-spawn", "status", "--format", "json"})["team"];
}

std::set<std::string> session_run_ids(const json& sessions) {
  std::set<std::string> ids;
  for (const auto& s : sessions["sessions"]) {
    for (const auto& r : s["runs"]) {
      ids.insert(r["run_id"].get<std::string>());
    }
  }
  return ids;
}

std::vector<std::string> team_args(const ClickHouseServer& s, const std::string& machine) {
  return {"--no-watch", "--team-url", s.url(), "--team-machine", machine};
}

// Every run stored once: as many rows after FINAL as distinct run ids, and `runs` of them.
void expect_exactly_once(const ClickHouseServer& s, int64_t runs, int64_t units) {
  EXPECT_EQ(ch_number(s, "SELECT count() FROM ca_runs FINAL"), runs);
  EXPECT_EQ(ch_number(s, "SELECT uniqExact(run_id) FROM ca_runs"), runs);
  EXPECT_EQ(ch_number(s, "SELECT count() FROM ca_units FINAL"), units);
  EXPECT_EQ(ch_number(s, "SELECT uniqExact(run_id, unit_index) FROM ca_units"), units);
}

class TeamExport : public NeedsClickHouse {
protected:
  void SetUp() override {
    NeedsClickHouse::SetUp();
    if (IsSkipped()) {
      return;
    }
    m_ch = std::make_unique<ClickHouseServer>(m_dir / "ch");
    std::string why;
    ASSERT_TRUE(m_ch->start(std::chrono::seconds(30), &why)) << why;
    auto init = run_client(m_dir / "none", {"--no-spawn", "team", "init", "--url", m_ch->url()});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    EXPECT_NE(init.out.find("team tables ready"), std::string::npos) << init.out;
  }

  // The units of corpus A's runs as the local store has them.
  static int64_t local_units(const DaemonProcess& d) {
    auto j = client_json(d, {"report", "sessions", "--all", "--limit", "100", "--format", "json"});
    int64_t units = 0;
    for (const auto& s : j["sessions"]) {
      for (const auto& r : s["runs"]) {
        units += static_cast<int64_t>(u64(r, "units_total"));
      }
    }
    return units;
  }

  TempDir m_dir;
  std::unique_ptr<ClickHouseServer> m_ch;
};

TEST_F(TeamExport, CorpusRunsArriveWithTheirUnitsAndTheTeamReportMatchesTheLocalOne) {
  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  auto ingest = daemon.client({"ingest", fixture_path("corpus/A/logs").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  auto team = wait_for_export(daemon, k_corpus_a_runs);
  EXPECT_EQ(u64(team, "backlog"), 0u) << team.dump();
  EXPECT_EQ(u64(team, "runs_sent"), k_corpus_a_runs) << team.dump();
  EXPECT_EQ(team["machine"], "laptop-1");
  EXPECT_EQ(team["last_error"], "");
  const int64_t units = local_units(daemon);
  ASSERT_GT(units, 0);
  EXPECT_EQ(u64(team, "units_sent"), static_cast<uint64_t>(units));
  expect_exactly_once(*m_ch, k_corpus_a_runs, units);
  EXPECT_EQ(ch_number(*m_ch, "SELECT count() FROM ca_runs WHERE machine != 'laptop-1'"), 0);
  // Rebuild causes and times went along.
  EXPECT_GT(ch_number(*m_ch, "SELECT count() FROM ca_units FINAL WHERE fingerprint = 'dirty' "
                             "AND cause_kind != '' AND cause_json != ''"),
            0);
  EXPECT_GT(ch_number(*m_ch, "SELECT count() FROM ca_units FINAL WHERE finish_secs > 0"), 0);

  auto local =
      client_json(daemon, {"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  auto remote =
      client_json(daemon, {"report", "sessions", "--team", "--limit", "100", "--format", "json"});
  EXPECT_EQ(session_run_ids(remote), session_run_ids(local));
  ASSERT_EQ(remote["sessions"].size(), local["sessions"].size());
  // Same order (newest first) and same summaries, plus the machine.
  for (size_t i = 0; i < local["sessions"].size(); ++i) {
    const auto& l = local["sessions"][i]["runs"][0];
    const auto& r = remote["sessions"][i]["runs"][0];
    EXPECT_EQ(r["run_id"], l["run_id"]);
    EXPECT_EQ(r["state"], l["state"]);
    EXPECT_EQ(r["start_time"], l["start_time"]);
    EXPECT_EQ(r["units_dirty"], l["units_dirty"]);
    EXPECT_EQ(r["command_line"], l["command_line"]);
    EXPECT_EQ(r["machine"], "laptop-1");
  }
  auto human = daemon.client({"report", "sessions", "--team", "--machine", "laptop-1"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("machine:   laptop-1"), std::string::npos) << human.out;
  auto other = client_json(
      daemon, {"report", "sessions", "--team", "--machine", "nobody", "--format", "json"});
  EXPECT_EQ(other["sessions"].size(), 0u) << other.dump();
}

TEST_F(TeamExport, ServerKilledMidExportAndRestartedHoldsEveryRunOnce) {
  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  ASSERT_EQ(daemon.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
  m_ch->kill_hard(); // while the exporter may be sending
  ASSERT_EQ(daemon.client({"ingest", fixture_path("corpus/C/logs").string()}).exit_code, 0);
  // Down: the failure shows in status, and what is not acknowledged waits in the outbox.
  json team;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    team = team_status(daemon);
    if (!team["last_error"].get<std::string>().empty() && u64(team, "backlog") > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(u64(team, "backlog"), 0u) << team.dump();
  EXPECT_NE(team["last_error"].get<std::string>().find("cannot reach ClickHouse"),
            std::string::npos)
      << team.dump();
  auto human = daemon.client({"--no-spawn", "status"});
  EXPECT_NE(human.out.find("runs waiting"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("last error"), std::string::npos) << human.out;

  std::string why;
  ASSERT_TRUE(m_ch->start(std::chrono::seconds(30), &why)) << why;
  team = wait_for_export(daemon, k_corpus_a_runs + 1);
  EXPECT_EQ(u64(team, "backlog"), 0u) << team.dump();
  EXPECT_EQ(team["last_error"], "") << team.dump();
  expect_exactly_once(*m_ch, k_corpus_a_runs + 1, local_units(daemon));
}

TEST_F(TeamExport, DaemonKilledWithABacklogSendsItAfterRestartOnce) {
  const std::string url = m_ch->url();
  m_ch->stop(); // the server is away while the runs end
  int64_t units = 0;
  {
    DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
    ASSERT_TRUE(daemon.start());
    ASSERT_EQ(daemon.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
    auto team = team_status(daemon);
    EXPECT_EQ(u64(team, "backlog"), k_corpus_a_runs) << team.dump();
    EXPECT_EQ(u64(team, "runs_sent"), 0u) << team.dump();
    units = local_units(daemon);
    daemon.kill_hard();
  }
  std::string why;
  ASSERT_TRUE(m_ch->start(std::chrono::seconds(30), &why)) << why;
  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  auto team = wait_for_export(daemon, k_corpus_a_runs);
  EXPECT_EQ(u64(team, "backlog"), 0u) << team.dump();
  EXPECT_EQ(u64(team, "runs_sent"), k_corpus_a_runs) << team.dump();
  expect_exactly_once(*m_ch, k_corpus_a_runs, units);
}

TEST_F(TeamExport, PushSendsLogsWithoutADaemonAndAgainWithoutDuplicates) {
  const auto logs = fixture_path("corpus/A/logs").string();
  auto push = run_client(m_dir / "none", {"--no-spawn", "team", "push", "--url", m_ch->url(),
                                          "--machine", "ci-7", logs});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find("pushed 10 runs"), std::string::npos) << push.out;
  const int64_t units = ch_number(*m_ch, "SELECT count() FROM ca_units");
  EXPECT_GT(units, 0);
  push = run_client(m_dir / "none", {"--no-spawn", "team", "push", "--url", m_ch->url(),
                                     "--machine", "ci-7", logs});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  expect_exactly_once(*m_ch, k_corpus_a_runs, units);

  // The same runs through a daemon: same units, and the report lists each run once.
  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  ASSERT_EQ(daemon.client({"ingest", logs}).exit_code, 0);
  wait_for_export(daemon, k_corpus_a_runs);
  EXPECT_EQ(local_units(daemon), units);
  expect_exactly_once(*m_ch, k_corpus_a_runs, units);
  auto ci =
      client_json(daemon, {"report", "sessions", "--team", "--limit", "100", "--format", "json"});
  EXPECT_EQ(session_run_ids(ci).size(), k_corpus_a_runs);
}

TEST_F(TeamExport, ANewerServerSchemaIsRefusedAndNothingIsLostLocally) {
  ASSERT_TRUE(ch_client(*m_ch).query("INSERT INTO ca_schema VALUES (99, 0)"));
  auto init = run_client(m_dir / "none", {"--no-spawn", "team", "init", "--url", m_ch->url()});
  EXPECT_EQ(init.exit_code, 1);
  EXPECT_NE(init.err.find("error: ClickHouse at " + m_ch->url() +
                          "/?database=default has team schema version 99, newer than"),
            std::string::npos)
      << init.err;
  auto push = run_client(m_dir / "none", {"--no-spawn", "team", "push", "--url", m_ch->url(),
                                          fixture_path("corpus/A/logs").string()});
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_NE(push.err.find("schema version 99"), std::string::npos) << push.err;
  EXPECT_NE(push.err.find("nothing was sent"), std::string::npos) << push.err;

  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  ASSERT_EQ(daemon.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
  json team;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    team = team_status(daemon);
    if (!team["last_error"].get<std::string>().empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(team["last_error"].get<std::string>().find("schema version 99, newer than"),
            std::string::npos)
      << team.dump();
  EXPECT_EQ(u64(team, "backlog"), k_corpus_a_runs) << team.dump();
  EXPECT_EQ(ch_number(*m_ch, "SELECT count() FROM ca_runs"), 0);
}

using TeamCluster = NeedsClickHouse;

TEST_F(TeamCluster, TwoShardsBehindDistributedTablesHoldBothMachinesRuns) {
  TempDir dir;
  const std::vector<uint16_t> tcp = {free_port(), free_port()};
  ClickHouseServer shard1(dir / "ch1", tcp, tcp[0]);
  ClickHouseServer shard2(dir / "ch2", tcp, tcp[1]);
  std::string why;
  ASSERT_TRUE(shard1.start(std::chrono::seconds(30), &why)) << why;
  ASSERT_TRUE(shard2.start(std::chrono::seconds(30), &why)) << why;
  for (const auto* s : {&shard1, &shard2}) {
    auto init = run_client(
        dir / "none", {"--no-spawn", "team", "init", "--url", s->url(), "--cluster", "ca_test"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    EXPECT_NE(init.out.find("distributed over cluster ca_test"), std::string::npos) << init.out;
  }
  // Machine 1 exports corpus A through shard 1, machine 2 corpus C through shard 2.
  DaemonProcess m1(dir / "m1", team_args(shard1, "m1"));
  DaemonProcess m2(dir / "m2", team_args(shard2, "m2"));
  ASSERT_TRUE(m1.start());
  ASSERT_TRUE(m2.start());
  ASSERT_EQ(m1.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
  ASSERT_EQ(m2.client({"ingest", fixture_path("corpus/C/logs").string()}).exit_code, 0);
  wait_for_export(m1, k_corpus_a_runs);
  wait_for_export(m2, 1);

  const auto local1 = session_run_ids(
      client_json(m1, {"report", "sessions", "--all", "--limit", "100", "--format", "json"}));
  const auto local2 = session_run_ids(
      client_json(m2, {"report", "sessions", "--all", "--limit", "100", "--format", "json"}));
  std::set<std::string> both = local1;
  both.insert(local2.begin(), local2.end());
  ASSERT_EQ(both.size(), k_corpus_a_runs + 1);
  // Either machine's team report is the sum of both local ones, whichever shard holds a run.
  for (const auto* d : {&m1, &m2}) {
    auto team =
        client_json(*d, {"report", "sessions", "--team", "--limit", "100", "--format", "json"});
    EXPECT_EQ(session_run_ids(team), both);
  }
  auto only2 =
      client_json(m1, {"report", "sessions", "--team", "--machine", "m2", "--format", "json"});
  EXPECT_EQ(session_run_ids(only2), local2);
  // The rows are spread over the shards, each run on one of them.
  const int64_t on1 = ch_number(shard1, "SELECT count() FROM ca_runs_local FINAL");
  const int64_t on2 = ch_number(shard2, "SELECT count() FROM ca_runs_local FINAL");
  EXPECT_EQ(on1 + on2, static_cast<int64_t>(both.size()));
  EXPECT_GT(on1, 0);
  EXPECT_GT(on2, 0);
}

TEST(TeamReports, WithoutATeamUrlTheTeamReportSaysHowToConfigureOne) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start());
  auto r = daemon.client({"report", "sessions", "--team"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("this daemon has no team url (set `[team] url` in config.toml or start it "
                       "with --team-url)"),
            std::string::npos)
      << r.err;
  auto bad = run_client(
      dir / "none", {"--no-spawn", "team", "push", "--url", "https://x:1", dir.path().string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad ClickHouse url `https://x:1`: only http://host:port is supported"),
            std::string::npos)
      << bad.err;
}

} // namespace
} // namespace ca::test
