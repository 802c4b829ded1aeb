// When retention runs: after the first delay, then every period, never on a cancelled timer.
#include "daemon/app/gc_scheduler.hpp"

#include <gtest/gtest.h>

namespace ca::app {
namespace {

using namespace std::chrono_literals;

TEST(GcScheduler, RunsAfterTheFirstDelayThenEveryPeriod) {
  boost::asio::io_context io;
  int runs = 0;
  GcScheduler gc(
      io, [&] { ++runs; }, 0ms, 1ms);
  gc.start();
  io.run_one();
  EXPECT_EQ(runs, 1);
  io.run_one();
  io.run_one();
  EXPECT_EQ(runs, 3);
}

TEST(GcScheduler, DoesNothingBeforeTheFirstDelay) {
  boost::asio::io_context io;
  int runs = 0;
  GcScheduler gc(
      io, [&] { ++runs; }, 1h, 1h);
  gc.start();
  io.poll(); // nothing is due
  EXPECT_EQ(runs, 0);
}

TEST(GcScheduler, DefaultsToAMinuteThenDaily) {
  EXPECT_EQ(GcScheduler::k_first_delay, std::chrono::minutes(1));
  EXPECT_EQ(GcScheduler::k_period, std::chrono::hours(24));
}

} // namespace
} // namespace ca::app
