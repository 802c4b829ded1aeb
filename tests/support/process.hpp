// Running the real binaries from tests: the daemon as a child process with a readiness wait,
// and one-shot commands (the client, cargo) with their output captured.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ca::test {

struct CommandResult {
  int exit_code = -1; // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

struct CommandOptions {
  std::filesystem::path cwd;              // "" = inherit
  std::map<std::string, std::string> env; // added to (or replacing) ours
  std::vector<std::string> unset_env;     // removed from ours
  std::chrono::seconds timeout = std::chrono::seconds(300);
  std::string stdin_data;
};

// Runs argv[0] (searched on PATH) to completion, capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts = {});

// Runs the built cargo-analysis-client with `--runtime-dir runtime` prepended to args.
CommandResult run_client(const std::filesystem::path& runtime,
                         const std::vector<std::string>& args,
                         const CommandOptions& opts = {});

// The real daemon on temp dirs: `cargo-analysisd --foreground --runtime-dir <dir>/run
// --state-dir <dir>/state --log-level debug [extra args]`, stderr to <dir>/daemon.log.
// start() waits (up to 10 s) until Admin.Status answers. The destructor stops it with SIGTERM
// and records a test failure if it does not exit 0 (with the daemon log attached).
class DaemonProcess {
public:
  explicit DaemonProcess(std::filesystem::path dir, std::vector<std::string> extra_args = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts the daemon; false (with a test failure recorded) if it did not become ready.
  bool start(const std::map<std::string, std::string>& env = {});
  // SIGTERM and wait; returns the exit code (-1 if killed by a signal).
  int stop();
  // SIGKILL and wait (crash tests).
  void kill_hard();
  // Waits up to `timeout` for the daemon to exit by itself; its exit code (-1 if killed by a
  // signal), or nullopt if it is still running.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
  // Whether the daemon process is still running (without reaping it).
  bool running() const;

  pid_t pid() const { return m_pid; }
  std::filesystem::path runtime_dir() const { return m_dir / "run"; }
  std::filesystem::path state_dir() const { return m_dir / "state"; }
  std::filesystem::path db_path() const { return state_dir() / "cargo-analysis.sqlite3"; }
  std::string log() const;

  CommandResult client(const std::vector<std::string>& args,
                       const CommandOptions& opts = {}) const {
    return run_client(runtime_dir(), args, opts);
  }

private:
  std::filesystem::path m_dir;
  std::vector<std::string> m_extra;
  pid_t m_pid = -1;
};

} // namespace ca::test
