#include "daemon/app/shutdown_latch.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace ca::app {
namespace {

TEST(ShutdownLatch, TheFirstReasonWins) {
  ShutdownLatch latch;
  latch.request("SIGTERM");
  latch.request("idle timeout");
  EXPECT_EQ(latch.wait(), "SIGTERM");
}

TEST(ShutdownLatch, WaitReturnsOnceAnotherThreadAsks) {
  ShutdownLatch latch;
  std::thread asker([&] { latch.request("Admin.Shutdown"); });
  EXPECT_EQ(latch.wait(), "Admin.Shutdown");
  asker.join();
}

} // namespace
} // namespace ca::app
