// The idle timeout's decision, and that it asks for the shutdown once, from the event loop.
#include "daemon/app/idle_monitor.hpp"

#include <gtest/gtest.h>

namespace ca::app {
namespace {

using namespace std::chrono_literals;

TEST(IdleMonitor, ChecksAQuarterOfTheTimeoutApartWithinBounds) {
  EXPECT_EQ(IdleMonitor::check_period(2s), 500ms);
  EXPECT_EQ(IdleMonitor::check_period(1ms), 100ms);
  EXPECT_EQ(IdleMonitor::check_period(1h), 5s);
}

TEST(IdleMonitor, NotIdleWhileAConnectionIsOpenOrSomethingElseIsInUse) {
  boost::asio::io_context io;
  runtime::ActivityMonitor activity;
  bool in_use = false;
  IdleMonitor monitor(
      io, activity, 1ns, [&] { return in_use; }, [] {});
  {
    auto busy = activity.busy();
    EXPECT_FALSE(monitor.idle());
  }
  in_use = true;
  EXPECT_FALSE(monitor.idle());
  in_use = false;
  IdleMonitor long_timeout(
      io, activity, 1h, [] { return false; }, [] {});
  EXPECT_FALSE(long_timeout.idle());
}

TEST(IdleMonitor, AsksForTheShutdownOnceWhenIdle) {
  boost::asio::io_context io;
  runtime::ActivityMonitor activity;
  int asked = 0;
  IdleMonitor monitor(
      io, activity, 1ns, [] { return false; }, [&] { ++asked; });
  monitor.start();
  io.run(); // returns once the monitor stops checking
  EXPECT_EQ(asked, 1);
}

TEST(IdleMonitor, KeepsCheckingWhileInUse) {
  boost::asio::io_context io;
  runtime::ActivityMonitor activity;
  int checks = 0;
  int asked = 0;
  IdleMonitor monitor(
      io, activity, 1ns, [&] { return ++checks < 3; }, [&] { ++asked; });
  monitor.start();
  io.run();
  EXPECT_EQ(checks, 3);
  EXPECT_EQ(asked, 1);
}

} // namespace
} // namespace ca::app
