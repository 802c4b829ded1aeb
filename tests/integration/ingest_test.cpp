// The vertical slice through the real binaries: the daemon on temp dirs, logs sent with the
// client (or a raw socket producer), reports asked for with the client.
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

const char* const k_corpus_a = "corpus/A/logs";
constexpr const char* k_good_line =
    R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"2026-11-23T06:27:16.2Z",)"
    R"("reason":"resolution-started","elapsed":0.01})";

json client_json(const DaemonProcess& d,
                 const std::vector<std::string>& args,
                 const CommandOptions& opts = {}) {
  auto r = d.client(args, opts);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

std::vector<json> all_runs(const json& sessions) {
  std::vector<json> runs;
  for (const auto& s : sessions["sessions"]) {
    for (const auto& r : s["runs"]) {
      runs.push_back(r);
    }
  }
  return runs;
}

class Integration : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(daemon.start()); }
  TempDir dir;
  DaemonProcess daemon{dir.path(), {"--no-watch"}};
};

TEST_F(Integration, IngestedCorpusRunsAreListedWithWorkspaceCommandAndUnitCounts) {
  auto r = daemon.client({"ingest", fixture_path(k_corpus_a).string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ingested 10 files: 2309 lines taken (2309 new, 0 already stored), "
                       "0 rejected"),
            std::string::npos)
      << r.out;

  auto j =
      client_json(daemon, {"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  auto runs = all_runs(j);
  ASSERT_EQ(runs.size(), 10u);
  struct Expect {
    const char* id;
    int total, fresh, dirty, new_;
    const char* command;
  };
  const Expect expected[] = {
      {"20261123T062716161Z-28b99174ef2c2ad6", 88, 0, 0, 88, "cargo build"},
      {"20261123T062731277Z-28b99174ef2c2ad6", 88, 88, 0, 0, "cargo build"},
      {"20261123T062732370Z-28b99174ef2c2ad6", 88, 87, 1, 0, "cargo build"},
      {"20261123T062733765Z-28b99174ef2c2ad6", 88, 85, 3, 0, "cargo build"},
      {"20261123T062734227Z-28b99174ef2c2ad6", 93, 83, 0, 10, "cargo build --features wsmid/fancy"},
      {"20261123T062735739Z-28b99174ef2c2ad6", 88, 88, 0, 0, "cargo build"},
      {"20261123T062735818Z-28b99174ef2c2ad6", 88, 0, 0, 88, "cargo build"},
      {"20261123T062750691Z-28b99174ef2c2ad6", 88, 88, 0, 0, "cargo build"},
      {"20261123T062750774Z-28b99174ef2c2ad6", 88, 84, 4, 0, "cargo build"},
      {"20261123T062751587Z-28b99174ef2c2ad6", 88, 88, 0, 0, "cargo build"},
  };
  // Newest first.
  for (size_t i = 0; i < 10; ++i) {
    const auto& run = runs[9 - i];
    const auto& e = expected[i];
    SCOPED_TRACE(e.id);
    EXPECT_EQ(run["run_id"], e.id);
    EXPECT_EQ(run["session_id"], e.id); // no nesting here: each run is its own session
    EXPECT_EQ(run["workspace_root"], "/tmp/corpus/wsA");
    EXPECT_EQ(run["profile"], "dev");
    EXPECT_EQ(run["command_line"], e.command);
    EXPECT_EQ(run["units_total"], e.total);
    EXPECT_EQ(run["units_fresh"], e.fresh);
    EXPECT_EQ(run["units_dirty"], e.dirty);
    EXPECT_EQ(run["units_new"], e.new_);
    EXPECT_EQ(run["state"], "completed");
    EXPECT_GT(run["duration_secs"].get<double>(), 0.0);
  }
}

TEST_F(Integration, IngestingTheSameFilesTwiceStoresNothingTwice) {
  ASSERT_EQ(daemon.client({"ingest", fixture_path(k_corpus_a).string()}).exit_code, 0);
  auto again = daemon.client({"ingest", fixture_path(k_corpus_a).string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("(0 new, 2309 already stored)"), std::string::npos) << again.out;
  auto status = client_json(daemon, {"status", "--format", "json"});
  EXPECT_EQ(status["events_stored"], "2309"); // uint64: a string in proto JSON
  EXPECT_EQ(status["runs_stored"], "10");
}

TEST_F(Integration, SessionsDefaultToTheWorkspaceOfTheCurrentDirectory) {
  ASSERT_EQ(daemon
                .client({"ingest", fixture_path("corpus").string() + "/A/logs",
                         fixture_path("corpus").string() + "/C/logs"})
                .exit_code,
            0);
  // Nothing was built in a package of the test's temp dir: cargo's error, exit code 1.
  const auto project = dir.path() / "project";
  std::filesystem::create_directories(project / "src");
  std::ofstream(project / "Cargo.toml")
      << "[package]\nname = \"project\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
  std::ofstream(project / "src/lib.rs") << "";
  CommandOptions in_project;
  in_project.cwd = project;
  auto none = daemon.client({"report", "sessions"}, in_project);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("error: no sessions found for workspace at `" + project.string() + "`"),
            std::string::npos)
      << none.err;
  EXPECT_NE(none.err.find("note: "), std::string::npos) << none.err;

  // The temp dir itself is in no cargo workspace: every workspace's sessions, as cargo lists
  // them from such a directory, under the heading without a workspace.
  CommandOptions in_tmp;
  in_tmp.cwd = dir.path();
  auto everywhere = daemon.client({"report", "sessions", "--limit", "100"}, in_tmp);
  ASSERT_EQ(everywhere.exit_code, 0) << everywhere.err;
  EXPECT_EQ(everywhere.out.rfind("Session IDs (most recent first):\n\n", 0), 0u) << everywhere.out;
  EXPECT_NE(everywhere.out.find("20261123T062751587Z-28b99174ef2c2ad6"), std::string::npos);

  auto ws = client_json(
      daemon, {"report", "sessions", "--workspace", "/tmp/corpus/wsC/big", "--format", "json"});
  EXPECT_EQ(ws["workspace_root"], "/tmp/corpus/wsC/big");
  ASSERT_EQ(all_runs(ws).size(), 1u);
  EXPECT_EQ(all_runs(ws)[0]["units_total"], 242);

  auto limited =
      client_json(daemon, {"report", "sessions", "--all", "--limit", "3", "--format", "json"});
  EXPECT_EQ(limited["sessions"].size(), 3u);
  EXPECT_EQ(limited["truncated"], true);

  auto human =
      daemon.client({"report", "sessions", "--workspace", "/tmp/corpus/wsA/wsapp", "--limit", "3"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("Session IDs for `/tmp/corpus/wsA` (most recent first):"),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("20261123T062751587Z-28b99174ef2c2ad6"), std::string::npos);
  EXPECT_NE(human.out.find("units:     0 new, 4 dirty, 84 fresh (88 in all)"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("command:   cargo build"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("profile:   dev"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("... and more (use --limit N to see more)"), std::string::npos);
}

struct BadLine {
  const char* name;
  std::string line;
  const char* expected_error;
};

class BadInput : public Integration, public ::testing::WithParamInterface<BadLine> {};

TEST_P(BadInput, IsRejectedWithSourceAndLineAndTheStreamGoesOn) {
  const auto& p = GetParam();
  std::string data = std::string(k_good_line) + "\n" + p.line + "\n" +
                     R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":)"
                     R"("2026-11-23T06:27:16.3Z","reason":"resolution-finished","elapsed":0.02})" +
                     "\n";
  auto summary = send_ndjson(daemon.runtime_dir() / "ingest.sock", data);
  ASSERT_TRUE(summary.is_object());
  EXPECT_EQ(summary["accepted"], 2);
  EXPECT_EQ(summary["rejected"], 1);
  EXPECT_EQ(summary["stored"], 2);
  ASSERT_EQ(summary["errors"].size(), 1u);
  std::string err = summary["errors"][0];
  EXPECT_EQ(err.rfind("socket#", 0), 0u) << err;
  EXPECT_NE(err.find(":2: "), std::string::npos) << err; // the line number
  EXPECT_NE(err.find(p.expected_error), std::string::npos) << err;
  auto status = client_json(daemon, {"status", "--format", "json"});
  EXPECT_EQ(status["events_stored"], "2");
  EXPECT_EQ(status["lines_rejected"], "1");
}

INSTANTIATE_TEST_SUITE_P(
    Lines,
    BadInput,
    ::testing::Values(
        BadLine{"not_json", "this is not json", "invalid JSON"},
        BadLine{"not_an_object", "[1,2,3]", "object"},
        BadLine{"missing_run_id", R"({"timestamp":"2026-11-23T06:27:16Z","reason":"x"})", "run_id"},
        BadLine{"missing_reason", R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6"})", "reason"},
        BadLine{"malformed_run_id", R"({"run_id":"yesterday-abc","reason":"build-started"})",
                "expect run ID in format"},
        BadLine{"too_long",
                R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","reason":"x","pad":")" +
                    std::string(1100000, 'a') + "\"}",
                "1048576-byte limit"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(Integration, StoredDataIsUnchangedByBadInput) {
  ASSERT_EQ(daemon.client({"ingest", fixture_path(k_corpus_a).string()}).exit_code, 0);
  auto before =
      daemon.client({"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  // A bad line naming an existing run, and a line for that run with a wrong-typed field.
  auto summary = send_ndjson(
      daemon.runtime_dir() / "ingest.sock",
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","reason":"unit-started","index":"x"})"
      "\n{garbage\n");
  EXPECT_EQ(summary["rejected"], 2);
  auto after = daemon.client({"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  EXPECT_EQ(before.out, after.out);
}

TEST_F(Integration, GarbageProducerIsCutOffWhileOthersGoOn) {
  std::string garbage;
  for (int i = 0; i < 1000; ++i) {
    garbage += "garbage line " + std::to_string(i) + "\n";
  }
  json good_summary;
  std::thread good([&] {
    std::ifstream in(fixture_path(k_corpus_a) / "20261123T062716161Z-28b99174ef2c2ad6.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    good_summary = send_ndjson(daemon.runtime_dir() / "ingest.sock", ss.str());
  });
  auto bad = send_ndjson(daemon.runtime_dir() / "ingest.sock", garbage);
  good.join();
  ASSERT_TRUE(bad.is_object());
  EXPECT_EQ(bad["disconnected"], true);
  EXPECT_LE(bad["rejected"].get<int>(), 1000);
  EXPECT_EQ(bad["accepted"], 0);
  ASSERT_TRUE(good_summary.is_object());
  EXPECT_EQ(good_summary["stored"], 402);
  EXPECT_EQ(good_summary["rejected"], 0);
  auto status = client_json(daemon, {"status", "--format", "json"});
  bool found = false;
  for (const auto& s : status["sources"]) {
    if (s["name"] == "socket") {
      found = true;
      EXPECT_EQ(s["producers_disconnected"], "1");
      EXPECT_NE(s["last_error"].get<std::string>().find("invalid JSON"), std::string::npos);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(Integration, TruncatedLastLineMakesTheRunInterrupted) {
  std::ifstream in(fixture_path(k_corpus_a) / "20261123T062731277Z-28b99174ef2c2ad6.jsonl");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  data.resize(data.size() - 40); // cut inside the last line, as a killed cargo leaves it
  auto summary = send_ndjson(daemon.runtime_dir() / "ingest.sock", data);
  EXPECT_EQ(summary["rejected"], 1);
  auto j = client_json(daemon, {"report", "sessions", "--all", "--format", "json"});
  ASSERT_EQ(all_runs(j).size(), 1u);
  EXPECT_EQ(all_runs(j)[0]["state"], "interrupted");
}

TEST(Client, WithoutDaemonAndNoSpawnSaysHowToStartIt) {
  TempDir dir;
  auto r = run_client(dir / "run", {"--no-spawn", "report", "sessions", "--all"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cargo-analysis-client: error: cannot connect to " + (dir / "run").string() +
                       "/client.sock"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("start it with"), std::string::npos) << r.err;
}

TEST(Client, StartsTheDaemonOnDemandAndStopsIt) {
  TempDir dir;
  CommandOptions opts;
  opts.env = {{"CARGO_ANALYSIS_STATE_DIR", (dir / "state").string()}};
  opts.unset_env = {"CARGO_ANALYSIS_NO_SPAWN"};
  auto r = run_client(dir / "run", {"status", "--format", "json"}, opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["db_path"], (dir / "state" / "cargo-analysis.sqlite3").string());
  auto stop = run_client(dir / "run", {"stop"}, opts);
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  // Stopped: a --no-spawn call now fails.
  for (int i = 0; i < 200 && run_client(dir / "run", {"--no-spawn", "status"}).exit_code == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(run_client(dir / "run", {"--no-spawn", "status"}).exit_code, 1);
}

TEST(Client, UsageErrorsExitWithTwo) {
  TempDir dir;
  EXPECT_EQ(run_client(dir / "run", {"report", "sessions", "--format", "yaml"}).exit_code, 2);
  EXPECT_EQ(run_client(dir / "run", {"no-such-command"}).exit_code, 2);
}

// Runs older than the daemon's retention window are not stored at ingest (the next gc would
// delete them a minute later, after `ingest` said "stored"): `ingest` says how many and how to
// keep them; the watcher's back-fill skips them too.
TEST(IngestRetention, RunsOlderThanTheWindowAreSkippedAndCountedAndKeptWithoutALimit) {
  TempDir dir;
  // The corpus was logged on 2026-11-23: more than a day before any day this test runs.
  DaemonProcess strict{dir.path() / "strict", {"--no-watch", "--keep-days", "1"}};
  ASSERT_TRUE(strict.start());
  auto r = strict.client({"ingest", fixture_path(k_corpus_a).string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ingested 10 files: 0 lines taken (0 new, 0 already stored), 0 rejected"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("10 runs started before the daemon's retention window and were not "
                       "stored"),
            std::string::npos)
      << r.out;
  auto none = strict.client({"report", "sessions", "--all"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no sessions found"), std::string::npos) << none.err;

  // Without an age limit the same files are stored.
  DaemonProcess keep{dir.path() / "keep", {"--no-watch", "--keep-days", "0"}};
  ASSERT_TRUE(keep.start());
  r = keep.client({"ingest", fixture_path(k_corpus_a).string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("retention window"), std::string::npos) << r.out;
  auto j = client_json(keep, {"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  EXPECT_EQ(all_runs(j).size(), 10u);
}

// The watcher's back-fill applies the same window: old logs in the log dir make no runs.
TEST(IngestRetention, BackFillSkipsLogsOlderThanTheWindow) {
  TempDir dir;
  const auto logs = dir.path() / "cargo-log";
  std::filesystem::create_directories(logs);
  for (const auto& e : std::filesystem::directory_iterator(fixture_path(k_corpus_a))) {
    std::filesystem::copy_file(e.path(), logs / e.path().filename());
  }
  DaemonProcess d{dir.path() / "d", {"--watch-dir", logs.string(), "--keep-days", "1"}};
  ASSERT_TRUE(d.start());
  json status;
  for (int i = 0; i < 100; ++i) {
    status = client_json(d, {"status", "--format", "json"});
    // proto3 JSON writes 64-bit integers as strings.
    auto done = status.value("backfill_files_done", json("0"));
    if (done.is_string() && std::stoull(done.get<std::string>()) >= 10) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(status.value("backfill_files_done", json("0")), json("10")) << status.dump();
  auto none = d.client({"report", "sessions", "--all"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no sessions found"), std::string::npos) << none.err;
}

} // namespace
} // namespace ca::test
