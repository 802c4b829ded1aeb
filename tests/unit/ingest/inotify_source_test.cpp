#include "daemon/ingest/inotify_source.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>
#include <sys/inotify.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ca::ingest {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

void touch(const fs::path& path) {
  std::ofstream(path) << "";
}

// Records what the source reports; the io_context is stopped as soon as `done()` holds, so a test
// waits for the kernel's events, not for a fixed time (run_for is only the bound on a failure).
struct Recorder {
  std::vector<std::pair<std::string, uint32_t>> files;
  std::vector<size_t> scans;
  int overflows = 0;

  InotifySource::Handlers handlers(asio::io_context& io, std::function<bool()> done) {
    auto check = [&io, done] {
      if (done()) {
        io.stop();
      }
    };
    InotifySource::Handlers h;
    h.scan = [this, check](size_t dir) {
      scans.push_back(dir);
      check();
    };
    h.file_event = [this, check](const fs::path& path, uint32_t mask) {
      files.emplace_back(path.filename().string(), mask);
      check();
    };
    h.overflow = [this] { ++overflows; };
    return h;
  }
};

TEST(InotifySource, ReportsLogFilesOfAWatchedDirAndNothingElse) {
  test::TempDir tmp;
  const fs::path logs = tmp / "log";
  fs::create_directories(logs);
  asio::io_context io;
  InotifySource source(io, {logs});
  ASSERT_TRUE(source.open());
  EXPECT_EQ(source.watch(), std::vector<size_t>{0}) << "a dir that exists is scanned at once";
  EXPECT_EQ(source.dir(0), logs);

  Recorder seen;
  asio::co_spawn(io, source.read(seen.handlers(io, [&] { return !seen.files.empty(); })),
                 asio::detached);
  // Not logs: reported neither before nor with the log created after them.
  touch(logs / "notes.txt");
  fs::create_directory(logs / "sub.jsonl");
  touch(logs / "20261123T062731277Z-28b99174ef2c2ad6.jsonl");
  io.run_for(std::chrono::seconds(10));

  ASSERT_FALSE(seen.files.empty());
  EXPECT_EQ(seen.files.front().first, "20261123T062731277Z-28b99174ef2c2ad6.jsonl");
  EXPECT_NE(seen.files.front().second & IN_CREATE, 0u);
  for (const auto& [name, mask] : seen.files) {
    EXPECT_EQ(name, "20261123T062731277Z-28b99174ef2c2ad6.jsonl");
  }
  EXPECT_TRUE(seen.scans.empty());
  source.close();
}

TEST(InotifySource, ADirCreatedAfterStartIsHandedOverForAScan) {
  test::TempDir tmp;
  const fs::path logs = tmp / "cargo" / "log";
  asio::io_context io;
  InotifySource source(io, {logs});
  ASSERT_TRUE(source.open());
  EXPECT_TRUE(source.watch().empty()) << "nothing to scan before cargo creates its log dir";

  Recorder seen;
  asio::co_spawn(io, source.read(seen.handlers(io, [&] { return !seen.scans.empty(); })),
                 asio::detached);
  fs::create_directories(logs); // cargo's `mkdir -p` on its first logged build
  io.run_for(std::chrono::seconds(10));

  EXPECT_EQ(seen.scans, std::vector<size_t>{0});
  source.close();
}

TEST(InotifySource, ReadEndsOnceClosed) {
  test::TempDir tmp;
  asio::io_context io;
  InotifySource source(io, {tmp.path()});
  ASSERT_TRUE(source.open());
  source.watch();
  bool ended = false;
  Recorder seen;
  asio::co_spawn(io, source.read(seen.handlers(io, [] { return false; })),
                 [&](std::exception_ptr) { ended = true; });
  io.poll(); // the read is waiting for events
  EXPECT_FALSE(ended);
  source.close();
  io.run_for(std::chrono::seconds(10)); // returns as soon as nothing is left to run
  EXPECT_TRUE(ended);
}

} // namespace
} // namespace ca::ingest
