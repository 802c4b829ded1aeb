// `exec -- CMD ARGS...`: runs a command (typically cargo) with build analysis switched on by the
// environment and a sticky session id, and exits with the command's status.
//
// What the command gets:
//   CARGO_UNSTABLE_BUILD_ANALYSIS=true, CARGO_BUILD_ANALYSIS_ENABLED=true: cargo logs the build;
//   __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly: lets a stable cargo honour the above
//     (a no-op on nightly, so we set it always instead of spending a `cargo -V` to check; rustc
//     does not read it, so nothing is rebuilt because of it; a value already set is kept);
//   CARGO_ANALYSIS_SESSION_ID: a fresh session id unless one is already set (nested exec keeps
//     the outer session).
// Everything the command spawns inherits these, so nested cargo calls log too and carry the
// session. stdin/stdout/stderr are passed through untouched; SIGTERM, SIGHUP, SIGUSR1/2 and
// SIGINT/SIGQUIT sent to us by another process are forwarded (a terminal's ^C reaches the
// command by itself, being in our process group). The daemon is told the pid and, at the end,
// the exit status, best-effort: if it is down, the command runs all the same and the log-dir
// watcher back-fills the build later. The build never fails because of us.
//
// Exit code: the command's; 128+N if it was killed by signal N; 127 if it could not be run.
#include "client/client_context.hpp"
#include "shared/local_methods.hpp"
#include "shared/run_id.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <random>

namespace ca::client {

namespace v1 = cargo_analysis::v1;

namespace {

volatile sig_atomic_t g_child = 0; // the command's pid, for the signal forwarder

void forward_signal(int sig, siginfo_t* info, void* /*ctx*/) {
  // Terminal-generated signals (si_code SI_KERNEL) already reached the command's process group.
  if (g_child > 0 && (info == nullptr || info->si_code != SI_KERNEL)) {
    ::kill(g_child, sig);
  }
}

// A session id shaped like a cargo run id (time + 16 hex digits), so tools that parse ids
// accept it; the hex part is random, so it never names a workspace.
std::string fresh_session_id() {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::random_device rd;
  uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  RunId id{now, fmt::format("{:016x}", r)};
  return id.to_string();
}

void announce(ClientContext& ctx, const v1::ProcessAnnouncement& a) {
  ctx.no_spawn = true; // never start a daemon (and never wait for one) just for this
  auto d = ctx.daemon();
  if (!d) {
    return; // the daemon is down: the watcher will back-fill the logs when it starts
  }
  (void)(*d)->call<v1::AnnounceResponse>(methods::k_announce, a, std::chrono::seconds(2));
}

} // namespace

void add_exec_command(CLI::App& app, ClientContext& ctx) {
  auto args = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(
      "exec", "run a command (e.g. cargo build) with build analysis on, in a fresh session");
  cmd->prefix_command(); // everything after the command's name belongs to the command
  cmd->add_option("command", *args, "the command and its arguments")->required();
  cmd->callback([&ctx, args] {
    std::string session;
    if (const char* s = std::getenv("CARGO_ANALYSIS_SESSION_ID"); s != nullptr && *s != '\0') {
      session = s;
    } else {
      session = fresh_session_id();
    }
    ::setenv("CARGO_ANALYSIS_SESSION_ID", session.c_str(), 1);
    ::setenv("CARGO_UNSTABLE_BUILD_ANALYSIS", "true", 1);
    ::setenv("CARGO_BUILD_ANALYSIS_ENABLED", "true", 1);
    ::setenv("__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly", 0);

    std::vector<char*> argv;
    for (auto& a : *args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    int ready[2]; // closed by exec: tells us the command is running (or failed to start)
    if (::pipe2(ready, O_CLOEXEC) != 0) {
      return ctx.fail(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    pid_t child = ::fork();
    if (child < 0) {
      return ctx.fail(std::string("cannot fork: ") + std::strerror(errno));
    }
    if (child == 0) {
      ::close(ready[0]);
      ::execvp(argv[0], argv.data());
      int err = errno;
      ssize_t w = ::write(ready[1], &err, sizeof err);
      (void)w;
      ::_exit(127);
    }
    ::close(ready[1]);
    g_child = child;
    struct sigaction sa {};
    sa.sa_sigaction = forward_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2}) {
      ::sigaction(sig, &sa, nullptr);
    }
    int exec_errno = 0;
    ssize_t n = ::read(ready[0], &exec_errno, sizeof exec_errno);
    ::close(ready[0]);

    v1::ProcessAnnouncement start;
    start.set_session_id(session);
    start.set_pid(static_cast<uint32_t>(child));
    for (const auto& a : *args) {
      start.add_command(a);
    }
    if (n <= 0) {
      announce(ctx, start);
    }

    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : (WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1);
    if (n > 0) {
      ctx.fail(fmt::format("cannot run {}: {}", (*args)[0], std::strerror(exec_errno)),
               "check that it is installed and on PATH");
      ctx.exit_code = 127;
      return;
    }
    v1::ProcessAnnouncement end = start;
    end.set_finished(true);
    end.set_exit_code(code);
    announce(ctx, end);
    ctx.exit_code = code;
  });
}

} // namespace ca::client
