// Where things live: the runtime dir (sockets, lock), the state dir (database, logs) and cargo's
// log dir. Resolution order, for daemon and client alike:
//   runtime: --runtime-dir, $CARGO_ANALYSIS_RUNTIME_DIR, $XDG_RUNTIME_DIR/cargo-analysis,
//            /tmp/cargo-analysis-$UID
//   state:   --state-dir, $CARGO_ANALYSIS_STATE_DIR, $XDG_STATE_HOME/cargo-analysis,
//            $HOME/.local/state/cargo-analysis
//   cargo log dir: $CARGO_HOME/log, else $HOME/.cargo/log
#pragma once

#include "shared/error.hpp"

#include <filesystem>
#include <string>

namespace ca {

std::filesystem::path runtime_dir(const std::string& flag_value);
std::filesystem::path state_dir(const std::string& flag_value);
std::filesystem::path cargo_log_dir();

inline std::filesystem::path ingest_socket_path(const std::filesystem::path& runtime) {
  return runtime / "ingest.sock";
}
inline std::filesystem::path grpc_socket_path(const std::filesystem::path& runtime) {
  return runtime / "grpc.sock";
}
// The client's local call socket (proto/cargo_analysis/v1/local.proto).
inline std::filesystem::path client_socket_path(const std::filesystem::path& runtime) {
  return runtime / "client.sock";
}
// Why a daemon started by a client could not start (written by the daemon, read by the client).
inline std::filesystem::path spawn_error_path(const std::filesystem::path& runtime) {
  return runtime / "spawn-error";
}
inline std::string grpc_address(const std::filesystem::path& runtime) {
  return "unix:" + grpc_socket_path(runtime).string();
}

// Creates `dir` (and parents) with mode 0700 if missing, then verifies it is a directory owned
// by the current user and not accessible to others (watchman's rule). Returns an io error
// naming the path, or failed_precondition if it is owned by someone else or too open.
Result<void> ensure_private_dir(const std::filesystem::path& dir);

// Whether files can be created in `dir` (which exists): a read-only file system or a directory we
// may not write is failed_precondition naming the directory and why. A full disk passes: what is
// stored can still be read, and writes resume once space is freed.
Result<void> check_writable_dir(const std::filesystem::path& dir);

} // namespace ca
