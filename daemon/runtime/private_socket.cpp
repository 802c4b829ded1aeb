#include "daemon/runtime/private_socket.hpp"

#include "shared/safe_text.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ca::runtime {

Result<int> listen_private(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) {
    return unexpected(ErrorCode::io, "cannot listen on " + safe_text(path.string()) +
                                         ": path too long for a Unix socket (at most " +
                                         std::to_string(sizeof addr.sun_path - 1) + " bytes)");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.string().size());
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    return unexpected(ErrorCode::io,
                      "cannot listen on " + safe_text(path.string()) + ": " + std::strerror(err));
  }
  return fd;
}

Result<void> listen_private(boost::asio::local::stream_protocol::acceptor& acceptor,
                            const std::filesystem::path& path) {
  CA_TRY_ASSIGN(int fd, listen_private(path));
  boost::system::error_code ec;
  acceptor.assign(boost::asio::local::stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return unexpected(ErrorCode::io,
                      "cannot listen on " + safe_text(path.string()) + ": " + ec.message());
  }
  return {};
}

} // namespace ca::runtime
