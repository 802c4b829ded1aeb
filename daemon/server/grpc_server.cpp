#include "daemon/server/grpc_server.hpp"

#include "shared/paths.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ca::server {

GrpcServer::GrpcServer(ServerDeps deps)
    : m_deps(std::move(deps)), m_reports(m_deps.query),
      m_admin(m_deps.info, m_deps.readers, m_deps.stats, m_deps.request_shutdown),
      m_ingest(m_deps.correlator, m_deps.writer, m_deps.stats), m_live(m_deps.live) {}

Result<std::unique_ptr<GrpcServer>> GrpcServer::start(const std::filesystem::path& runtime_dir,
                                                      ServerDeps deps) {
  std::unique_ptr<GrpcServer> self(new GrpcServer(std::move(deps)));
  // Reflection lets generic tools (grpcurl, IDE plugins) discover the API.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto socket = grpc_socket_path(runtime_dir);
  ::unlink(socket.c_str()); // a stale socket of a dead daemon (the pid lock says we are alone)
  grpc::ServerBuilder builder;
  builder.AddListeningPort(grpc_address(runtime_dir), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  builder.RegisterService(&self->m_reports);
  builder.RegisterService(&self->m_admin);
  builder.RegisterService(&self->m_ingest);
  builder.RegisterService(&self->m_live);
  self->m_server = builder.BuildAndStart();
  if (!self->m_server) {
    return unexpected(ErrorCode::io, "cannot serve gRPC on " + grpc_address(runtime_dir));
  }
  ::chmod(socket.c_str(), 0600);
  return self;
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  if (m_server) {
    m_deps.live.close_subscribers(); // Watch streams never end by themselves
    m_server->Shutdown(std::chrono::system_clock::now() + grace);
    m_server->Wait();
  }
}

} // namespace ca::server
