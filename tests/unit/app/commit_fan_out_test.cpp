// What each commit tells the parts that follow commits.
#include "daemon/app/commit_fan_out.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace ca::app {
namespace {

store::RunFacts fact(const std::string& run, bool ended) {
  store::RunFacts f;
  f.run_id = run;
  f.ended = ended;
  return f;
}

TEST(CommitFanOut, EndedRunsGoToEveryObserverInOrderThenTheBatchToTheLiveView) {
  runtime::ActivityMonitor activity;
  std::vector<std::string> calls;
  CommitFanOut fan_out(activity, [&](store::Batch&& b, const store::BatchOutcome& o) {
    calls.push_back("batch of " + std::to_string(b.facts.size()) + " facts, " +
                    std::to_string(o.inserted) + " inserted");
    store::Batch taken = std::move(b); // the last observer may move from it
  });
  fan_out.on_run_ended([&](const std::string& run) { calls.push_back("reports " + run); });
  fan_out.on_run_ended([&](const std::string& run) { calls.push_back("sampler " + run); });

  store::Batch batch;
  batch.facts = {fact("a", true), fact("b", false), fact("c", true)};
  store::BatchOutcome outcome;
  outcome.inserted = 5;
  fan_out(std::move(batch), outcome);
  EXPECT_EQ(calls, (std::vector<std::string>{"reports a", "sampler a", "reports c", "sampler c",
                                             "batch of 3 facts, 5 inserted"}));
}

TEST(CommitFanOut, ACommitIsActivity) {
  runtime::ActivityMonitor activity;
  CommitFanOut fan_out(activity, nullptr);
  // Let the idle time grow well past what the call below can take (no sleep: a busy wait).
  const auto start = std::chrono::steady_clock::now();
  while (activity.idle_for() < std::chrono::milliseconds(50)) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }
  fan_out(store::Batch{}, store::BatchOutcome{});
  EXPECT_LT(activity.idle_for(), std::chrono::milliseconds(50));
}

} // namespace
} // namespace ca::app
