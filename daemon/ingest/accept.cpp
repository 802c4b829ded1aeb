#include "daemon/ingest/accept.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace ca::ingest {

namespace asio = boost::asio;

asio::awaitable<std::optional<Accepted>>
accept_same_user(asio::local::stream_protocol::acceptor& acceptor, std::string_view what) {
  for (;;) {
    boost::system::error_code ec;
    auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return std::nullopt;
      }
      spdlog::warn("{}: accept failed: {}", what, ec.message());
      continue;
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != ::getuid()) {
      spdlog::warn("{}: refused a connection from uid {} (pid {})", what, cred.uid, cred.pid);
      continue;
    }
    co_return Accepted{std::move(socket), cred};
  }
}

} // namespace ca::ingest
