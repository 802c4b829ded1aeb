// The one-daemon-per-user lock.
#include "daemon/app/pid_lock.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace ca::app {
namespace {

TEST(PidLock, HoldsOurPidAndRefusesASecondHolderNamingTheFirst) {
  test::TempDir dir;
  auto first = PidLock::take(dir.path());
  ASSERT_TRUE(first) << first.error().message;
  const std::string pid = std::to_string(::getpid());
  EXPECT_EQ(test::read_file(dir / "daemon.lock"), pid + "\n");

  auto second = PidLock::take(dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::failed_precondition);
  EXPECT_EQ(second.error().message,
            "another cargo-analysisd (pid " + pid + ") holds " + (dir / "daemon.lock").string());
}

TEST(PidLock, IsReleasedWhenDestroyed) {
  test::TempDir dir;
  {
    auto held = PidLock::take(dir.path());
    ASSERT_TRUE(held);
  }
  EXPECT_TRUE(PidLock::take(dir.path()));
}

TEST(PidLock, AMissingDirIsAnIoErrorNamingTheFile) {
  test::TempDir dir;
  auto lock = PidLock::take(dir / "missing");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code, ErrorCode::io);
  EXPECT_NE(lock.error().message.find("missing/daemon.lock"), std::string::npos);
}

} // namespace
} // namespace ca::app
