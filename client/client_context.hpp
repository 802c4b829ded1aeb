// State shared by the client's subcommands: global options, the daemon connection, output.
#pragma once

#include "client/daemon_connection.hpp"
#include "shared/error.hpp"

#include <CLI/CLI.hpp>
#include <google/protobuf/message.h>

#include <memory>
#include <string>

namespace ca::client {

inline constexpr const char* k_program = "cargo-analysis-client";

// Exit codes: 0 ok, 1 error, 2 usage.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_error = 1;
inline constexpr int k_exit_usage = 2;

enum class ColorMode { auto_, always, never };

struct ClientContext {
  std::string runtime_dir_flag;
  bool no_spawn = false;
  bool check_version = true; // compare the daemon's version with ours (not for `stop`)
  std::string color = "auto";
  int exit_code = k_exit_ok;

  // Connects on first use (commands that need no daemon never start one). The runtime dir is
  // --runtime-dir, else $CARGO_ANALYSIS_RUNTIME_DIR, else `runtime_dir` of the daemon's config
  // file, else the default (shared/paths.hpp). A daemon of another version is reported on
  // stderr with how to restart it, or restarted if a client had started it.
  Result<DaemonConnection*> daemon();
  // Forgets the connection: the next daemon() connects (or spawns) again.
  void reset_daemon() { m_daemon.reset(); }

  // Whether stdout (or stderr for `to_stderr`) gets ANSI colors: --color, NO_COLOR, isatty.
  bool use_color(bool to_stderr = false) const;

  // Prints `message` as proto JSON (snake_case names, zero values included) to stdout.
  void print_json(const google::protobuf::Message& message) const;

  // Prints "cargo-analysis-client: error: <message>" (+ "note: <hint>") to stderr and sets
  // exit_code to 1.
  void fail(const Error& error, const std::string& hint = {});
  void fail(const std::string& message, const std::string& hint = {});

  // Prints "cargo-analysis-client: warning: <message>" (+ "note: <hint>"); the command goes on.
  void warn(const std::string& message, const std::string& hint = {}) const;

private:
  std::unique_ptr<DaemonConnection> m_daemon;
};

// Registration of each subcommand (client/commands/<name>.cpp).
void add_exec_command(CLI::App& app, ClientContext& ctx);
void add_gc_command(CLI::App& app, ClientContext& ctx);
void add_ingest_command(CLI::App& app, ClientContext& ctx);
void add_recover_command(CLI::App& app, ClientContext& ctx);
void add_report_command(CLI::App& app, ClientContext& ctx);
void add_status_command(CLI::App& app, ClientContext& ctx);
void add_team_command(CLI::App& app, ClientContext& ctx);
void add_stop_command(CLI::App& app, ClientContext& ctx);
void add_watch_command(CLI::App& app, ClientContext& ctx);

} // namespace ca::client
