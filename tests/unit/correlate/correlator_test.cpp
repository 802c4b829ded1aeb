// The correlator on a fake process tree (the real /proc is exercised in proc_reader_test.cpp
// and end to end with real cargo in tests/e2e).
#include "daemon/correlate/correlator.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

namespace ca::correlate {
namespace {

class FakeProc final : public ProcReader {
public:
  struct Proc {
    pid_t ppid;
    uint64_t start;
    std::map<std::string, std::string> env;
    std::set<std::string> open_files;
  };
  std::map<pid_t, Proc> procs;

  std::optional<ProcessInfo> info(pid_t pid) override {
    auto it = procs.find(pid);
    if (it == procs.end()) {
      return std::nullopt;
    }
    return ProcessInfo{{pid, it->second.start}, it->second.ppid, 0, "cargo"};
  }
  std::optional<std::map<std::string, std::string>>
  environ(pid_t pid, const std::vector<std::string>& /*names*/) override {
    auto it = procs.find(pid);
    if (it == procs.end()) {
      return std::nullopt;
    }
    return it->second.env;
  }
  std::vector<pid_t> holders_of(const std::filesystem::path& path) override {
    std::vector<pid_t> out;
    for (const auto& [pid, p] : procs) {
      if (p.open_files.count(path.string()) != 0) {
        out.push_back(pid);
      }
    }
    return out;
  }
};

constexpr const char* k_outer = "20261123T090000000Z-aaaaaaaaaaaaaaaa";
constexpr const char* k_inner = "20261123T090001000Z-bbbbbbbbbbbbbbbb";
constexpr const char* k_innermost = "20261123T090002000Z-cccccccccccccccc";

TEST(Correlator, BuildScriptRunningCargoIsNestedByAncestry) {
  FakeProc proc;
  proc.procs[100] = {1, 1000, {}, {"/log/outer.jsonl"}};   // cargo build
  proc.procs[120] = {100, 1010, {}, {}};                   // build.rs
  proc.procs[130] = {120, 1020, {}, {"/log/inner.jsonl"}}; // cargo build (nested)
  Correlator c(proc);
  auto outer = c.on_new_log("/log/outer.jsonl", k_outer);
  EXPECT_EQ(outer.session_id, k_outer);
  EXPECT_EQ(outer.link, "none");
  EXPECT_FALSE(outer.parent_run_id);
  EXPECT_EQ(outer.pid, 100);
  auto inner = c.on_new_log("/log/inner.jsonl", k_inner);
  EXPECT_EQ(inner.parent_run_id, k_outer);
  EXPECT_EQ(inner.session_id, k_outer);
  EXPECT_EQ(inner.link, "ancestry");
  EXPECT_EQ(inner.ppid, 120);
}

TEST(Correlator, ThreeLevelsKeepTheOutermostSession) {
  FakeProc proc;
  proc.procs[100] = {1, 1000, {}, {"/l/1"}};
  proc.procs[110] = {100, 1001, {}, {}};
  proc.procs[120] = {110, 1002, {}, {"/l/2"}};
  proc.procs[130] = {120, 1003, {}, {}};
  proc.procs[140] = {130, 1004, {}, {"/l/3"}};
  Correlator c(proc);
  c.on_new_log("/l/1", k_outer);
  c.on_new_log("/l/2", k_inner);
  auto third = c.on_new_log("/l/3", k_innermost);
  EXPECT_EQ(third.parent_run_id, k_inner);
  EXPECT_EQ(third.session_id, k_outer);
}

TEST(Correlator, XtaskExecdFromCargoRunKeepsTheOuterIdentity) {
  // `cargo run -p xtask` (pid 100) execs into xtask: same pid and start time; xtask's child
  // cargo (pid 150) finds pid 100 as the writer of the outer run, although its log is closed.
  FakeProc proc;
  proc.procs[100] = {1, 1000, {}, {"/l/outer"}};
  Correlator c(proc);
  c.on_new_log("/l/outer", k_outer);
  proc.procs[100].open_files.clear(); // exec closed the CLOEXEC log fd
  proc.procs[150] = {100, 1100, {}, {"/l/inner"}};
  auto inner = c.on_new_log("/l/inner", k_inner);
  EXPECT_EQ(inner.parent_run_id, k_outer);
  EXPECT_EQ(inner.link, "ancestry");
}

TEST(Correlator, ReusedPidNeverLinksUnrelatedRuns) {
  FakeProc proc;
  proc.procs[100] = {1, 1000, {}, {"/l/outer"}};
  Correlator c(proc);
  c.on_new_log("/l/outer", k_outer);
  // The outer cargo exits and pid 100 is reused by an unrelated shell (new start time).
  proc.procs[100] = {1, 5000, {}, {}};
  proc.procs[160] = {100, 5001, {}, {"/l/other"}};
  auto other = c.on_new_log("/l/other", k_inner);
  EXPECT_FALSE(other.parent_run_id);
  EXPECT_EQ(other.session_id, k_inner);
  EXPECT_EQ(other.link, "none");
}

TEST(Correlator, IndependentConcurrentBuildsAreNeverMerged) {
  FakeProc proc;
  Correlator c(proc);
  for (int i = 0; i < 10; ++i) {
    proc.procs[200 + i] = {50, static_cast<uint64_t>(2000 + i), {}, {"/l/" + std::to_string(i)}};
  }
  std::set<std::string> sessions;
  for (int i = 0; i < 10; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "20261123T090000000Z-%016x", i);
    auto f = c.on_new_log("/l/" + std::to_string(i), id);
    EXPECT_FALSE(f.parent_run_id);
    sessions.insert(*f.session_id);
  }
  EXPECT_EQ(sessions.size(), 10u);
}

TEST(Correlator, EnvironmentSessionGroupsSiblingRuns) {
  FakeProc proc;
  proc.procs[300] = {1, 1, {{"CARGO_ANALYSIS_SESSION_ID", "S-exec"}}, {}}; // sh -c
  proc.procs[310] = {300, 2, {{"CARGO_ANALYSIS_SESSION_ID", "S-exec"}}, {"/l/a"}};
  proc.procs[320] = {300, 3, {{"CARGO_ANALYSIS_SESSION_ID", "S-exec"}}, {"/l/b"}};
  Correlator c(proc);
  auto a = c.on_new_log("/l/a", k_outer);
  auto b = c.on_new_log("/l/b", k_inner);
  EXPECT_EQ(a.session_id, "S-exec");
  EXPECT_EQ(b.session_id, "S-exec");
  EXPECT_EQ(a.link, "environment");
  EXPECT_FALSE(b.parent_run_id);
}

TEST(Correlator, ExecAnnouncementIsExplicitEvidenceAndGivesExitCodes) {
  FakeProc proc;
  proc.procs[400] = {1, 1, {}, {"/l/a"}}; // exec -- cargo build: the child is cargo itself
  proc.procs[410] = {1, 2, {}, {}};       // exec -- sh -c ...
  proc.procs[411] = {410, 3, {}, {"/l/b"}};
  Correlator c(proc);
  c.on_exec_started(410, "S-sh");
  auto a = c.on_new_log("/l/a", k_outer);
  auto b = c.on_new_log("/l/b", k_inner);
  EXPECT_EQ(b.session_id, "S-sh");
  EXPECT_EQ(b.link, "explicit");
  auto facts = c.on_exec_finished(400, 101);
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].run_id, k_outer);
  EXPECT_EQ(facts[0].exit_code, 101);
}

