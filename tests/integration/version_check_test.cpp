// Client and daemon of different versions (a daemon left running across an upgrade), and the
// daemon's configuration file as `status` shows it. The daemon plays an older release through
// its test hook CARGO_ANALYSIS_TEST_REPORTED_VERSION (daemon/main.cpp).
#include "cargo_analysis/v1/admin.pb.h"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
namespace v1 = cargo_analysis::v1;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* k_old = "0.0.1-old";
const std::map<std::string, std::string> k_old_env = {
    {"CARGO_ANALYSIS_TEST_REPORTED_VERSION", k_old}};

v1::StatusResponse parse_status(const CommandResult& r) {
  v1::StatusResponse status;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &status, options).ok()) << r.out;
  return status;
}

// Keeps a daemon that a client started (detached) from outliving the test.
struct StopOnExit {
  fs::path runtime;
  ~StopOnExit() { run_client(runtime, {"--no-spawn", "stop"}); }
};

TEST(VersionCheck, SameVersionSaysNothing) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start());
  auto r = daemon.client({"--no-spawn", "status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, Not(HasSubstr("another version")));
}

TEST(VersionCheck, AnotherVersionStartedByAUserIsReportedWithTheFix) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start(k_old_env));
  auto r = daemon.client({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.err; // the command still runs
  EXPECT_THAT(r.out, HasSubstr(std::string("cargo-analysisd ") + k_old + " (pid "));
  EXPECT_THAT(r.err, HasSubstr(std::string("cargo-analysis-client: warning: cargo-analysisd ") +
                               k_old + " is running, but this client is " + CA_VERSION));
  EXPECT_THAT(r.err, HasSubstr("note: restart it with: cargo-analysis-client stop"));
  EXPECT_THAT(r.err, HasSubstr("systemctl --user restart cargo-analysisd"));
  EXPECT_TRUE(daemon.running()) << "a daemon the client did not start was stopped";

  auto st = daemon.client({"status"});
  EXPECT_THAT(st.out, HasSubstr(std::string("client:     ") + CA_VERSION + ": another version"));
  auto json = parse_status(daemon.client({"status", "--format", "json"}));
  EXPECT_EQ(json.version(), k_old);
  EXPECT_FALSE(json.started_by_client());
  EXPECT_EQ(json.pid(), static_cast<uint32_t>(daemon.pid()));
  EXPECT_THAT(daemon.log(), HasSubstr(std::string("a client of version ") + CA_VERSION +
                                      " talks to this daemon of version " + k_old));
}

TEST(VersionCheck, AnotherVersionStartedByAClientIsRestarted) {
  TempDir dir;
  // As a client of the old release would have started it.
  DaemonProcess daemon(dir / "d", {"--no-watch", "--spawned-by-client"});
  ASSERT_TRUE(daemon.start(k_old_env));
  StopOnExit cleanup{daemon.runtime_dir()};
  CommandOptions opts;
  opts.env = {{"CARGO_ANALYSIS_STATE_DIR", daemon.state_dir().string()},
              {"CARGO_HOME", (dir / "cargo-home").string()}};
  opts.unset_env = {"CARGO_ANALYSIS_TEST_REPORTED_VERSION"};
  auto r = daemon.client({"status", "--format", "json"}, opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr(std::string("warning: restarted cargo-analysisd ") + k_old + " as " +
                               CA_VERSION));
  auto old_exit = daemon.wait_for_exit(10s);
  ASSERT_TRUE(old_exit.has_value()) << "the old daemon is still running";
  EXPECT_EQ(*old_exit, 0);
  auto status = parse_status(r);
  EXPECT_EQ(status.version(), CA_VERSION);
  EXPECT_TRUE(status.started_by_client());
  EXPECT_NE(status.pid(), static_cast<uint32_t>(daemon.pid()));

  // The next command talks to the new daemon without a word.
  auto again = daemon.client({"--no-spawn", "status"}, opts);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.err, "");
}

