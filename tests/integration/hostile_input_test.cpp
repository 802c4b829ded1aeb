// Hostile file names, endless inputs, odd files and floods against the real daemon (issues #18
// and #15): what a same-user attacker, or an accident, can put in the watched log dir or send
// to the sockets. Each test checks that `status` still answers and decodes afterwards.
#include "tests/support/ndjson.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

namespace ca::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* k_log_a = "corpus/A/logs/20261123T062716161Z-28b99174ef2c2ad6.jsonl";
constexpr const char* k_run_a = "20261123T062716161Z-28b99174ef2c2ad6";
constexpr const char* k_log_b = "corpus/A/logs/20261123T062731277Z-28b99174ef2c2ad6.jsonl";
constexpr const char* k_run_b = "20261123T062731277Z-28b99174ef2c2ad6";

// Polls `pred` every 10 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

json status_json(const DaemonProcess& d) {
  auto r = d.client({"--no-spawn", "status", "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

uint64_t number(const json& j, const char* key) {
  if (!j.contains(key)) {
    return 0;
  }
  return j[key].is_string() ? std::stoull(j[key].get<std::string>()) : j[key].get<uint64_t>();
}

json source(const json& status, const std::string& name) {
  for (const auto& s : status.value("sources", json::array())) {
    if (s.value("name", "") == name) {
      return s;
    }
  }
  return json::object();
}

json runs_of(const DaemonProcess& d) {
  // Exit 1 with "no sessions found" while there is none yet.
  auto r = d.client({"--no-spawn", "report", "sessions", "--all", "--format", "json"});
  json runs = json::array();
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_discarded()) {
    return runs;
  }
  for (const auto& s : j.value("sessions", json::array())) {
    for (const auto& run : s.value("runs", json::array())) {
      runs.push_back(run);
    }
  }
  return runs;
}

// The state of run `id` as listed, or "" if it is not.
std::string run_state(const DaemonProcess& d, const std::string& id) {
  for (const auto& run : runs_of(d)) {
    if (run.value("run_id", "") == id) {
      return run.value("state", "");
    }
  }
  return "";
}

// Copies `fixture` into `dir` under its own name, by a rename (as a complete log appears).
std::filesystem::path drop_log(const std::filesystem::path& dir, const char* fixture) {
  auto from = fixture_path(fixture);
  auto tmp = dir.parent_path() / (from.filename().string() + ".part");
  std::filesystem::copy_file(from, tmp, std::filesystem::copy_options::overwrite_existing);
  auto to = dir / from.filename();
  std::filesystem::rename(tmp, to);
  return to;
}

struct ProcUsage {
  double cpu_secs = 0;
  uint64_t rss_kb = 0;
  uint64_t fds = 0;
};

ProcUsage usage_of(pid_t pid) {
  ProcUsage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(all.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14 || i == 15) { // utime, stime
        u.cpu_secs += std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
      }
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      u.rss_kb = std::stoull(line.substr(6));
    }
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++u.fds;
  }
  return u;
}

