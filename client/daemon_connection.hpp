// The client's link to the daemon: finds the runtime dir, starts the daemon on demand (detached,
// with a readiness wait and a timeout) unless told not to, and makes calls.
//
// Unary calls (reports, status, stop, announcements) go over the local call socket
// `<runtime>/client.sock` (proto/cargo_analysis/v1/local.proto): a connect() and one round trip,
// where a gRPC channel would cost milliseconds of set-up in a process that lives for one
// command. Streams (watch) use gRPC; its channel is created only when a command asks for it.
#pragma once

#include "cargo_analysis/v1/service.grpc.pb.h"
#include "shared/error.hpp"

#include <google/protobuf/arena.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace ca::client {

struct ConnectOptions {
  std::filesystem::path runtime_dir;
  std::string state_dir; // passed to a daemon we start ("" = its default)
  bool spawn = true;     // start the daemon if it is not running
  std::chrono::milliseconds ready_timeout{10000};
  // Compare the running daemon's version with ours on connect (`stop` does not).
  bool check_version = true;
  std::string version = CA_VERSION;
};

// What connect() found out about the daemon's version.
struct VersionCheck {
  std::string daemon_version; // "" when not checked (or we started the daemon ourselves)
  bool mismatch = false;      // a daemon of another version answers
  bool restarted = false;     // ... and it was ours (started on demand), so we restarted it
};

class DaemonConnection {
public:
  explicit DaemonConnection(ConnectOptions options) : m_options(std::move(options)) {}
  ~DaemonConnection();
  DaemonConnection(const DaemonConnection&) = delete;
  DaemonConnection& operator=(const DaemonConnection&) = delete;

  // Connects (starting the daemon if allowed and needed). Returns unavailable with a message
  // that says how to start it.
  //
  // Then asks the running daemon its version (one brief Status call). A daemon of another
  // version that a client started on demand is stopped and started again from our binary, if
  // spawning is allowed; any other (systemd's, a user's) is left alone and only reported in
  // version_check(), for the caller to tell the user how to restart it.
  Result<void> connect();
  const VersionCheck& version_check() const { return m_version; }

  // One unary call (`method`: see shared/local_methods.hpp), bounded by `timeout`. Errors carry
  // the daemon's code and message (not_found, invalid_argument, ...), or unavailable if the
  // daemon went away.
  template <class Response>
  Result<Response> call(const char* method,
                        const google::protobuf::Message& request,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    CA_TRY_ASSIGN(std::string bytes, call_raw(method, request.SerializeAsString(), timeout));
    Response resp;
    if (!resp.ParseFromString(bytes)) {
      return unexpected(ErrorCode::internal,
                        std::string("cannot parse the daemon's answer to ") + method);
    }
    return resp;
  }

  // The same, with the answer parsed onto `arena` (a report of thousands of strings then costs
  // a few block allocations to parse and free, not one per string); valid while `arena` lives.
  template <class Response>
  Result<const Response*> call(google::protobuf::Arena& arena,
                               const char* method,
                               const google::protobuf::Message& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    CA_TRY_ASSIGN(std::string bytes, call_raw(method, request.SerializeAsString(), timeout));
    auto* resp = google::protobuf::Arena::CreateMessage<Response>(&arena);
    if (!resp->ParseFromString(bytes)) {
      return unexpected(ErrorCode::internal,
                        std::string("cannot parse the daemon's answer to ") + method);
    }
    return resp;
  }

  // gRPC, for streams; the channel is created on first use.
  cargo_analysis::v1::Live::Stub& live();
  const ConnectOptions& options() const { return m_options; }

  // A gRPC context with a deadline suited to interactive calls.
  static std::unique_ptr<grpc::ClientContext>
  context(std::chrono::seconds deadline = std::chrono::seconds(60));

private:
  Result<void> open_socket();
  Result<std::string>
  call_raw(std::string_view method, const std::string& request, std::chrono::milliseconds timeout);
  bool ping(std::chrono::milliseconds timeout);
  Result<void> spawn_daemon();
  Result<void> spawn_and_wait();
  Result<void> check_version();
  Result<void> restart(uint32_t pid);
  void close_socket();

  ConnectOptions m_options;
  VersionCheck m_version;
  int m_fd = -1;
  std::shared_ptr<grpc::Channel> m_channel;
  std::unique_ptr<cargo_analysis::v1::Live::Stub> m_live;
};

// Turns a failed gRPC status into our error (UNAVAILABLE -> unavailable, NOT_FOUND -> not_found).
Error from_status(const grpc::Status& status);

// The daemon binary: next to this executable if there, else `cargo-analysisd` on PATH.
std::string daemon_binary();

} // namespace ca::client
