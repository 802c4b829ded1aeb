// Exactly-once across crashes: the daemon back-fills 1,000 real cargo logs and is SIGKILLed at
// 20 points along the way, then restarted; in the end the stored events equal the files' lines
// exactly, in count and content, and no run is listed twice.
#include "daemon/store/run_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <thread>

namespace ca::test {
namespace {

constexpr int k_replays = 100; // x 10 corpus A logs = 1,000 files
constexpr int k_kills = 20;

// Writes corpus A's 10 logs `k_replays` times under fresh run ids; returns each run's lines.
std::map<std::string, std::vector<std::string>> make_logs(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::map<std::string, std::vector<std::string>> runs;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_path("corpus/A/logs"))) {
    std::string old_id = entry.path().stem().string();
    std::ifstream in(entry.path());
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) {
      lines.push_back(l);
    }
    for (int r = 0; r < k_replays; ++r) {
      char hash[17];
      std::snprintf(hash, sizeof hash, "%012x%04x", r, static_cast<unsigned>(runs.size() % 65536));
      std::string id = old_id.substr(0, old_id.size() - 16) + hash;
      auto& out_lines = runs[id];
      std::ofstream out(dir / (id + ".jsonl"));
      for (const auto& l : lines) {
        std::string copy = l;
        copy.replace(copy.find(old_id), old_id.size(), id);
        out << copy << '\n';
        out_lines.push_back(copy);
      }
    }
  }
  return runs;
}

uint64_t events_stored(const DaemonProcess& d) {
  auto r = d.client({"--no-spawn", "status", "--format", "json"});
  if (r.exit_code != 0) {
    return 0;
  }
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_object() ? std::stoull(j.value("events_stored", std::string("0"))) : 0;
}

TEST(CrashRecovery, KilledTwentyTimesWhileBackFillingStoresEveryLineExactlyOnce) {
  TempDir dir;
  auto runs = make_logs(dir / "cargo-log");
  uint64_t total = 0;
  for (const auto& [_, lines] : runs) {
    total += lines.size();
  }
  ASSERT_EQ(runs.size(), 1000u);

  std::vector<std::string> args = {"--watch-dir", (dir / "cargo-log").string(), "--log-level",
                                   "info"};
  for (int kill = 0; kill < k_kills; ++kill) {
    DaemonProcess daemon(dir / "daemon", args);
    ASSERT_TRUE(daemon.start());
    // Kill at a growing share of the work: when the store has passed the next threshold (or at
    // once, if start-up already went past it).
    uint64_t threshold = total * static_cast<uint64_t>(kill + 1) / (k_kills + 2);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (events_stored(daemon) < threshold && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    daemon.kill_hard();
  }

  DaemonProcess daemon(dir / "daemon", args);
  ASSERT_TRUE(daemon.start());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (events_stored(daemon) < total && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(events_stored(daemon), total);

  auto reader = store::RunReader::open(daemon.db_path());
  ASSERT_TRUE(reader);
  auto counts = (*reader)->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->runs, runs.size());
  EXPECT_EQ(counts->events, total);
  size_t mismatched = 0;
  for (const auto& [id, lines] : runs) {
    auto stored = (*reader)->events(id);
    ASSERT_TRUE(stored) << id;
    bool same = stored->size() == lines.size();
    for (size_t i = 0; same && i < lines.size(); ++i) {
      same = (*stored)[i].raw() == lines[i];
    }
    mismatched += same ? 0 : 1;
    auto run = (*reader)->run(id);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->state(), "completed") << id;
  }
  EXPECT_EQ(mismatched, 0u);
}

} // namespace
} // namespace ca::test
