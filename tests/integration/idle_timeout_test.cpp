// `cargo-analysisd --idle-timeout S`: the daemon exits 0 by itself after S idle seconds, and
// never while something uses it: an open NDJSON connection, a gRPC stream, or a build in
// progress (a watched log whose writer still holds its flock, as cargo does while it builds).
#include "tests/support/grpc_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_run_id = "20261123T120000000Z-00112233aabbccdd";

std::string build_started_line() {
  return std::string(R"({"run_id":")") + k_run_id +
         R"(","timestamp":"2026-11-23T12:00:00.000Z","reason":"build-started",)"
         R"("command":["cargo","build"],"cwd":"/tmp/ws","host":"x86_64-unknown-linux-gnu",)"
         R"("jobs":2,"num_cpus":2,"profile":"dev","rustc_version":"1.95.0",)"
         R"("rustc_version_verbose":"","target_dir":"/tmp/ws/target","workspace_root":"/tmp/ws"})"
         "\n";
}

int connect_unix(const fs::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(IdleTimeout, DaemonExitsCleanlyWhenNothingHappens) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--idle-timeout", "0.5"});
  ASSERT_TRUE(daemon.start());
  auto code = daemon.wait_for_exit(20s);
  ASSERT_TRUE(code.has_value()) << "still running long after its idle timeout";
  EXPECT_EQ(*code, 0);
  EXPECT_NE(daemon.log().find("shutting down (idle timeout)"), std::string::npos) << daemon.log();
  EXPECT_FALSE(fs::exists(daemon.runtime_dir() / "grpc.sock"));
}

// The tests below connect after start-up: their timeout leaves a slow machine (or ASan) time to
// connect before the daemon may go, and they then wait for more than two timeouts.
constexpr const char* k_connect_timeout = "2";
constexpr auto k_two_and_a_half_timeouts = 5s;

TEST(IdleTimeout, AnOpenIngestConnectionKeepsTheDaemonUp) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--idle-timeout", k_connect_timeout});
  ASSERT_TRUE(daemon.start());
  int fd = connect_unix(daemon.runtime_dir() / "ingest.sock");
  ASSERT_GE(fd, 0);
  // A producer connected but quiet.
  EXPECT_FALSE(daemon.wait_for_exit(k_two_and_a_half_timeouts).has_value())
      << "exited under an open connection";
  ::close(fd);
  auto code = daemon.wait_for_exit(20s);
  ASSERT_TRUE(code.has_value()) << "did not exit once the connection closed";
  EXPECT_EQ(*code, 0);
}

TEST(IdleTimeout, AWatchStreamKeepsTheDaemonUp) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--idle-timeout", k_connect_timeout});
  ASSERT_TRUE(daemon.start());
  {
    WatchStream watch(daemon_channel(daemon.runtime_dir()), cargo_analysis::v1::WatchRequest{});
    ASSERT_TRUE(watch.wait_count(1, 10s)); // the snapshot: the stream is open
    EXPECT_FALSE(daemon.wait_for_exit(k_two_and_a_half_timeouts).has_value())
        << "exited under an open Watch stream";
    watch.stop();
  }
  auto code = daemon.wait_for_exit(20s);
  ASSERT_TRUE(code.has_value()) << "did not exit once the stream ended";
  EXPECT_EQ(*code, 0);
}

TEST(IdleTimeout, ABuildInProgressKeepsTheDaemonUpUntilItEnds) {
  TempDir dir;
  auto logs = dir / "logs";
  fs::create_directories(logs);
  DaemonProcess daemon(dir / "d",
                       {"--watch-dir", logs.string(), "--idle-timeout", k_connect_timeout});
  ASSERT_TRUE(daemon.start());
  // What cargo does: create the log, hold an exclusive flock while building, write events.
  auto path = logs / (std::string(k_run_id) + ".jsonl");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  auto line = build_started_line();
  ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  // The build goes on, quietly.
  EXPECT_FALSE(daemon.wait_for_exit(k_two_and_a_half_timeouts).has_value())
      << "exited during a build in progress";
  ::flock(fd, LOCK_UN);
  ::close(fd);
  auto code = daemon.wait_for_exit(30s);
  ASSERT_TRUE(code.has_value()) << "did not exit after the build ended";
  EXPECT_EQ(*code, 0);
  // The build was stored, with its end, before the daemon went away.
  DaemonProcess again(dir / "d", {"--no-watch"});
  ASSERT_TRUE(again.start());
  auto r = again.client({"report", "sessions", "--all", "--format", "json"});
  EXPECT_NE(r.out.find(k_run_id), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("in_progress"), std::string::npos) << r.out;
}

} // namespace
} // namespace ca::test