TEST(Correlator, TraceparentGivesASession) {
  FakeProc proc;
  proc.procs[500] = {
      1, 1, {{"TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}, {"/l/a"}};
  Correlator c(proc);
  EXPECT_EQ(c.on_new_log("/l/a", k_outer).session_id, "trace-4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(trace_id_of("garbage"), "");
  EXPECT_EQ(trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), "");
}

TEST(Correlator, WriterGoneIsReportedAsLostNotGuessed) {
  FakeProc proc;
  Correlator c(proc);
  auto f = c.on_new_log("/l/gone", k_outer);
  EXPECT_EQ(f.link, "lost");
  EXPECT_FALSE(f.session_id);
  EXPECT_EQ(c.stats().lost, 1u);
  auto backfill = c.on_new_log("/l/gone", k_inner, /*live=*/false);
  EXPECT_FALSE(backfill.link);
  EXPECT_EQ(c.stats().lost, 1u);
}

// The real /proc: a child process holding a file open is found, with its environment.
TEST(LinuxProcReader, FindsTheHolderOfAFileAndReadsItsStatAndEnvironment) {
  test::TempDir dir;
  auto file = dir / "held.jsonl";
  std::ofstream(file) << "";
  pid_t child = ::fork();
  if (child == 0) {
    ::setenv("CARGO_ANALYSIS_SESSION_ID", "S-real", 1);
    std::string script = "exec 3<'" + file.string() + "'; exec sleep 30";
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The child opens the file, then execs sleep. While a process execs, /proc/PID/fd can be
  // unreadable, and the kernel names the process "sleep" before it sets up the new image's
  // environment, so /proc/PID/environ reads empty for a moment after the name changed. Cargo,
  // the real writer, is long past its exec when it writes a log, so wait (up to 10 s) until the
  // child is sleep with the file and its environment both visible; a reader that cannot find
  // either fails the assertions below.
  LinuxProcReader proc;
  std::vector<pid_t> holders;
  std::optional<std::map<std::string, std::string>> env;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(1))) {
    auto info = proc.info(child);
    if (!info || info->comm != "sleep") {
      continue;
    }
    holders = proc.holders_of(file);
    env = proc.environ(child, {"CARGO_ANALYSIS_SESSION_ID", "NOT_SET_ANYWHERE"});
    if (holders.size() == 1 && env && env->count("CARGO_ANALYSIS_SESSION_ID") != 0) {
      break;
    }
  }
  auto child_info = proc.info(child);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(holders[0], child);
  ASSERT_TRUE(env);
  EXPECT_EQ(env->at("CARGO_ANALYSIS_SESSION_ID"), "S-real");
  EXPECT_EQ(env->count("NOT_SET_ANYWHERE"), 0u);
  ASSERT_TRUE(child_info);
  EXPECT_EQ(child_info->ppid, ::getpid());
  auto self = proc.info(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_GT(self->id.start_ticks, 0u);
  EXPECT_FALSE(proc.info(child)); // gone now
}

TEST(ParseProcStat, CommWithSpacesAndParens) {
  auto p = parse_proc_stat(
      "42 (a (weird) name) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 1\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->id.pid, 42);
  EXPECT_EQ(p->ppid, 7);
  EXPECT_EQ(p->comm, "a (weird) name");
  EXPECT_EQ(p->id.start_ticks, 987654u);
  EXPECT_FALSE(parse_proc_stat("garbage"));
}

} // namespace
} // namespace ca::correlate
