// Why the daemon could not start, and the one place that says so.
//
// Start-up steps (daemon/main.cpp) return a StartupError instead of exiting: main reports it
// once and returns its exit code, so no thread that a step already started is cut off by
// std::exit mid-write, and every object built so far is stopped in order.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace ca::app {

struct StartupError {
  std::string what; // "<what failed>: <why>"
  std::string hint; // what the user can do about it; may be empty
  // 1: the daemon could not start; 2: a usage error (a bad value in the configuration).
  int exit_code = 1;
};

// A start-up step's outcome: nothing when it succeeded.
using StartupFailure = std::optional<StartupError>;

// Says why the daemon could not start and returns the exit code main returns:
// - on stderr as `cargo-analysisd: error: <what> (<hint>)`;
// - for exit code 1, in the daemon's log too, and in `spawn_error_file` (unless empty: a client
//   that started the daemon waits for it and shows it at once). The file is written beside and
//   renamed into place, so the client never reads it half written.
// A usage error (exit code 2) goes to stderr only.
int report_startup_error(const StartupError& error, const std::filesystem::path& spawn_error_file);

} // namespace ca::app
