// Team reports from a real ClickHouse (#13): `report trends --team` and `report slowest-crates
// --team` against the same reports of the machines' local stores. Private `clickhouse-server`
// processes on free ports, real daemons, the real client; skipped when clickhouse-server is not
// installed.
//
// What is checked: over one machine's exported corpus runs, the team answer equals the local one
// (whole history, and a --since range); a run exported twice (every row resent with a newer
// exported_ms, merges stopped so both copies are there) is counted once; over two servers as
// shards behind Distributed tables, each machine's team answer is the sum of both machines'
// local reports; a --machine with no run, and --team on a daemon without a team url, give clear
// errors.
#include "shared/team/clickhouse_client.hpp"
#include "tests/support/clickhouse_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

constexpr size_t k_corpus_a_runs = 10;
constexpr double k_eps = 1e-6; // sums in another order (SQLite vs ClickHouse)

class NeedsClickHouse : public ::testing::Test {
protected:
  void SetUp() override {
    if (clickhouse_server_binary().empty()) {
      GTEST_SKIP() << "clickhouse-server is not installed (apt-get install clickhouse-server)";
    }
  }
};

double num(const json& j, const char* field) {
  if (!j.is_object() || !j.contains(field)) {
    return 0;
  }
  const auto& v = j[field];
  return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
}

std::string str(const json& j, const char* field) {
  return j.is_object() && j.contains(field) ? j[field].get<std::string>() : std::string();
}

