#include "daemon/server/grpc_server.hpp"

#include "shared/local_methods.hpp"
#include "shared/paths.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/support/server_interceptor.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ca::server {

namespace {

// One per call, created when the call starts and destroyed when it ends: the call keeps the
// daemon busy (not idle) for as long as it lasts.
class ActivityInterceptor final : public grpc::experimental::Interceptor {
public:
  explicit ActivityInterceptor(runtime::ActivityMonitor& m) : m_busy(m) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    methods->Proceed();
  }

private:
  runtime::ActivityMonitor::Busy m_busy;
};

class ActivityInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
  explicit ActivityInterceptorFactory(runtime::ActivityMonitor& m) : m_monitor(m) {}
  grpc::experimental::Interceptor*
  CreateServerInterceptor(grpc::experimental::ServerRpcInfo* /*info*/) override {
    return new ActivityInterceptor(m_monitor);
  }

private:
  runtime::ActivityMonitor& m_monitor;
};

} // namespace

GrpcServer::GrpcServer(ServerDeps deps)
    : m_deps(std::move(deps)), m_reports(m_deps.query, m_pool, m_deps.info.team),
      m_admin(m_deps.info,
              m_deps.readers,
              m_deps.stats,
              m_deps.request_shutdown,
              m_deps.writer,
              m_deps.retention,
              m_pool),
      m_ingest(m_deps.correlator, m_deps.writer, m_deps.stats, m_pool), m_live(m_deps.live) {}

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(const std::filesystem::path& runtime_dir,
                                                      ServerDeps deps) {
  std::unique_ptr<GrpcServer> self(new GrpcServer(std::move(deps)));
  // Reflection lets generic tools (grpcurl, IDE plugins) discover the API.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto socket = grpc_socket_path(runtime_dir);
  ::unlink(socket.c_str());    // a stale socket of a dead daemon (the pid lock says we are alone)
  grpc::ServerBuilder builder; // no listening port: GrpcGate accepts and checks the peer's uid
  builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  builder.RegisterService(&self->m_reports);
  builder.RegisterService(&self->m_admin);
  builder.RegisterService(&self->m_ingest);
  builder.RegisterService(&self->m_live);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<ActivityInterceptorFactory>(self->m_deps.activity));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  self->m_server = builder.BuildAndStart();
  if (!self->m_server) {
    return unexpected(ErrorCode::io, "cannot serve gRPC on " + grpc_address(runtime_dir));
  }
  auto gate = GrpcGate::start(socket, *self->m_server);
  if (!gate) {
    self->m_server->Shutdown();
    return unexpected(gate.error());
  }
  self->m_gate = std::move(*gate);
  auto local = LocalServer::start(client_socket_path(runtime_dir), self->local_calls(),
                                  self->m_deps.activity, self->m_pool);
  if (!local) {
    self->m_server->Shutdown();
    return unexpected(local.error());
  }
  self->m_local = std::move(*local);
  return self;
}

LocalCallTable GrpcServer::local_calls() {
  namespace v1 = cargo_analysis::v1;
  LocalCallTable t;
  auto& q = m_deps.query;
  t.add<v1::ListSessionsRequest, v1::ListSessionsResponse>(
      methods::k_list_sessions,
      [&q, team = m_deps.info.team](const auto& r) { return list_sessions(q, team, r); });
  t.add<v1::GetSessionRequest, v1::Session>(methods::k_get_session,
                                            [&q](const auto& r) { return q.get_session(r); });
  t.add<v1::GetRebuildsRequest, v1::GetRebuildsResponse>(
      methods::k_get_rebuilds, [&q](const auto& r) { return q.get_rebuilds(r); });
  t.add_serialized<v1::GetTimingsRequest>(
      methods::k_get_timings, [&q](const auto& r) { return q.get_timings_serialized(r); });
  t.add<v1::GetCriticalPathRequest, v1::GetCriticalPathResponse>(
      methods::k_get_critical_path, [&q](const auto& r) { return q.get_critical_path(r); });
  t.add<v1::DiffRequest, v1::DiffResponse>(methods::k_diff,
                                           [&q](const auto& r) { return q.diff(r); });
  t.add<v1::TrendsRequest, v1::TrendsResponse>(
      methods::k_trends,
      [&q, team = m_deps.info.team](const auto& r) { return trends(q, team, r); });
  t.add<v1::SlowestCratesRequest, v1::SlowestCratesResponse>(
      methods::k_slowest_crates,
      [&q, team = m_deps.info.team](const auto& r) { return slowest_crates(q, team, r); });
  t.add<v1::ThrashRequest, v1::ThrashResponse>(methods::k_thrash,
                                               [&q](const auto& r) { return q.thrash(r); });
  t.add<v1::StatusRequest, v1::StatusResponse>(
      methods::k_status, [this](const auto& req) { return m_admin.status(req); });
  t.add<v1::ShutdownRequest, v1::ShutdownResponse>(
      methods::k_shutdown, [this](const auto&) -> Result<v1::ShutdownResponse> {
        m_admin.shutdown("the client socket");
        return v1::ShutdownResponse();
      });
  t.add<v1::CollectRequest, v1::CollectResponse>(
      methods::k_collect, [this](const auto& r) { return m_admin.collect(r); });
  t.add<v1::ProcessAnnouncement, v1::AnnounceResponse>(
      methods::k_announce, [this](const auto& r) { return m_ingest.announce(r); });
  return t;
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  if (m_local) {
    m_local->stop();
  }
  if (m_gate) {
    m_gate->stop(); // before the server: no connection is handed to a server shutting down
  }
  if (m_server) {
    m_deps.live.close_subscribers(); // Watch streams never end by themselves
    m_server->Shutdown(std::chrono::system_clock::now() + grace);
    m_server->Wait();
  }
  m_pool.stop(); // after the server: calls in flight were still answered
}

} // namespace ca::server
