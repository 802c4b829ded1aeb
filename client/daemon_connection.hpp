// The client's link to the daemon: finds the runtime dir, starts the daemon on demand (detached,
// with a readiness wait and a timeout) unless told not to, and hands out gRPC stubs.
#pragma once

#include "cargo_analysis/v1/service.grpc.pb.h"
#include "shared/error.hpp"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace ca::client {

struct ConnectOptions {
  std::filesystem::path runtime_dir;
  std::string state_dir; // passed to a daemon we start ("" = its default)
  bool spawn = true;     // start the daemon if it is not running
  std::chrono::milliseconds ready_timeout{10000};
};

class DaemonConnection {
public:
  explicit DaemonConnection(ConnectOptions options) : m_options(std::move(options)) {}

  // Connects (starting the daemon if allowed and needed). Returns unavailable with a message
  // that says how to start it.
  Result<void> connect();

  cargo_analysis::v1::Reports::Stub& reports() { return *m_reports; }
  cargo_analysis::v1::Admin::Stub& admin() { return *m_admin; }
  cargo_analysis::v1::Ingest::Stub& ingest() { return *m_ingest; }
  cargo_analysis::v1::Live::Stub& live() { return *m_live; }
  const ConnectOptions& options() const { return m_options; }

  // A context with a deadline suited to interactive calls.
  static std::unique_ptr<grpc::ClientContext>
  context(std::chrono::seconds deadline = std::chrono::seconds(60));

private:
  bool ping(std::chrono::milliseconds deadline);
  Result<void> spawn_daemon();

  ConnectOptions m_options;
  std::shared_ptr<grpc::Channel> m_channel;
  std::unique_ptr<cargo_analysis::v1::Reports::Stub> m_reports;
  std::unique_ptr<cargo_analysis::v1::Admin::Stub> m_admin;
  std::unique_ptr<cargo_analysis::v1::Ingest::Stub> m_ingest;
  std::unique_ptr<cargo_analysis::v1::Live::Stub> m_live;
};

// Turns a failed gRPC status into our error (UNAVAILABLE -> unavailable, NOT_FOUND -> not_found).
Error from_status(const grpc::Status& status);

// The daemon binary: next to this executable if there, else `cargo-analysisd` on PATH.
std::string daemon_binary();

} // namespace ca::client
