// systemd socket activation: the daemon adopts the ingest socket passed as fd 3
// (systemd-socket-activate plays systemd's part, as `cargo-analysisd.socket` would).
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace ca::test {
namespace {

TEST(SocketActivation, DaemonStartsOnFirstConnectionAndTakesTheLines) {
  if (::access("/usr/bin/systemd-socket-activate", X_OK) != 0) {
    GTEST_SKIP() << "systemd-socket-activate is not installed (package systemd)";
  }
  TempDir dir;
  auto run = dir / "run";
  std::filesystem::create_directories(run);
  ::chmod(run.c_str(), 0700);
  auto socket = run / "ingest.sock";
  pid_t pid = ::fork();
  if (pid == 0) {
    int log = ::open((dir / "daemon.log").c_str(), O_WRONLY | O_CREAT, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::string listen = socket.string();
    std::string state = (dir / "state").string();
    ::execl("/usr/bin/systemd-socket-activate", "systemd-socket-activate", "-l", listen.c_str(),
            CA_DAEMON_BIN, "--foreground", "--no-watch", "--runtime-dir", run.c_str(),
            "--state-dir", state.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 500 && !std::filesystem::exists(socket); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(socket));
  std::string line =
      R"({"run_id":"20261123T062716161Z-28b99174ef2c2ad6","timestamp":"2026-11-23T06:27:16.2Z",)"
      R"("reason":"resolution-started","elapsed":0.01})"
      "\n";
  auto summary = send_ndjson(socket, line); // this connection starts the daemon
  EXPECT_EQ(summary.value("stored", 0), 1) << summary.dump();
  auto status = run_client(run, {"--no-spawn", "status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_file(dir / "daemon.log");
  EXPECT_NE(read_file(dir / "daemon.log").find("using the socket passed by systemd"),
            std::string::npos);
}

} // namespace
} // namespace ca::test
