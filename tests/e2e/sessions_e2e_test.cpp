// Sticky sessions with real cargo: the daemon watches a private CARGO_HOME/log while real cargo
// builds run nested cargo calls; each test asserts the exact tree of runs.
#include "tests/support/cargo.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

class Sessions : public ::testing::Test {
protected:
  void SetUp() override {
    std::filesystem::create_directories(cargo_home / "log");
    ASSERT_TRUE(daemon.start());
  }

  // Polls until `n` runs are stored and none is in progress (deadline 60 s); returns the
  // sessions report.
  json wait_for_runs(size_t n) {
    json last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = daemon.client({"report", "sessions", "--all", "--limit", "100", "--format", "json"});
      if (r.exit_code == 0) {
        last = json::parse(r.out);
        size_t runs = 0;
        bool busy = false;
        for (const auto& s : last["sessions"]) {
          for (const auto& run : s["runs"]) {
            ++runs;
            busy = busy || run["state"] == "in_progress";
          }
        }
        if (runs >= n && !busy) {
          EXPECT_EQ(runs, n) << last.dump(2);
          return last;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting for " << n << " finished runs; last report:\n"
                  << last.dump(2);
    return last;
  }

  TempDir dir;
  std::filesystem::path cargo_home = dir / "cargo-home";
  DaemonProcess daemon{dir / "daemon", {"--watch-dir", (cargo_home / "log").string()}};
};

// The one session's runs in tree order, asserting there is exactly one session.
json only_session(const json& report) {
  EXPECT_EQ(report["sessions"].size(), 1u) << report.dump(2);
  return report["sessions"].empty() ? json::array() : report["sessions"][0]["runs"];
}

TEST_F(Sessions, BuildScriptRunningCargoIsOneSessionOfTwoRuns) {
  copy_workspace("nested", dir / "ws");
  auto r = run_cargo(cargo_home, dir / "ws/outer", {"build"}, {{"NEST_DEPTH", "2"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = only_session(wait_for_runs(2));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["workspace_root"], (dir / "ws/outer").string());
  EXPECT_EQ(runs[0]["parent_run_id"], "");
  EXPECT_EQ(runs[0]["depth"], 0);
  EXPECT_EQ(runs[1]["workspace_root"], (dir / "ws/mid").string());
  EXPECT_EQ(runs[1]["parent_run_id"], runs[0]["run_id"]);
  EXPECT_EQ(runs[1]["session_id"], runs[0]["session_id"]);
  EXPECT_EQ(runs[1]["link"], "ancestry");
  EXPECT_EQ(runs[1]["depth"], 1);
  EXPECT_NE(runs[1]["pid"], 0);
  EXPECT_EQ(runs[1]["state"], "completed");
}

TEST_F(Sessions, ThreeLevelsOfNestingKeepTheOutermostSession) {
  copy_workspace("nested", dir / "ws");
  auto r = run_cargo(cargo_home, dir / "ws/outer", {"build"}, {{"NEST_DEPTH", "3"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = only_session(wait_for_runs(3));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["workspace_root"], (dir / "ws/outer").string());
  EXPECT_EQ(runs[1]["workspace_root"], (dir / "ws/mid").string());
  EXPECT_EQ(runs[2]["workspace_root"], (dir / "ws/inner").string());
  EXPECT_EQ(runs[1]["parent_run_id"], runs[0]["run_id"]);
  EXPECT_EQ(runs[2]["parent_run_id"], runs[1]["run_id"]);
  EXPECT_EQ(runs[2]["depth"], 2);
  for (const auto& run : runs) {
    EXPECT_EQ(run["session_id"], runs[0]["session_id"]);
  }
}

TEST_F(Sessions, XtaskRunningCargoIsOneSessionOfTwoRuns) {
  copy_workspace("xtask", dir / "ws");
  auto r = run_cargo(cargo_home, dir / "ws", {"run", "-p", "xtask", "--", "dist"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = only_session(wait_for_runs(2));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["command_line"], "cargo run -p xtask -- dist");
  EXPECT_EQ(runs[1]["command_line"], "cargo build --release -p app");
  EXPECT_EQ(runs[1]["profile"], "release");
  EXPECT_EQ(runs[1]["parent_run_id"], runs[0]["run_id"]);
  EXPECT_EQ(runs[1]["link"], "ancestry");
}

TEST_F(Sessions, ExecOfAShellRunningTwoCargosIsOneSession) {
  copy_workspace("demo", dir / "ws");
  CommandOptions opts;
  opts.cwd = dir / "ws";
  opts.env = {{"CARGO_HOME", cargo_home.string()}, {"CARGO_NET_OFFLINE", "true"}};
  opts.unset_env = {"CARGO_ANALYSIS_SESSION_ID", "TRACEPARENT", "CARGO_UNSTABLE_BUILD_ANALYSIS",
                    "CARGO_BUILD_ANALYSIS_ENABLED"};
  opts.timeout = std::chrono::seconds(600);
  auto r =
      daemon.client({"exec", "--", "sh", "-c", "cargo build -q && cargo test --no-run -q"}, opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto runs = only_session(wait_for_runs(2));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["session_id"], runs[1]["session_id"]);
  EXPECT_NE(runs[0]["session_id"], runs[0]["run_id"]); // exec's session, not a run's
  for (const auto& run : runs) {
    EXPECT_EQ(run["parent_run_id"], "");
    EXPECT_TRUE(run["link"] == "environment" || run["link"] == "explicit") << run["link"];
  }
}

TEST_F(Sessions, ExecPassesTheExitCodeAndRecordsIt) {
  copy_workspace("demo", dir / "ws");
  std::ofstream(dir / "ws/demo-app/src/main.rs") << "fn main() { let x: u32 = \"no\"; }\n";
  CommandOptions opts;
  opts.cwd = dir / "ws";
  opts.env = {{"CARGO_HOME", cargo_home.string()}, {"CARGO_NET_OFFLINE", "true"}};
  opts.unset_env = {"CARGO_ANALYSIS_SESSION_ID", "TRACEPARENT"};
  opts.timeout = std::chrono::seconds(600);
  auto r = daemon.client({"exec", "--", "cargo", "build"}, opts);
  EXPECT_EQ(r.exit_code, 101) << r.err;
  auto runs = only_session(wait_for_runs(1));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["state"], "failed");
  // The exit code arrives from exec right after cargo exits; poll briefly for it.
  json run = runs[0];
  for (int i = 0; i < 100 && !run.contains("exit_code"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    run = only_session(wait_for_runs(1))[0];
  }
  EXPECT_EQ(run.value("exit_code", -1), 101) << run.dump(2);
}

TEST_F(Sessions, ConcurrentIndependentBuildsAreNeverMerged) {
  // Five builds of one workspace and five of five other workspaces, all at once. The five of one
  // workspace start 50 ms apart: cargo's run id is the workspace's hash and the start time to
  // the millisecond, and two that start in the same millisecond share one log file (cargo's
  // doing; the watcher's side of it is LogWatcherTest.LogWrittenOver*).
  copy_workspace("demo", dir / "shared-ws");
  for (int i = 0; i < 5; ++i) {
    copy_workspace("demo", dir / ("ws" + std::to_string(i)));
  }
  std::vector<std::thread> builds;
  std::vector<int> codes(10, -1);
  for (int i = 0; i < 10; ++i) {
    auto cwd = i < 5 ? dir / "shared-ws" : dir / ("ws" + std::to_string(i - 5));
    builds.emplace_back([&, i, cwd] {
      std::this_thread::sleep_for(std::chrono::milliseconds(i < 5 ? 50 * i : 0));
      codes[i] = run_cargo(cargo_home, cwd, {"build"}).exit_code;
    });
  }
  for (auto& t : builds) {
    t.join();
  }
  for (int c : codes) {
    EXPECT_EQ(c, 0);
  }
  // One session per log cargo wrote, whatever their number.
  size_t logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(cargo_home / "log")) {
    logs += e.path().extension() == ".jsonl" ? 1 : 0;
  }
  EXPECT_EQ(logs, 10u) << "cargo gave two builds one run id (started in the same millisecond)";
  auto report = wait_for_runs(logs);
  ASSERT_EQ(report["sessions"].size(), logs) << report.dump(2);
  std::set<std::string> sessions;
  for (const auto& s : report["sessions"]) {
    ASSERT_EQ(s["runs"].size(), 1u);
    EXPECT_EQ(s["runs"][0]["parent_run_id"], "");
    sessions.insert(s["session_id"]);
  }
  EXPECT_EQ(sessions.size(), logs);
}

} // namespace
} // namespace ca::test
