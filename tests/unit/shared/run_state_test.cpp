#include "shared/run_state.hpp"

#include <gtest/gtest.h>

namespace ca {
namespace {

TEST(RunState, EveryStateRoundTripsThroughItsWord) {
  for (RunState s :
       {RunState::in_progress, RunState::completed, RunState::failed, RunState::interrupted}) {
    EXPECT_EQ(parse_run_state(to_string(s)), s) << to_string(s);
  }
  // The words are the interface: stored in the database, shown in JSON and over gRPC.
  EXPECT_EQ(to_string(RunState::in_progress), "in_progress");
  EXPECT_EQ(to_string(RunState::completed), "completed");
  EXPECT_EQ(to_string(RunState::failed), "failed");
  EXPECT_EQ(to_string(RunState::interrupted), "interrupted");
}

TEST(RunState, OtherWordsNameNoStateAndNoEnd) {
  for (const char* word : {"", "Completed", "in-progress", "done", "completed "}) {
    EXPECT_EQ(parse_run_state(word), std::nullopt) << word;
    EXPECT_FALSE(is_ended(word)) << word;
  }
  EXPECT_FALSE(is_ended("in_progress"));
  EXPECT_TRUE(is_ended("completed"));
  EXPECT_TRUE(is_ended("failed"));
  EXPECT_TRUE(is_ended("interrupted"));
  EXPECT_TRUE(is_state("failed", RunState::failed));
  EXPECT_FALSE(is_state("failed", RunState::completed));
}

} // namespace
} // namespace ca
