// The door of grpc.sock: we accept its connections ourselves, refuse those of another uid
// (SO_PEERCRED), and hand the rest to the gRPC server as already-connected descriptors
// (grpc::AddInsecureChannelFromFd).
//
// Why not inside gRPC. With Debian's gRPC 1.51 a server that listens itself never shows us the
// peer's credentials: an AuthMetadataProcessor needs secure credentials and sees metadata, not
// the socket; LocalServerCredentials(UDS) checks only that the peer is local; the interceptor
// and `peer()` give an address (`unix:...`), not a uid. Accepting ourselves is the one check
// that runs before a single byte of HTTP/2 is read, and it is the same check as on ingest.sock
// and client.sock (runtime::accept_same_user's rules, on a thread of its own with blocking
// poll(2), so it needs no io_context). On EMFILE/ENFILE it pauses instead of spinning.
#pragma once

#include "shared/error.hpp"

#include <grpcpp/server.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

namespace ca::server {

class GrpcGate {
public:
  // Binds `socket_path` (replacing a stale socket, mode 0600) and starts handing connections
  // from our uid to `server`, which must outlive stop(). Returns an io error naming the path.
  static Result<std::unique_ptr<GrpcGate>> start(const std::filesystem::path& socket_path,
                                                 grpc::Server& server);
  ~GrpcGate(); // stop()s
  GrpcGate(const GrpcGate&) = delete;
  GrpcGate& operator=(const GrpcGate&) = delete;

  // Stops accepting, joins the thread, removes the socket file. Idempotent. Call before the
  // server shuts down.
  void stop();

  uint64_t refused() const { return m_refused.load(); }

private:
  GrpcGate(std::filesystem::path path, grpc::Server& server, int listen_fd, int wake_fd);
  void run();

  std::filesystem::path m_path;
  grpc::Server& m_server;
  int m_listen_fd;
  int m_wake_fd; // an eventfd: written by stop()
  std::thread m_thread;
  std::atomic<uint64_t> m_refused{0};
  bool m_stopped = false;
};

} // namespace ca::server
