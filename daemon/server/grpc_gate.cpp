#include "daemon/server/grpc_gate.hpp"

#include "daemon/runtime/private_socket.hpp"
#include "shared/safe_text.hpp"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ca::server {

namespace {

constexpr int k_pause_ms = 100; // after EMFILE/ENFILE: wait for descriptors instead of spinning

} // namespace

Result<std::unique_ptr<GrpcGate>> GrpcGate::start(const std::filesystem::path& socket_path,
                                                  grpc::Server& server) {
  CA_TRY_ASSIGN(int fd, runtime::listen_private(socket_path));
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int err = errno;
    ::close(fd);
    return unexpected(ErrorCode::io,
                      std::string("cannot create an eventfd: ") + std::strerror(err));
  }
  std::unique_ptr<GrpcGate> self(new GrpcGate(socket_path, server, fd, wake));
  self->m_thread = std::thread([g = self.get()] { g->run(); });
  return self;
}

GrpcGate::GrpcGate(std::filesystem::path path, grpc::Server& server, int listen_fd, int wake_fd)
    : m_path(std::move(path)), m_server(server), m_listen_fd(listen_fd), m_wake_fd(wake_fd) {}

GrpcGate::~GrpcGate() {
  stop();
}

void GrpcGate::stop() {
  if (m_stopped) {
    return;
  }
  m_stopped = true;
  const uint64_t one = 1;
  (void)::write(m_wake_fd, &one, sizeof one);
  if (m_thread.joinable()) {
    m_thread.join();
  }
  ::close(m_listen_fd);
  ::close(m_wake_fd);
  ::unlink(m_path.c_str());
}

void GrpcGate::run() {
  const uid_t me = ::getuid();
  bool exhausted = false;
  for (;;) {
    pollfd fds[2] = {{m_listen_fd, POLLIN, 0}, {m_wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      spdlog::error("grpc socket: poll failed: {}; no longer accepting", std::strerror(errno));
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      return; // stop()
    }
    if ((fds[0].revents & POLLIN) == 0) {
      continue;
    }
    int conn = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      const int err = errno;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        if (!exhausted) {
          spdlog::warn("grpc socket: accept failed: {}; pausing accepts ({} ms at a time) until "
                       "descriptors are free",
                       std::strerror(err), k_pause_ms);
        }
        exhausted = true;
        pollfd wake{m_wake_fd, POLLIN, 0};
        if (::poll(&wake, 1, k_pause_ms) > 0) {
          return;
        }
      }
      continue; // EAGAIN (another thread's), ECONNABORTED, EINTR: just go on
    }
    if (exhausted) {
      exhausted = false;
      spdlog::info("grpc socket: accepting again");
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != me) {
      if (m_refused++ % 1000 == 0) {
        spdlog::warn("grpc socket: refused a connection from uid {} (pid {})", cred.uid, cred.pid);
      }
      ::close(conn);
      continue;
    }
    // gRPC owns the descriptor from here on, and closes it when the connection ends.
    grpc::AddInsecureChannelFromFd(&m_server, conn);
  }
}

} // namespace ca::server
