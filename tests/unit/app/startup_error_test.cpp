// How a failed start is reported: the exit code, and the spawn-error file a client waits for.
#include "daemon/app/startup_error.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace ca::app {
namespace {

TEST(StartupError, WritesWhatAndHintToTheSpawnErrorFileAndReturnsOne) {
  test::TempDir dir;
  const auto file = dir / "spawn-error";
  EXPECT_EQ(report_startup_error(StartupError{"cannot open x: denied", "fix it"}, file), 1);
  EXPECT_EQ(test::read_file(file), "cannot open x: denied (fix it)\n");
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp")); // renamed into place
}

TEST(StartupError, UsageErrorsReturnTwoAndWriteNoFile) {
  test::TempDir dir;
  const auto file = dir / "spawn-error";
  EXPECT_EQ(report_startup_error(StartupError{"team.url: bad", "", 2}, file), 2);
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST(StartupError, NoClientWaitingMeansNoFile) {
  test::TempDir dir;
  EXPECT_EQ(report_startup_error(StartupError{"broken"}, {}), 1);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

} // namespace
} // namespace ca::app
