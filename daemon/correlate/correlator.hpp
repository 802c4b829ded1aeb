// Sticky sessions: which cargo run was nested in which.
//
// The problem. Cargo gives each invocation its own run id and logs no parent, pid or session
// (cargo issue #16477). But one command a developer types often runs many cargos: a build script
// that runs `cargo build` on another crate, `cargo xtask dist` (cargo runs the xtask binary,
// which runs `cargo build --release`), `cargo clippy` running `cargo check`, scripts run through
// `cargo-analysis-client exec`. We want one session per top-level command, with every nested
// run linked to its parent and every run carrying the outermost ancestor's session id.
//
// The evidence, strongest first, and what we record for each run (`link`):
//   explicit     a producer told us (exec's announcement of the process it started, a gRPC
//                producer's session/parent ids);
//   environment  the cargo process's environment carries CARGO_ANALYSIS_SESSION_ID (exported
//                by `exec`, inherited by everything below it) or a W3C TRACEPARENT;
//   ancestry     the cargo process's parent chain reaches the writer of another run.
//   none         a top-level run: its session id is its own run id.
//   lost         the writer was gone before we could look (reported, never guessed).
//
// The algorithm. When a new log file appears, the watcher calls on_new_log() at once. We find
// the writer: the cargo process holding the file open (cargo opens it at build start and keeps
// it open, and locked, until it exits). We record the writer's identity (pid, start time: a
// reused pid never matches) and read its environment. Then we walk its parent chain; the first
// ancestor that is the writer of a known run is the parent. `cargo run` execs into the program
// it runs, so that program keeps the outer cargo's identity and its children find the outer run
// the same way. Example: `cargo build` (pid 100, run R1) runs build.rs (pid 120), which runs
// `cargo build` (pid 130, run R2): R2's chain is 130 -> 120 -> 100 = writer of R1, so R2's
// parent is R1 and its session is R1's session.
//
// Two builds that merely overlap in time or share a workspace share no ancestry and so are
// never merged. A run whose parent is not stored yet keeps its parent id; the store gives it the
// parent's session when the parent arrives.
//
// Thread-safe: the watcher and the gRPC threads call in.
#pragma once

#include "daemon/correlate/proc_reader.hpp"
#include "daemon/store/batch.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ca::correlate {

struct CorrelatorStats {
  uint64_t runs_seen = 0;
  uint64_t linked_by_ancestry = 0;
  uint64_t linked_by_environment = 0;
  uint64_t linked_explicitly = 0;
  uint64_t top_level = 0;
  uint64_t lost = 0;          // the writer had exited before we looked
  double lookup_us_total = 0; // time spent in /proc, for the average cost per run
};

class Correlator {
public:
  explicit Correlator(ProcReader& proc) : m_proc(proc) {}

  // A log file for `run_id` appeared (or was found while its writer still runs). Finds the
  // writer and returns the facts that link the run. `live`: false for a file found at back-fill,
  // whose writer may legitimately be gone (then nothing is claimed and nothing counted as lost).
  store::RunFacts
  on_new_log(const std::filesystem::path& path, const std::string& run_id, bool live = true);

  // `exec` started `pid` with session `session_id` (explicit evidence for everything below it).
  void on_exec_started(pid_t pid, const std::string& session_id);

  // `exec`'s process `pid` exited with `exit_code`. Returns facts giving the exit code to the
  // runs that process itself wrote (cargo run directly by exec).
  std::vector<store::RunFacts> on_exec_finished(pid_t pid, int exit_code);

  CorrelatorStats stats() const;

  // Environment variables that carry a session.
  static constexpr const char* k_session_env = "CARGO_ANALYSIS_SESSION_ID";
  static constexpr const char* k_traceparent_env = "TRACEPARENT";

private:
  struct KnownRun {
    std::string run_id;
    std::string session_id;
  };

  // The nearest ancestor of `start` (excluded) that wrote a known run, or exec'd a session.
  struct Ancestor {
    std::optional<KnownRun> run;
    std::optional<std::string> exec_session;
  };
  Ancestor find_ancestor(pid_t ppid);
  void forget_dead();

  ProcReader& m_proc;
  mutable std::mutex m_mutex;
  std::map<ProcessId, KnownRun> m_writers; // live writers of runs (and exec'd children)
  std::map<ProcessId, std::string> m_exec; // processes started by `exec`, and their session
  std::map<pid_t, std::vector<std::string>> m_runs_by_pid; // for exit codes
  CorrelatorStats m_stats;
  uint64_t m_calls = 0;
};

// The trace id of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), or "" if malformed.
std::string trace_id_of(const std::string& traceparent);

} // namespace ca::correlate
