// A new log file: its run is announced, then the correlator's facts go to the store.
#include "daemon/app/session_linker.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace ca::app {
namespace {

// No process at all: the correlator finds no writer.
class NoProcesses final : public correlate::ProcReader {
public:
  std::optional<correlate::ProcessInfo> info(pid_t) override { return std::nullopt; }
  std::optional<std::map<std::string, std::string>>
  environ(pid_t, const std::vector<std::string>&) override {
    return std::nullopt;
  }
  std::vector<pid_t> holders_of(const std::filesystem::path&) override { return {}; }
};

constexpr const char* k_run = "20261123T062751587Z-28b99174ef2c2ad6";

TEST(SessionLinker, AnnouncesTheRunThenSubmitsTheCorrelatorsFacts) {
  NoProcesses proc;
  correlate::Correlator correlator(proc);
  std::vector<std::string> calls;
  std::vector<store::Batch> submitted;
  SessionLinker linker(
      correlator, [&](const std::string& run) { calls.push_back("announce " + run); },
      [&](store::Batch b) {
        calls.push_back("submit");
        submitted.push_back(std::move(b));
      });
  linker.on_new_file(std::filesystem::path("/logs") / (std::string(k_run) + ".jsonl"), 7);
  ASSERT_EQ(calls, (std::vector<std::string>{std::string("announce ") + k_run, "submit"}));
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].source, "correlator");
  ASSERT_EQ(submitted[0].facts.size(), 1u);
  EXPECT_EQ(submitted[0].facts[0].run_id, k_run);
  EXPECT_TRUE(submitted[0].events.empty());
}

TEST(SessionLinker, IgnoresFilesNotNamedLikeCargoLogs) {
  NoProcesses proc;
  correlate::Correlator correlator(proc);
  int calls = 0;
  SessionLinker linker(
      correlator, [&](const std::string&) { ++calls; }, [&](store::Batch) { ++calls; });
  linker.on_new_file("/logs/notes.jsonl", 1);
  linker.on_new_file("/logs/.jsonl", 2);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(correlator.stats().runs_seen, 0u);
}

} // namespace
} // namespace ca::app