TEST(VersionCheck, NoSpawnOnlyReports) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch", "--spawned-by-client"});
  ASSERT_TRUE(daemon.start(k_old_env));
  auto r = daemon.client({"--no-spawn", "status"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is running, but this client is"));
  EXPECT_TRUE(daemon.running());
}

TEST(VersionCheck, StopStopsAnotherVersionQuietly) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start(k_old_env));
  auto r = daemon.client({"stop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("warning")));
  auto code = daemon.wait_for_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

TEST(ConfigFile, StatusShowsEachSettingAndWhereItCameFrom) {
  TempDir dir;
  auto file = dir / "config.toml";
  std::ofstream(file) << "[retention]\nmax_db_mb = 64\nkeep_sessions = 3\n[team]\nmachine = "
                         "\"runner-7\"\n";
  DaemonProcess daemon(dir / "d",
                       {"--no-watch", "--config", file.string(), "--keep-sessions", "5"});
  ASSERT_TRUE(daemon.start());
  auto status = parse_status(daemon.client({"status", "--format", "json"}));
  EXPECT_EQ(status.config_file(), file.string());
  EXPECT_TRUE(status.config_file_read());
  std::map<std::string, std::pair<std::string, std::string>> got;
  for (const auto& c : status.config()) {
    got[c.key()] = {c.value(), c.source()};
  }
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(got["retention.max_db_mb"], P("64", "file"));
  EXPECT_EQ(got["retention.keep_sessions"], P("5", "flag"));
  EXPECT_EQ(got["retention.keep_days"], P("0", "flag")); // DaemonProcess passes --keep-days 0
  EXPECT_EQ(got["idle_timeout"], P("0", "default"));
  EXPECT_EQ(got["team.machine"], P("\"runner-7\"", "file"));
  EXPECT_EQ(got["log_level"], P("\"debug\"", "flag"));
  EXPECT_EQ(got["runtime_dir"], P("\"" + daemon.runtime_dir().string() + "\"", "flag"));
  EXPECT_EQ(got["no_watch"], P("true", "flag"));
  EXPECT_EQ(got["watch_dirs"], P("[]", "default"));

  auto human = daemon.client({"status"});
  EXPECT_THAT(human.out, HasSubstr("config:     " + file.string() + " (read)"));
  EXPECT_THAT(human.out, HasSubstr("retention.max_db_mb = 64"));
}

TEST(ConfigFile, BadKeyIsAUsageErrorNamingFileLineAndKey) {
  TempDir dir;
  auto file = dir / "config.toml";
  std::ofstream(file) << "log_level = \"info\"\n[retention]\nkeep_dayz = 7\n";
  auto r = run_command({CA_DAEMON_BIN, "--foreground", "--config", file.string(), "--runtime-dir",
                        (dir / "run").string(), "--state-dir", (dir / "state").string()},
                       {.timeout = 30s});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "cargo-analysisd: error: " + file.string() +
                       ":3: unknown key `keep_dayz` in [retention] (known: keep_days, "
                       "keep_sessions, max_db_mb)\n");
  EXPECT_FALSE(fs::exists(dir / "state")) << "started anyway";
}

TEST(ConfigFile, BadTypeIsAUsageErrorAndTheClientSaysItToo) {
  TempDir dir;
  auto file = dir / "config.toml";
  std::ofstream(file) << "idle_timeout = \"soon\"\n";
  CommandOptions opts;
  opts.env = {{"CARGO_ANALYSIS_CONFIG", file.string()}};
  opts.unset_env = {"CARGO_ANALYSIS_RUNTIME_DIR"};
  opts.timeout = 30s;
  auto d = run_command({CA_DAEMON_BIN, "--foreground", "--runtime-dir", (dir / "run").string(),
                        "--state-dir", (dir / "state").string()},
                       opts);
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_THAT(d.err, HasSubstr(file.string() + ":1: `idle_timeout` must be a non-negative number "
                                               "of seconds, not a string"));
  // The client reads the same file to find the daemon, and stops at the same error.
  auto c = run_command({CA_CLIENT_BIN, "report", "sessions"}, opts);
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_THAT(c.err, HasSubstr("cargo-analysis-client: error: " + file.string() + ":1:"));
}

TEST(ConfigFile, TheClientFindsADaemonByTheFilesRuntimeDir) {
  TempDir dir;
  DaemonProcess daemon(dir / "d", {"--no-watch"});
  ASSERT_TRUE(daemon.start());
  auto file = dir / "config.toml";
  std::ofstream(file) << "runtime_dir = \"" << daemon.runtime_dir().string() << "\"\n";
  CommandOptions opts;
  opts.env = {{"CARGO_ANALYSIS_CONFIG", file.string()}};
  opts.unset_env = {"CARGO_ANALYSIS_RUNTIME_DIR"};
  auto r = run_command({CA_CLIENT_BIN, "--no-spawn", "status", "--format", "json"}, opts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_status(r).pid(), static_cast<uint32_t>(daemon.pid()));
}

} // namespace
} // namespace ca::test
