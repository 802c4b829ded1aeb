// The API's server: every service on gRPC at `unix:<runtime-dir>/grpc.sock` (with reflection),
// and the unary methods again on the client's local call socket `<runtime-dir>/client.sock`
// (daemon/server/local_server.hpp). main() builds one after the store and the sources, and
// shuts it down before draining them.
#pragma once

#include "daemon/correlate/correlator.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/live/live_hub.hpp"
#include "daemon/query/query_engine.hpp"
#include "daemon/runtime/activity.hpp"
#include "daemon/server/grpc_gate.hpp"
#include "daemon/server/grpc_services.hpp"
#include "daemon/server/live_service.hpp"
#include "daemon/server/local_server.hpp"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "shared/error.hpp"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>

namespace ca::server {

// What the services need; all references outlive the server.
struct ServerDeps {
  query::QueryEngine& query;
  store::ReaderPool& readers;
  store::Writer& writer;
  ingest::SourceStats& stats;
  correlate::Correlator& correlator;
  DaemonInfo info;
  std::function<void()> request_shutdown; // only signals; never shuts down from a gRPC thread
  live::LiveHub& live;                    // Live.Watch: fed by the writer's commit observer
  runtime::ActivityMonitor& activity;     // every call is busy while in flight
  store::RetentionPolicy retention{};     // Admin.Collect's defaults (the daemon's flags)
};

class GrpcServer {
public:
  // Binds `runtime_dir`/grpc.sock and `runtime_dir`/client.sock (replacing stale ones, mode
  // 0600) and starts serving. Returns an io error naming the address if it cannot bind.
  static Result<std::unique_ptr<GrpcServer>> start(const std::filesystem::path& runtime_dir,
                                                   ServerDeps deps);

  // Ends Watch streams, finishes in-flight calls (cancelling them after `grace`) and stops.
  // Call from main only.
  void shutdown(std::chrono::milliseconds grace);

  // The worker pool stops before the local server's io_context goes: a call it still runs
  // posts its reply there.
  ~GrpcServer() { m_pool.stop(); }
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

private:
  explicit GrpcServer(ServerDeps deps);
  LocalCallTable local_calls();

  ServerDeps m_deps;
  WorkerPool m_pool; // the unary calls' work; stopped once the server finished every call
  ReportsService m_reports;
  AdminService m_admin;
  IngestService m_ingest;
  LiveService m_live;
  std::unique_ptr<grpc::Server> m_server;
  std::unique_ptr<GrpcGate> m_gate; // after m_server: destroyed (stopped) before it
  std::unique_ptr<LocalServer> m_local;
};

} // namespace ca::server