json list(const json& j, const char* field) {
  return j.is_object() && j.contains(field) ? j[field] : json::array();
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

int64_t ch_number(const ClickHouseServer& s, const std::string& sql) {
  auto r = ch_client(s).query(sql);
  EXPECT_TRUE(r) << sql << ": " << r.error().message;
  return r ? std::stoll(*r) : -1;
}

// Waits (up to 60 s) until the daemon's team backlog is empty and `runs` runs were sent.
void wait_for_export(const DaemonProcess& d, uint64_t runs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json team;
  while (std::chrono::steady_clock::now() < deadline) {
    team = client_json(d, {"--no-spawn", "status", "--format", "json"})["team"];
    if (num(team, "backlog") == 0 && num(team, "runs_sent") >= static_cast<double>(runs)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "export not done: " << team.dump();
}

std::vector<std::string> team_args(const ClickHouseServer& s, const std::string& machine) {
  return {"--no-watch", "--team-url", s.url(), "--team-machine", machine};
}

// Every field both answers define, equal (times to within rounding of sums).
void expect_same_trends(const json& team, const json& local) {
  for (const char* f : {"sessions", "runs", "bucket_secs", "root_rebuilds_total"}) {
    EXPECT_EQ(num(team, f), num(local, f)) << f;
  }
  EXPECT_EQ(str(team, "first_start"), str(local, "first_start"));
  EXPECT_EQ(str(team, "last_start"), str(local, "last_start"));
  const json tc = list(team, "commands"), lc = list(local, "commands");
  ASSERT_EQ(tc.size(), lc.size()) << team.dump() << "\n" << local.dump();
  for (size_t i = 0; i < tc.size(); ++i) {
    SCOPED_TRACE(str(lc[i], "kind"));
    EXPECT_EQ(str(tc[i], "kind"), str(lc[i], "kind"));
    EXPECT_EQ(num(tc[i], "runs"), num(lc[i], "runs"));
    EXPECT_NEAR(num(tc[i], "total_secs"), num(lc[i], "total_secs"), k_eps);
    const json tb = list(tc[i], "buckets"), lb = list(lc[i], "buckets");
    ASSERT_EQ(tb.size(), lb.size());
    for (size_t b = 0; b < tb.size(); ++b) {
      EXPECT_EQ(str(tb[b], "start_time"), str(lb[b], "start_time"));
      EXPECT_EQ(num(tb[b], "runs"), num(lb[b], "runs"));
      for (const char* f : {"mean_secs", "min_secs", "max_secs"}) {
        EXPECT_NEAR(num(tb[b], f), num(lb[b], f), k_eps) << f;
      }
    }
  }
  const json tu = list(team, "slowest_units"), lu = list(local, "slowest_units");
  ASSERT_EQ(tu.size(), lu.size());
  ASSERT_GT(lu.size(), 0u);
  for (size_t i = 0; i < tu.size(); ++i) {
    EXPECT_EQ(str(tu[i]["unit"], "description"), str(lu[i]["unit"], "description")) << i;
    EXPECT_EQ(str(tu[i]["unit"], "package_id"), str(lu[i]["unit"], "package_id")) << i;
    EXPECT_EQ(num(tu[i], "builds"), num(lu[i], "builds")) << i;
    EXPECT_NEAR(num(tu[i], "mean_secs"), num(lu[i], "mean_secs"), k_eps) << i;
    EXPECT_NEAR(num(tu[i], "max_secs"), num(lu[i], "max_secs"), k_eps) << i;
  }
  // Rebuild causes: counts, words, examples and their runs, exactly.
  EXPECT_EQ(list(team, "root_rebuilds"), list(local, "root_rebuilds"));
}

std::map<std::string, json> crates_by_id(const json& report) {
  std::map<std::string, json> out;
  for (const auto& c : list(report, "slowest")) {
    out[str(c, "package_id")] = c;
  }
  return out;
}

void expect_same_crates(const json& team, const json& local) {
  EXPECT_EQ(num(team, "runs"), num(local, "runs"));
  EXPECT_EQ(num(team, "compiles"), num(local, "compiles"));
  EXPECT_EQ(num(team, "crates"), num(local, "crates"));
  EXPECT_NEAR(num(team, "total_secs"), num(local, "total_secs"), k_eps);
  const json ts = list(team, "slowest"), ls = list(local, "slowest");
  ASSERT_EQ(ts.size(), ls.size());
  ASSERT_GT(ls.size(), 0u);
  for (size_t i = 0; i < ts.size(); ++i) {
    SCOPED_TRACE(str(ls[i], "package_id"));
    EXPECT_EQ(str(ts[i], "package_id"), str(ls[i], "package_id"));
    EXPECT_EQ(str(ts[i], "name"), str(ls[i], "name"));
    EXPECT_EQ(str(ts[i], "version"), str(ls[i], "version"));
    EXPECT_EQ(num(ts[i], "runs"), num(ls[i], "runs"));
    EXPECT_EQ(num(ts[i], "compiles"), num(ls[i], "compiles"));
    for (const char* f : {"total_secs", "mean_secs", "share"}) {
      EXPECT_NEAR(num(ts[i], f), num(ls[i], f), k_eps) << f;
    }
  }
}

// Sends every row of `table` again with a newer exported_ms: what a resend after a lost
// acknowledgement does.
void resend_all(const ClickHouseServer& s, const std::string& table) {
  // In table order (18.16's system.columns has no `position`).
  auto cols = ch_client(s).query("SELECT name FROM system.columns WHERE database = "
                                 "currentDatabase() AND table = '" +
                                 table + "'");
  ASSERT_TRUE(cols) << cols.error().message;
  std::string select;
  std::istringstream in(*cols);
  for (std::string c; std::getline(in, c);) {
    select += (select.empty() ? "" : ", ") + (c == "exported_ms" ? "exported_ms + 1" : c);
  }
  auto r = ch_client(s).query("INSERT INTO " + table + " SELECT " + select + " FROM " + table);
  ASSERT_TRUE(r) << r.error().message;
}

class TeamReportsFromClickHouse : public NeedsClickHouse {
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
  }

  TempDir m_dir;
  std::unique_ptr<ClickHouseServer> m_ch;
};

const std::vector<std::string> k_trends = {"report", "trends",   "--limit",
                                           "1000",   "--format", "json"};
const std::vector<std::string> k_crates = {"report", "slowest-crates", "--limit",
                                           "1000",   "--format",       "json"};

std::vector<std::string> with(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_F(TeamReportsFromClickHouse,
       TeamTrendsAndSlowestCratesEqualTheLocalOnesAndCountAResentRunOnce) {
  DaemonProcess daemon(m_dir / "d", team_args(*m_ch, "laptop-1"));
  ASSERT_TRUE(daemon.start());
  ASSERT_EQ(daemon.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
  wait_for_export(daemon, k_corpus_a_runs);

  const json local_trends = client_json(daemon, with(k_trends, {"--all"}));
  const json local_crates = client_json(daemon, k_crates);
  ASSERT_EQ(num(local_trends, "runs"), k_corpus_a_runs);
  ASSERT_GT(num(local_trends, "root_rebuilds_total"), 0);
  auto check = [&] {
    expect_same_trends(client_json(daemon, with(k_trends, {"--team"})), local_trends);
    json crates = client_json(daemon, with(k_crates, {"--team"}));
    expect_same_crates(crates, local_crates);
    EXPECT_EQ(crates["team"], true);
    for (const auto& c : list(crates, "slowest")) {
      EXPECT_EQ(c["machines"], json::array({"laptop-1"})) << c.dump();
    }
    json one = client_json(daemon, with(k_crates, {"--team", "--machine", "laptop-1"}));
    expect_same_crates(one, local_crates);
  };
  {
    SCOPED_TRACE("exported once");
    check();
  }
  // A range: the sessions (trends) and runs (slowest-crates) from step 4 on.
  const std::vector<std::string> since = {"--since", "2026-11-23T06:27:33.765Z"};
  json ranged = client_json(daemon, with(with(k_trends, {"--all"}), since));
  EXPECT_EQ(num(ranged, "runs"), 7);
  expect_same_trends(client_json(daemon, with(with(k_trends, {"--team"}), since)), ranged);
  json ranged_crates = client_json(daemon, with(k_crates, since));
  EXPECT_EQ(num(ranged_crates, "runs"), 7);
  expect_same_crates(client_json(daemon, with(with(k_crates, {"--team"}), since)), ranged_crates);
  // `--last`: the newest sessions.
  expect_same_trends(client_json(daemon, with(k_trends, {"--team", "--last", "3"})),
                     client_json(daemon, with(k_trends, {"--all", "--last", "3"})));

  // Every row sent again (a lost acknowledgement), and not merged yet: both copies are stored,
  // and every answer still counts each run once.
  ASSERT_TRUE(ch_client(*m_ch).query("SYSTEM STOP MERGES"));
  resend_all(*m_ch, "ca_runs");
  resend_all(*m_ch, "ca_units");
  EXPECT_EQ(ch_number(*m_ch, "SELECT count() FROM ca_runs"), 2 * k_corpus_a_runs);
  {
    SCOPED_TRACE("every row sent twice");
    check();
  }

  // Human output, and a machine with no run.
  auto human = daemon.client({"report", "slowest-crates", "--team"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("Slowest crates: the team, every machine: 10 runs"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("laptop-1"), std::string::npos) << human.out;
  auto trends_human = daemon.client({"report", "trends", "--team"});
  ASSERT_EQ(trends_human.exit_code, 0) << trends_human.err;
  EXPECT_NE(trends_human.out.find("Most frequent root rebuilds"), std::string::npos);
  EXPECT_NE(trends_human.out.find("Trends: the team, every machine, 10 sessions"),
            std::string::npos)
      << trends_human.out;
  auto one_human = daemon.client({"report", "trends", "--team", "--machine", "laptop-1"});
  EXPECT_NE(one_human.out.find("Trends: the team, machine laptop-1, "), std::string::npos)
      << one_human.out << one_human.err;
  EXPECT_EQ(client_json(daemon, with(k_trends, {"--team"}))["team"], true);
  auto nobody = daemon.client({"report", "trends", "--team", "--machine", "nobody"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("no sessions found of machine `nobody` in the team's ClickHouse"),
            std::string::npos)
      << nobody.err;
  auto nobody_crates = daemon.client({"report", "slowest-crates", "--team", "--machine", "x"});
  EXPECT_EQ(nobody_crates.exit_code, 1);
  EXPECT_NE(nobody_crates.err.find("no runs found of machine `x` in the team's ClickHouse"),
            std::string::npos)
      << nobody_crates.err;
}

// The sum of two machines' local slowest-crates: per package id, runs, compiles and time added,
// and the machines that compiled it.
json sum_crates(const json& a, const std::string& ma, const json& b, const std::string& mb) {
  std::map<std::string, json> out;
  for (const auto& [report, machine] : {std::pair{&a, ma}, std::pair{&b, mb}}) {
    for (const auto& c : list(*report, "slowest")) {
      json& s = out[str(c, "package_id")];
      s["runs"] = num(s, "runs") + num(c, "runs");
      s["compiles"] = num(s, "compiles") + num(c, "compiles");
      s["total_secs"] = num(s, "total_secs") + num(c, "total_secs");
      s["machines"].push_back(machine);
    }
  }
  json j = json::object();
  for (auto& [id, s] : out) {
    j[id] = s;
  }
  return j;
}

using TeamReportsCluster = NeedsClickHouse;

TEST_F(TeamReportsCluster, OverTwoShardsTheTeamReportsAreTheSumOfBothMachinesLocalOnes) {
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
  }
  DaemonProcess m1(dir / "m1", team_args(shard1, "m1"));
  DaemonProcess m2(dir / "m2", team_args(shard2, "m2"));
  ASSERT_TRUE(m1.start());
  ASSERT_TRUE(m2.start());
  ASSERT_EQ(m1.client({"ingest", fixture_path("corpus/A/logs").string()}).exit_code, 0);
  ASSERT_EQ(m2.client({"ingest", fixture_path("corpus/C/logs").string()}).exit_code, 0);
  wait_for_export(m1, k_corpus_a_runs);
  wait_for_export(m2, 1);
  // Both shards hold runs: the reports below read across them.
  EXPECT_GT(ch_number(shard1, "SELECT count() FROM ca_runs_local"), 0);
  EXPECT_GT(ch_number(shard2, "SELECT count() FROM ca_runs_local"), 0);

  const json crates1 = client_json(m1, k_crates), crates2 = client_json(m2, k_crates);
  const json sum = sum_crates(crates1, "m1", crates2, "m2");
  const json trends1 = client_json(m1, with(k_trends, {"--all"}));
  const json trends2 = client_json(m2, with(k_trends, {"--all"}));
  for (const auto* d : {&m1, &m2}) {
    json team = client_json(*d, with(k_crates, {"--team"}));
    EXPECT_EQ(num(team, "runs"), num(crates1, "runs") + num(crates2, "runs"));
    EXPECT_EQ(num(team, "compiles"), num(crates1, "compiles") + num(crates2, "compiles"));
    EXPECT_NEAR(num(team, "total_secs"), num(crates1, "total_secs") + num(crates2, "total_secs"),
                k_eps);
    const auto by_id = crates_by_id(team);
    ASSERT_EQ(by_id.size(), sum.size());
    for (const auto& [id, s] : sum.items()) {
      SCOPED_TRACE(id);
      ASSERT_EQ(by_id.count(id), 1u);
      const json& t = by_id.at(id);
      EXPECT_EQ(num(t, "runs"), num(s, "runs"));
      EXPECT_EQ(num(t, "compiles"), num(s, "compiles"));
      EXPECT_NEAR(num(t, "total_secs"), num(s, "total_secs"), k_eps);
      EXPECT_EQ(t["machines"], s["machines"]);
    }

    json trends = client_json(*d, with(k_trends, {"--team"}));
    for (const char* f : {"sessions", "runs", "root_rebuilds_total"}) {
      EXPECT_EQ(num(trends, f), num(trends1, f) + num(trends2, f)) << f;
    }
    EXPECT_EQ(str(trends, "first_start"),
              std::min(str(trends1, "first_start"), str(trends2, "first_start")));
    EXPECT_EQ(str(trends, "last_start"),
              std::max(str(trends1, "last_start"), str(trends2, "last_start")));
    // Build time per command kind, and every unit's builds, mean and max: merged.
    std::map<std::string, std::pair<double, double>> kinds; // runs, total
    std::map<std::string, std::array<double, 3>> units;     // builds, total, max
    for (const json* local : {&trends1, &trends2}) {
      for (const auto& k : list(*local, "commands")) {
        kinds[str(k, "kind")].first += num(k, "runs");
        kinds[str(k, "kind")].second += num(k, "total_secs");
      }
      for (const auto& u : list(*local, "slowest_units")) {
        auto& m = units[str(u["unit"], "description")];
        m[0] += num(u, "builds");
        m[1] += num(u, "builds") * num(u, "mean_secs");
        m[2] = std::max(m[2], num(u, "max_secs"));
      }
    }
    ASSERT_EQ(list(trends, "commands").size(), kinds.size());
    for (const auto& k : list(trends, "commands")) {
      EXPECT_EQ(num(k, "runs"), kinds[str(k, "kind")].first);
      EXPECT_NEAR(num(k, "total_secs"), kinds[str(k, "kind")].second, k_eps);
    }
    ASSERT_EQ(list(trends, "slowest_units").size(), units.size());
    for (const auto& u : list(trends, "slowest_units")) {
      const auto& m = units[str(u["unit"], "description")];
      SCOPED_TRACE(str(u["unit"], "description"));
      EXPECT_EQ(num(u, "builds"), m[0]);
      EXPECT_NEAR(num(u, "mean_secs"), m[1] / m[0], k_eps);
      EXPECT_NEAR(num(u, "max_secs"), m[2], k_eps);
    }
  }
  // The newest two sessions of the team (a GLOBAL IN over the Distributed tables): corpus C's
  // one run (06:30) and corpus A's last (06:27:51).
  json last2 = client_json(m1, with(k_trends, {"--team", "--last", "2"}));
  EXPECT_EQ(num(last2, "runs"), 2);
  EXPECT_EQ(num(last2, "sessions"), 2);
  EXPECT_EQ(str(last2, "first_start"), str(trends1, "last_start"));
  EXPECT_EQ(str(last2, "last_start"), str(trends2, "last_start"));
  // One machine's share of the team: that machine's local report.
  expect_same_crates(client_json(m1, with(k_crates, {"--team", "--machine", "m2"})), crates2);
  expect_same_trends(client_json(m2, with(k_trends, {"--team", "--machine", "m1"})), trends1);
}

TEST(TeamReportsUsage, TeamFlagsNeedATeamUrlAndMachineNeedsTeam) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start());
  for (const char* report : {"trends", "slowest-crates"}) {
    SCOPED_TRACE(report);
    auto r = daemon.client({"report", report, "--team"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("this daemon has no team url (set `[team] url` in config.toml or start "
                         "it with --team-url)"),
              std::string::npos)
        << r.err;
    auto usage = daemon.client({"report", report, "--machine", "m1"});
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_NE(usage.err.find("--machine requires --team"), std::string::npos) << usage.err;
  }
  // Locally, an empty history has no crate to rank.
  auto empty = daemon.client({"report", "slowest-crates"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("no runs found"), std::string::npos) << empty.err;
}

} // namespace
} // namespace ca::test
