// `cargo-analysis-client gc` against the real daemon: sessions deleted whole, the newest kept,
// and the log watcher does not store the deleted runs again after a restart.
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;

constexpr const char* k_newest_run = "20261123T062751587Z-28b99174ef2c2ad6";

json client_json(const DaemonProcess& d, const std::vector<std::string>& args) {
  auto r = d.client(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// proto JSON prints 64-bit integers as strings.
uint64_t u64(const json& j, const char* field) {
  if (!j.contains(field)) {
    return 0;
  }
  const auto& v = j[field];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

// Waits (up to 60 s) until the watcher has back-filled every log file it found at start-up
// and the store holds `runs` runs; returns the last status.
json wait_for_backfill(const DaemonProcess& d, uint64_t runs) {
  json status;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    status = client_json(d, {"--no-spawn", "status", "--format", "json"});
    uint64_t total = u64(status, "backfill_files_total");
    if (total > 0 && u64(status, "backfill_files_done") == total &&
        u64(status, "runs_stored") == runs && u64(status, "runs_in_progress") == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status;
}

// A watched log dir holding corpus A's ten logs (ten top-level runs: ten sessions).
std::filesystem::path make_log_dir(const TempDir& dir) {
  auto logs = dir / "cargo-log";
  std::filesystem::create_directories(logs);
  for (const auto& e : std::filesystem::directory_iterator(fixture_path("corpus/A/logs"))) {
    std::filesystem::copy_file(e.path(), logs / e.path().filename());
  }
  return logs;
}

std::vector<std::string> listed_runs(const DaemonProcess& d) {
  auto j = client_json(d, {"report", "sessions", "--all", "--limit", "100", "--format", "json"});
  std::vector<std::string> runs;
  for (const auto& s : j["sessions"]) {
    for (const auto& r : s["runs"]) {
      runs.push_back(r["run_id"].get<std::string>());
    }
  }
  return runs;
}

TEST(Gc, KeepSessionsOneLeavesTheNewestAndTheWatcherDoesNotStoreDeletedLogsAgain) {
  TempDir dir;
  auto logs = make_log_dir(dir);
  const std::vector<std::string> args = {"--watch-dir", logs.string()};
  uint64_t kept_events = 0;
  {
    DaemonProcess daemon(dir / "daemon", args);
    ASSERT_TRUE(daemon.start());
    auto status = wait_for_backfill(daemon, 10);
    ASSERT_EQ(u64(status, "runs_stored"), 10u) << status.dump();
    ASSERT_EQ(u64(status, "sessions_stored"), 10u) << status.dump();
    const uint64_t events_before = u64(status, "events_stored");

    auto gc = client_json(daemon, {"gc", "--keep-sessions", "1", "--format", "json"});
    EXPECT_EQ(u64(gc, "sessions_deleted"), 9u) << gc.dump();
    EXPECT_EQ(u64(gc, "runs_deleted"), 9u) << gc.dump();
    EXPECT_EQ(u64(gc, "sessions_kept"), 1u) << gc.dump();
    EXPECT_GT(u64(gc, "events_deleted"), 0u) << gc.dump();
    EXPECT_GT(u64(gc, "bytes_before"), 0u) << gc.dump();

    EXPECT_EQ(listed_runs(daemon), std::vector<std::string>{k_newest_run});
    auto after = client_json(daemon, {"--no-spawn", "status", "--format", "json"});
    EXPECT_EQ(u64(after, "runs_stored"), 1u);
    kept_events = u64(after, "events_stored");
    EXPECT_EQ(kept_events, events_before - u64(gc, "events_deleted"));
  }

  // Restarted on the same logs: the read positions survived, so nothing comes back.
  DaemonProcess daemon(dir / "daemon", args);
  ASSERT_TRUE(daemon.start());
  auto status = wait_for_backfill(daemon, 1);
  EXPECT_EQ(u64(status, "backfill_files_done"), 10u) << status.dump();
  EXPECT_EQ(u64(status, "runs_stored"), 1u) << status.dump();
  EXPECT_EQ(u64(status, "events_stored"), kept_events) << status.dump();
  EXPECT_EQ(listed_runs(daemon), std::vector<std::string>{k_newest_run});
}

TEST(Gc, DryRunSaysWhatWouldGoAndDeletesNothing) {
  TempDir dir;
  DaemonProcess daemon(dir / "daemon", {"--no-watch"});
  ASSERT_TRUE(daemon.start());
  auto ingest = daemon.client({"ingest", fixture_path("corpus/A/logs").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;

  auto r = daemon.client({"gc", "--keep-sessions", "4", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("would remove 6 sessions (6 runs, ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("4 sessions kept"), std::string::npos) << r.out;
  EXPECT_EQ(listed_runs(daemon).size(), 10u);

  r = daemon.client({"gc", "--keep-sessions", "4", "--vacuum"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("removed 6 sessions (6 runs, ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(vacuumed)"), std::string::npos) << r.out;
  EXPECT_EQ(listed_runs(daemon).size(), 4u);
}

TEST(Gc, UnknownFormatIsAUsageError) {
  TempDir dir;
  auto r = run_client(dir / "run", {"--no-spawn", "gc", "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

} // namespace
} // namespace ca::test
