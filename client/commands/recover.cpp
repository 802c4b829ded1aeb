// `recover`: the way out of a damaged database that loses nothing.
//
// The daemon refuses to start on a database that fails SQLite's quick_check, and changes
// nothing in it. `recover` stops a running daemon, moves the database (with its write-ahead log)
// aside under a dated name, kept and never deleted, and starts a daemon on a new database: it
// back-fills every cargo log still in the watched directories, as on any start. Runs that exist
// only in the old file (logs cargo has since deleted, runs sent over the socket or Publish) stay
// in the kept copy, for SQLite's own `.recover` or for support.
#include "client/client_context.hpp"
#include "shared/daemon_config.hpp"
#include "shared/local_methods.hpp"
#include "shared/paths.hpp"
#include "shared/safe_text.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

namespace ca::client {

namespace v1 = cargo_analysis::v1;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_db_name = "cargo-analysis.sqlite3";
constexpr auto k_backfill_wait = std::chrono::minutes(30);

// The state dir a daemon started now would use: --state-dir, else $CARGO_ANALYSIS_STATE_DIR or
// `state_dir` of the config file, else the default.
Result<fs::path> resolve_state_dir(const std::string& flag) {
  if (!flag.empty()) {
    return state_dir(flag);
  }
  CA_TRY_ASSIGN(auto cfg, load_config("", DaemonConfig{}, process_env));
  return state_dir(cfg.values().state_dir);
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Stops the daemon on the runtime dir, if one runs, and waits until its pid is gone.
Result<void> stop_running_daemon(ClientContext& ctx) {
  ctx.no_spawn = true;
  ctx.check_version = false;
  auto d = ctx.daemon();
  if (!d) {
    return {}; // none runs (or it cannot start: the damaged database)
  }
  v1::StatusRequest brief;
  brief.set_brief(true);
  auto status = (*d)->call<v1::StatusResponse>(methods::k_status, brief, std::chrono::seconds(10));
  CA_TRY(status);
  auto stopped = (*d)->call<v1::ShutdownResponse>(methods::k_shutdown, v1::ShutdownRequest(),
                                                  std::chrono::seconds(60));
  CA_TRY(stopped);
  auto pid = static_cast<pid_t>(status->pid());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::kill(pid, 0) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return unexpected(ErrorCode::unavailable,
                        fmt::format("cargo-analysisd (pid {}) did not exit within 60 s", pid));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cerr << fmt::format("stopped cargo-analysisd (pid {})\n", pid);
  return {};
}

} // namespace

void add_recover_command(CLI::App& app, ClientContext& ctx) {
  auto state_flag = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "recover", "move a damaged database aside (kept) and rebuild the history from cargo's logs");
  cmd->add_option("--state-dir", *state_flag,
                  "the daemon's state dir (default: as the daemon resolves it)");
  cmd->callback([&ctx, state_flag] {
    auto state = resolve_state_dir(*state_flag);
    if (!state) {
      return ctx.fail(state.error());
    }
    const fs::path db = *state / k_db_name;
    std::error_code ec;
    if (!fs::exists(db, ec)) {
      return ctx.fail("no database at " + safe_text(db.string()) + "; nothing to recover");
    }
    if (auto r = stop_running_daemon(ctx); !r) {
      return ctx.fail(r.error(), "stop it first: cargo-analysis-client stop");
    }
    // Move the file and its WAL and shared-memory index together: the WAL may hold committed
    // transactions that the main file does not yet, so the kept copy is whole only with it.
    const std::string kept = db.string() + ".damaged-" + utc_stamp();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::path from = db.string() + suffix;
      if (!fs::exists(from, ec)) {
        continue;
      }
      fs::rename(from, kept + suffix, ec);
      if (ec) {
        return ctx.fail(fmt::format("cannot move {} to {}: {}", safe_text(from.string()),
                                    safe_text(kept + suffix), ec.message()));
      }
    }
    std::cerr << "kept the old database as " << safe_text(kept) << "\n";

    // A new daemon on a new database back-fills the watched log dirs, as on every start.
    if (!state_flag->empty()) {
      ::setenv("CARGO_ANALYSIS_STATE_DIR", state->c_str(), 1); // for the daemon we start
    }
    ctx.no_spawn = false;
    ctx.reset_daemon();
    auto d = ctx.daemon();
    if (!d) {
      return ctx.fail(d.error());
    }
    auto deadline = std::chrono::steady_clock::now() + k_backfill_wait;
    v1::StatusResponse status;
    for (;;) {
      v1::StatusRequest req;
      auto s = (*d)->call<v1::StatusResponse>(methods::k_status, req, std::chrono::seconds(30));
      if (!s) {
        return ctx.fail(s.error());
      }
      status = *s;
      if (status.backfill_finished() || std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string dirs;
    for (const auto& dir : status.watched_dirs()) {
      dirs += (dirs.empty() ? "" : ", ") + safe_text(dir);
    }
    std::cout << fmt::format("rebuilt {} runs in {} sessions from cargo's logs in {}\n",
                             status.runs_stored(), status.sessions_stored(),
                             dirs.empty() ? "(no watched directory)" : dirs);
  });
}

} // namespace ca::client