int connect_unix(const std::filesystem::path& path) {
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

class WatchedDir : public ::testing::Test {
protected:
  void SetUp() override {
    std::filesystem::create_directories(logs);
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(
        wait_until([&] { return daemon.log().find("back-fill done") != std::string::npos; }));
  }
  TempDir dir;
  std::filesystem::path logs = dir / "cargo-log";
  DaemonProcess daemon{dir / "d", {"--watch-dir", logs.string()}};
};

// A log named with bytes that are not UTF-8 and holding a bad line: its path reaches the
// watcher's last error, a protobuf `string`; `status` still decodes, with the bytes escaped.
TEST_F(WatchedDir, FileNameThatIsNotUtf8LeavesStatusDecodable) {
  std::ofstream(logs / "bad-\xff\xfe.jsonl") << "this is not json\n";
  ASSERT_TRUE(wait_until(
      [&] { return number(source(status_json(daemon), "watcher"), "lines_rejected") >= 1; }));
  auto human = daemon.client({"--no-spawn", "status"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  const json watcher = source(status_json(daemon), "watcher");
  EXPECT_NE(watcher.value("last_error", "").find("bad-\\xff\\xfe.jsonl:1: "), std::string::npos)
      << watcher.dump();
  EXPECT_NE(human.out.find("bad-\\xff\\xfe.jsonl:1: "), std::string::npos) << human.out;
  EXPECT_EQ(daemon.log().find("bad-\xff"), std::string::npos); // escaped in the log too
}

// A newline in a file name must not start a line of the daemon's log (nor of `status`).
TEST_F(WatchedDir, NewlineInFileNameForgesNoLogLine) {
  const std::string forged = "[2026-12-02 00:00:00.000] [cargo-analysisd] [error] FORGED";
  std::ofstream(logs / ("x.jsonl\n" + forged + ".jsonl")) << "this is not json\n";
  ASSERT_TRUE(wait_until(
      [&] { return number(source(status_json(daemon), "watcher"), "lines_rejected") >= 1; }));
  const std::string log = daemon.log();
  EXPECT_NE(log.find("x.jsonl\\n" + forged), std::string::npos) << log; // it is there, escaped
  EXPECT_EQ(log.find("\n" + forged), std::string::npos) << log;         // never as a line
  auto human = daemon.client({"--no-spawn", "status"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out.find("\n" + forged), std::string::npos) << human.out;
}

// FIFOs, symlinks to a directory, to a device and out of the log dir, all named like logs: none
// is read or blocks the watcher, none becomes a run, before or after a restart; a real log
// dropped beside them is stored and ends. A symlink to a log-less regular file inside the dir is
// followed.
TEST_F(WatchedDir, OddFilesNamedLikeLogsMakeNoRunAndBlockNothing) {
  ASSERT_EQ(::mkfifo((logs / "20261202T000000001Z-0000000000000001.jsonl").c_str(), 0600), 0);
  std::filesystem::create_directories(dir / "a-dir");
  std::filesystem::create_symlink(dir / "a-dir",
                                  logs / "20261202T000000002Z-0000000000000002.jsonl");
  std::filesystem::create_symlink("/dev/zero", logs / "20261202T000000003Z-0000000000000003.jsonl");
  std::filesystem::create_symlink("/etc/passwd",
                                  logs / "20261202T000000004Z-0000000000000004.jsonl");
  std::filesystem::create_symlink(fixture_path(k_log_b), logs / (std::string(k_run_b) + ".jsonl"));
  drop_log(logs, k_log_a);
  ASSERT_TRUE(wait_until([&] { return run_state(daemon, k_run_a) == "completed"; }));

  auto check = [&] {
    const json runs = runs_of(daemon);
    ASSERT_EQ(runs.size(), 1u) << runs.dump();
    EXPECT_EQ(runs[0].value("run_id", ""), k_run_a);
    const json status = status_json(daemon);
    EXPECT_EQ(number(status, "runs_in_progress"), 0u) << status.dump();
    EXPECT_EQ(number(source(status, "watcher"), "lines_rejected"), 0u) << status.dump();
  };
  check();
  EXPECT_NE(daemon.log().find("is not read: a FIFO"), std::string::npos);
  EXPECT_NE(daemon.log().find("is not read: a symlink"), std::string::npos);
  ASSERT_EQ(daemon.stop(), 0);
  ASSERT_TRUE(daemon.start()); // the back-fill scan meets them all again
  ASSERT_TRUE(wait_until([&] {
    const std::string log = daemon.log();
    const auto first = log.find("back-fill done");
    return first != std::string::npos && log.find("back-fill done", first + 1) != std::string::npos;
  }));
  check();

  // A symlink to a regular file of the same dir, not itself named like a log, is followed.
  std::filesystem::copy_file(fixture_path(k_log_b), logs / "kept-aside.txt");
  std::filesystem::remove(logs / (std::string(k_run_b) + ".jsonl"));
  std::filesystem::create_symlink(logs / "kept-aside.txt",
                                  logs / (std::string(k_run_b) + ".jsonl"));
  EXPECT_TRUE(wait_until([&] { return run_state(daemon, k_run_b) == "completed"; }));
}

// A 20 GB sparse file named like a log (all zeros: one endless line) beside a normal log: the
// normal log is stored as soon as without it, and the sparse file's run does not stay in
// progress.
TEST_F(WatchedDir, HugeSparseFileDoesNotHoldUpAnotherLog) {
  auto stored = [&](const char* run) { return run_state(daemon, run) == "completed"; };
  auto t0 = Clock::now();
  drop_log(logs, k_log_b);
  ASSERT_TRUE(wait_until([&] { return stored(k_run_b); }));
  const auto alone = Clock::now() - t0;

  const auto sparse = logs / "20261202T000000005Z-0000000000000005.jsonl";
  auto r = run_command({"truncate", "-s", "20G", sparse.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  t0 = Clock::now();
  drop_log(logs, k_log_a);
  ASSERT_TRUE(wait_until([&] { return stored(k_run_a); }));
  const auto beside = Clock::now() - t0;

  using ms = std::chrono::milliseconds;
  std::cout << "[ figures  ] a normal log stored in "
            << std::chrono::duration_cast<ms>(alone).count() << " ms alone, "
            << std::chrono::duration_cast<ms>(beside).count()
            << " ms beside a 20 GB sparse file (each includes the client's polling)\n";
  EXPECT_LT(beside, std::chrono::seconds(2));
  // The sparse file is abandoned as not a log, and the run its name announced ends.
  EXPECT_TRUE(wait_until([&] { return number(status_json(daemon), "runs_in_progress") == 0; }))
      << status_json(daemon).dump();
  EXPECT_NE(run_state(daemon, "20261202T000000005Z-0000000000000005"), "in_progress");
}

class Socket : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(daemon.start()); }
  TempDir dir;
  DaemonProcess daemon{dir.path(), {"--no-watch"}};
};

// One endless line: cut off with the garbage producer's answer, within 2 s.
TEST_F(Socket, IngestOfDevZeroIsCutOffWithinTwoSeconds) {
  const ProcUsage before = usage_of(daemon.pid());
  const auto t0 = Clock::now();
  auto r = daemon.client({"--no-spawn", "ingest", "/dev/zero"},
                         CommandOptions{{}, {}, {}, std::chrono::seconds(30), {}});
  const auto took = Clock::now() - t0;
  const ProcUsage after = usage_of(daemon.pid());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/dev/zero:1: line is over the 1048576-byte limit"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("/dev/zero: the daemon stopped reading it after too many bad lines in a "
                       "row"),
            std::string::npos)
      << r.err;
  EXPECT_LT(took, std::chrono::seconds(2));
  const json socket = source(status_json(daemon), "socket");
  EXPECT_EQ(number(socket, "lines_rejected"), 100u) << socket.dump(); // one per MiB
  EXPECT_EQ(number(socket, "producers_disconnected"), 1u);
  std::cout << "[ figures  ] ingest /dev/zero cut off after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms, ~100 MiB read, daemon CPU " << (after.cpu_secs - before.cpu_secs) << " s\n";
  // The socket goes on: a good producer is answered.
  auto good = send_ndjson(dir / "run" / "ingest.sock", read_file(fixture_path(k_log_a)));
  EXPECT_EQ(good.value("accepted", 0), 402) << good.dump();
}

// A line over the limit costs one rejection per MiB and the stream goes on.
TEST_F(Socket, LongLineCountsOneRejectionPerMiBAndTheStreamGoesOn) {
  std::string data(3 * (1u << 20) + 10, 'x');
  data += '\n';
  data += read_file(fixture_path(k_log_a));
  auto summary = send_ndjson(dir / "run" / "ingest.sock", data);
  EXPECT_EQ(summary.value("rejected", 0), 3) << summary.dump();
  EXPECT_EQ(summary.value("accepted", 0), 402) << summary.dump();
  EXPECT_FALSE(summary.value("disconnected", true));
}

// About 1,000 idle connections on ingest.sock: `status` answers within 1 s each time, the
// daemon's CPU stays idle, its memory and descriptors come back when they close.
TEST_F(Socket, ThousandIdleConnectionsLeaveStatusAnsweringAndCpuIdle) {
  constexpr int k_connections = 1000;
  const ProcUsage start = usage_of(daemon.pid());
  std::vector<int> fds;
  for (int i = 0; i < k_connections; ++i) {
    int fd = connect_unix(dir / "run" / "ingest.sock");
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    fds.push_back(fd);
  }
  // Half of them send a partial line and go quiet.
  for (size_t i = 0; i < fds.size(); i += 2) {
    ASSERT_EQ(::write(fds[i], "{\"run_id\":", 10), 10);
  }
  ASSERT_TRUE(wait_until([&] {
    return usage_of(daemon.pid()).fds >= start.fds + k_connections - 20;
  })) << usage_of(daemon.pid()).fds
      << " descriptors open, " << start.fds << " before";
  const ProcUsage flooded = usage_of(daemon.pid());
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < 5; ++i) {
    const auto t0 = Clock::now();
    auto r = daemon.client({"--no-spawn", "status"});
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    worst = std::max(worst, took);
  }
  EXPECT_LT(worst, std::chrono::seconds(1));
  // A good producer is answered too.
  auto good = send_ndjson(dir / "run" / "ingest.sock", read_file(fixture_path(k_log_a)));
  EXPECT_EQ(good.value("accepted", 0), 402) << good.dump();
  // Idle: about no CPU over a second while the connections stay open.
  const ProcUsage t1 = usage_of(daemon.pid());
  std::this_thread::sleep_for(std::chrono::seconds(1)); // measuring idleness takes a wait
  const ProcUsage t2 = usage_of(daemon.pid());
  EXPECT_LT(t2.cpu_secs - t1.cpu_secs, 0.2);
  for (int fd : fds) {
    ::close(fd);
  }
  ASSERT_TRUE(wait_until([&] { return usage_of(daemon.pid()).fds <= start.fds + 20; }))
      << usage_of(daemon.pid()).fds << " descriptors open, " << start.fds << " before";
  const ProcUsage end = usage_of(daemon.pid());
  std::cout << "[ figures  ] " << k_connections << " idle connections: RSS " << start.rss_kb
            << " -> " << flooded.rss_kb << " -> " << end.rss_kb << " kB, fds " << start.fds
            << " -> " << flooded.fds << " -> " << end.fds << ", status worst " << worst.count()
            << " ms, CPU over 1 s idle " << (t2.cpu_secs - t1.cpu_secs) << " s\n";
}

// Another uid on grpc.sock (the runtime dir opened up on purpose) is refused before HTTP/2;
// our own uid gets the server's SETTINGS frame.
TEST_F(Socket, GrpcSocketRefusesAnotherUid) {
  if (::getuid() != 0) {
    GTEST_SKIP() << "needs root to connect as another uid";
  }
  const auto grpc_sock = dir / "run" / "grpc.sock";
  for (auto p = grpc_sock.parent_path(); p != p.root_path(); p = p.parent_path()) {
    std::filesystem::permissions(p, std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::add);
    if (p == std::filesystem::temp_directory_path()) {
      break;
    }
  }
  ::chmod(grpc_sock.c_str(), 0666);
  // Sends the HTTP/2 preface and an empty SETTINGS frame; returns the bytes answered before
  // EOF or 2 s (0: refused).
  auto probe = [&](uid_t uid) {
    int pipefd[2];
    EXPECT_EQ(::pipe(pipefd), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(pipefd[0]);
      if (uid != 0 && (::setgid(uid) != 0 || ::setuid(uid) != 0)) {
        ::_exit(2);
      }
      int fd = connect_unix(grpc_sock);
      long got = -1;
      if (fd >= 0) {
        static const char k_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
        (void)::send(fd, k_preface, sizeof k_preface - 1, MSG_NOSIGNAL); // refused: EPIPE
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[256];
        ssize_t n = ::read(fd, buf, sizeof buf);
        got = n < 0 ? 0 : n;
      }
      (void)::write(pipefd[1], &got, sizeof got);
      ::_exit(0);
    }
    ::close(pipefd[1]);
    long got = -2;
    EXPECT_EQ(::read(pipefd[0], &got, sizeof got), static_cast<ssize_t>(sizeof got));
    ::close(pipefd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return got;
  };
  EXPECT_GT(probe(0), 0);     // our uid: the server's SETTINGS
  EXPECT_EQ(probe(65534), 0); // nobody: closed before a byte
  EXPECT_NE(daemon.log().find("grpc socket: refused a connection from uid 65534"),
            std::string::npos);
  EXPECT_EQ(daemon.client({"--no-spawn", "status"}).exit_code, 0);
}

// A second daemon on the same state dir, with another runtime dir, exits 1 naming the first.
TEST(StateDirLock, SecondDaemonOnTheSameStateDirExitsNamingTheFirst) {
  TempDir dir;
  DaemonProcess first(dir.path(), {"--no-watch"});
  ASSERT_TRUE(first.start());
  auto r = run_command({CA_DAEMON_BIN, "--foreground", "--no-watch", "--runtime-dir",
                        (dir / "run2").string(), "--state-dir", first.state_dir().string()},
                       CommandOptions{{}, {}, {}, std::chrono::seconds(20), {}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cargo-analysisd: error: another cargo-analysisd (pid " +
                       std::to_string(first.pid()) + ", runtime dir " +
                       first.runtime_dir().string() + ") uses the state dir " +
                       first.state_dir().string()),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "run2" / "ingest.sock"));
  EXPECT_EQ(first.client({"--no-spawn", "status"}).exit_code, 0); // the first serves on
}

} // namespace
} // namespace ca::test
