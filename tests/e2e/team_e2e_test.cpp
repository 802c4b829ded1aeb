// Team export with real cargo: a daemon watching a private CARGO_HOME/log, with a team url,
// while a real nested build runs (`cargo run -p xtask` whose program runs `cargo build`). Both
// runs reach a real ClickHouse as one session, with their units, and the team reports read them
// back as the local ones do.
#include "tests/support/cargo.hpp"
#include "tests/support/clickhouse_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

json client_json(const DaemonProcess& d, const std::vector<std::string>& args) {
  auto r = d.client(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

uint64_t u64(const json& j, const char* field) {
  if (!j.is_object() || !j.contains(field)) {
    return 0;
  }
  const auto& v = j[field];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

// The run ids of a sessions report, with their session ids.
std::set<std::pair<std::string, std::string>> runs_of(const json& sessions) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& s : sessions["sessions"]) {
    for (const auto& r : s["runs"]) {
      out.emplace(r["run_id"].get<std::string>(), r["session_id"].get<std::string>());
    }
  }
  return out;
}

TEST(TeamE2e, ANestedRealCargoBuildIsExportedAsOneSessionAndReadBackByTheTeamReports) {
  if (clickhouse_server_binary().empty()) {
    GTEST_SKIP() << "clickhouse-server is not installed (apt-get install clickhouse-server)";
  }
  TempDir dir;
  ClickHouseServer ch(dir / "ch");
  std::string why;
  ASSERT_TRUE(ch.start(std::chrono::seconds(60), &why)) << why;
  auto init = run_client(dir / "none", {"--no-spawn", "team", "init", "--url", ch.url()});
  ASSERT_EQ(init.exit_code, 0) << init.err;

  const auto cargo_home = dir / "cargo-home";
  std::filesystem::create_directories(cargo_home / "log");
  DaemonProcess daemon(dir / "d", {"--watch-dir", (cargo_home / "log").string(), "--team-url",
                                   ch.url(), "--team-machine", "dev-box"});
  ASSERT_TRUE(daemon.start());
  copy_workspace("xtask", dir / "ws");
  auto built = run_cargo(cargo_home, dir / "ws", {"run", "-p", "xtask", "--", "dist"});
  ASSERT_EQ(built.exit_code, 0) << built.err;

  // Both runs end, then leave through the outbox.
  json team;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
    team = client_json(daemon, {"--no-spawn", "status", "--format", "json"})["team"];
    if (u64(team, "runs_sent") >= 2 && u64(team, "backlog") == 0) {
      break;
    }
  }
  ASSERT_EQ(u64(team, "runs_sent"), 2u) << team.dump();
  EXPECT_EQ(team.value("last_error", ""), "") << team.dump();

  // The same two runs in one session, locally and in the team's tables, with the machine label.
  const json local = client_json(daemon, {"report", "sessions", "--all", "--format", "json"});
  const json shared = client_json(daemon, {"report", "sessions", "--team", "--format", "json"});
  const auto local_runs = runs_of(local);
  ASSERT_EQ(local_runs.size(), 2u) << local.dump();
  EXPECT_EQ(runs_of(shared), local_runs) << shared.dump();
  EXPECT_EQ(local_runs.begin()->second, std::next(local_runs.begin())->second)
      << "one session for the nested build";
  ASSERT_EQ(shared["sessions"].size(), 1u) << shared.dump();
  for (const auto& r : shared["sessions"][0]["runs"]) {
    EXPECT_EQ(r.value("machine", ""), "dev-box") << r.dump();
  }

  // Every unit sent, and the crates' compile time the same on both sides.
  const json crates = client_json(daemon, {"report", "slowest-crates", "--format", "json"});
  const json team_crates =
      client_json(daemon, {"report", "slowest-crates", "--team", "--format", "json"});
  EXPECT_GT(u64(team, "units_sent"), 0u);
  EXPECT_EQ(u64(team_crates, "runs"), 2u);
  EXPECT_EQ(u64(team_crates, "compiles"), u64(crates, "compiles")) << team_crates.dump();
  EXPECT_GT(u64(crates, "compiles"), 0u) << crates.dump();
  EXPECT_NEAR(team_crates.value("total_secs", -1.0), crates.value("total_secs", -2.0), 1e-6);
  ASSERT_EQ(team_crates["slowest"].size(), crates["slowest"].size());
  for (size_t i = 0; i < crates["slowest"].size(); ++i) {
    EXPECT_EQ(team_crates["slowest"][i]["package_id"], crates["slowest"][i]["package_id"]);
    EXPECT_EQ(team_crates["slowest"][i]["machines"], json::array({"dev-box"}));
  }
  const json trends = client_json(daemon, {"report", "trends", "--team", "--format", "json"});
  EXPECT_EQ(u64(trends, "runs"), 2u) << trends.dump();
  EXPECT_EQ(u64(trends, "sessions"), 1u) << trends.dump();
}

} // namespace
} // namespace ca::test
