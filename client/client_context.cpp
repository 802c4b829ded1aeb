#include "client/client_context.hpp"

#include "shared/daemon_config.hpp"
#include "shared/paths.hpp"
#include "shared/proto_json.hpp"
#include "shared/safe_text.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace ca::client {

namespace {

// The daemon's runtime dir as the daemon itself resolves it (daemon/main.cpp): flag, env, file.
Result<std::filesystem::path> daemon_runtime_dir(const std::string& flag) {
  if (!flag.empty()) {
    return runtime_dir(flag);
  }
  CA_TRY_ASSIGN(auto cfg, load_config("", DaemonConfig{}, process_env));
  return runtime_dir(cfg.values().runtime_dir);
}

} // namespace

Result<DaemonConnection*> ClientContext::daemon() {
  if (!m_daemon) {
    ConnectOptions opts;
    CA_TRY_ASSIGN(opts.runtime_dir, daemon_runtime_dir(runtime_dir_flag));
    opts.check_version = check_version;
    const char* no_spawn_env = std::getenv("CARGO_ANALYSIS_NO_SPAWN");
    opts.spawn = !no_spawn && !(no_spawn_env != nullptr && std::string(no_spawn_env) == "1");
    const char* state_env = std::getenv("CARGO_ANALYSIS_STATE_DIR");
    opts.state_dir = state_env != nullptr ? state_env : "";
    auto conn = std::make_unique<DaemonConnection>(opts);
    CA_TRY(conn->connect());
    m_daemon = std::move(conn);
    const VersionCheck& v = m_daemon->version_check();
    if (v.restarted) {
      warn("restarted cargo-analysisd " + v.daemon_version + " as " + CA_VERSION +
           " (a client had started it before an upgrade)");
    } else if (v.mismatch) {
      warn("cargo-analysisd " + v.daemon_version + " is running, but this client is " + CA_VERSION,
           "restart it with: cargo-analysis-client stop (the next command starts " +
               std::string(CA_VERSION) + "), or: systemctl --user restart cargo-analysisd");
    }
  }
  return m_daemon.get();
}

bool ClientContext::use_color(bool to_stderr) const {
  if (color == "always") {
    return true;
  }
  if (color == "never") {
    return false;
  }
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  return ::isatty(to_stderr ? 2 : 1) != 0;
}

void ClientContext::print_json(const google::protobuf::Message& message) const {
  // protobuf's MessageToJsonString output (proto field names, defaults printed, indented),
  // ~12x faster: MessageToJsonString was most of a command's time for large reports.
  auto out = to_json(message, {.pretty = true, .always_print_primitive_fields = true});
  if (!out) {
    std::fprintf(stderr, "%s: error: %s\n", k_program, safe_text(out.error().message).c_str());
    return;
  }
  std::cout << *out;
  if (out->empty() || out->back() != '\n') {
    std::cout << '\n';
  }
}

void ClientContext::fail(const Error& error, const std::string& hint) {
  fail(error.message, hint);
}

void ClientContext::fail(const std::string& message, const std::string& hint) {
  bool c = use_color(true);
  // A message may quote a path or a line: one line, no escape sequences but ours.
  std::fprintf(stderr, "%s: %serror:%s %s\n", k_program, c ? "\x1b[1;31m" : "", c ? "\x1b[0m" : "",
               safe_text(message).c_str());
  if (!hint.empty()) {
    std::fprintf(stderr, "%snote:%s %s\n", c ? "\x1b[1;36m" : "", c ? "\x1b[0m" : "",
                 safe_text(hint).c_str());
  }
  exit_code = k_exit_error;
}

void ClientContext::warn(const std::string& message, const std::string& hint) const {
  bool c = use_color(true);
  std::fprintf(stderr, "%s: %swarning:%s %s\n", k_program, c ? "\x1b[1;35m" : "",
               c ? "\x1b[0m" : "", message.c_str());
  if (!hint.empty()) {
    std::fprintf(stderr, "%snote:%s %s\n", c ? "\x1b[1;36m" : "", c ? "\x1b[0m" : "", hint.c_str());
  }
}

} // namespace ca::client
