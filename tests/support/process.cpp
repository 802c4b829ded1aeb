#include "tests/support/process.hpp"

#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ca::test {

namespace {

std::vector<std::string> build_env(const std::map<std::string, std::string>& add,
                                   const std::vector<std::string>& unset) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) {
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  for (const auto& u : unset) {
    env.erase(u);
  }
  for (const auto& [k, v] : add) {
    env[k] = v;
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

bool wait_exit(pid_t pid, int& status, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& opts) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(in_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  auto env = build_env(opts.env, opts.unset_env);
  auto args = argv;
  auto c_env = c_strings(env);
  auto c_args = c_strings(args);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      ::_exit(126);
    }
    ::execvpe(c_args[0], c_args.data(), c_env.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(in_pipe[0]);
  if (!opts.stdin_data.empty()) {
    ssize_t ignored = ::write(in_pipe[1], opts.stdin_data.data(), opts.stdin_data.size());
    (void)ignored;
  }
  ::close(in_pipe[1]);
  CommandResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  int open = 2;
  char buf[65536];
  bool timed_out = false;
  while (open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<long>(left, 1000)));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
        if (r <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(r));
        }
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) {
      ::close(f.fd);
    }
  }
  int status = 0;
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ADD_FAILURE() << "command timed out: " << argv[0];
  }
  if (!wait_exit(pid, status, timed_out ? std::chrono::milliseconds(5000) : opts.timeout)) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "command did not exit: " << argv[0];
    return result;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult run_client(const std::filesystem::path& runtime,
                         const std::vector<std::string>& args,
                         const CommandOptions& opts) {
  std::vector<std::string> argv = {CA_CLIENT_BIN, "--runtime-dir", runtime.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, opts);
}

DaemonProcess::DaemonProcess(std::filesystem::path dir, std::vector<std::string> extra_args)
    : m_dir(std::move(dir)), m_extra(std::move(extra_args)) {}

DaemonProcess::~DaemonProcess() {
  if (m_pid > 0) {
    int code = stop();
    EXPECT_EQ(code, 0) << "cargo-analysisd did not exit cleanly; its log:\n" << log();
  }
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "---- daemon log (%s) ----\n%s\n", (m_dir / "daemon.log").c_str(),
                 log().c_str());
  }
}

bool DaemonProcess::start(const std::map<std::string, std::string>& env_add) {
  std::filesystem::create_directories(m_dir);
  std::vector<std::string> args = {CA_DAEMON_BIN,          "--foreground", "--runtime-dir",
                                   runtime_dir().string(), "--state-dir",  state_dir().string(),
                                   "--log-level",          "debug"};
  // Fixtures and benchmark replays carry fixed dates (corpus: 2026-11-23, replays: from
  // 2026-01-01): the automatic age limit would collect them once they are old enough, whatever
  // the test. Tests of retention pass their own --keep-days.
  if (std::find(m_extra.begin(), m_extra.end(), "--keep-days") == m_extra.end()) {
    args.insert(args.end(), {"--keep-days", "0"});
  }
  args.insert(args.end(), m_extra.begin(), m_extra.end());
  auto env = build_env(env_add, {});
  auto c_env = c_strings(env);
  auto c_args = c_strings(args);
  auto log_path = m_dir / "daemon.log";
  m_pid = ::fork();
  if (m_pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 2);
    ::dup2(fd, 1);
    ::execve(c_args[0], c_args.data(), c_env.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      ADD_FAILURE() << "cargo-analysisd exited during start-up; its log:\n" << log();
      return false;
    }
    auto r = run_client(runtime_dir(), {"--no-spawn", "status"},
                        CommandOptions{{}, {}, {}, std::chrono::seconds(10), {}});
    if (r.exit_code == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "cargo-analysisd did not become ready; its log:\n" << log();
  return false;
}

int DaemonProcess::stop() {
  if (m_pid <= 0) {
    return -1;
  }
  ::kill(m_pid, SIGTERM);
  int status = 0;
  if (!wait_exit(m_pid, status, std::chrono::seconds(20))) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return -1;
  }
  m_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<int> DaemonProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (m_pid <= 0) {
    return std::nullopt;
  }
  int status = 0;
  if (!wait_exit(m_pid, status, timeout)) {
    return std::nullopt;
  }
  m_pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool DaemonProcess::running() const {
  return m_pid > 0 && ::kill(m_pid, 0) == 0;
}

void DaemonProcess::kill_hard() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, SIGKILL);
  int status = 0;
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
}

std::string DaemonProcess::log() const {
  std::ifstream in(m_dir / "daemon.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace ca::test
