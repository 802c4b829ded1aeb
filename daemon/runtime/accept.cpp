#include "daemon/runtime/accept.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

namespace ca::runtime {

namespace asio = boost::asio;

namespace {

// Errors that last until something else lets go of a resource: retrying at once would spin.
bool is_exhaustion(const boost::system::error_code& ec) {
  return ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
         ec.value() == ENOMEM;
}

} // namespace

asio::awaitable<std::optional<Accepted>>
accept_same_user(asio::local::stream_protocol::acceptor& acceptor,
                 std::string_view what,
                 ConnectionCount* count) {
  bool exhausted = false; // within one run of EMFILE/ENFILE: logged once
  for (;;) {
    boost::system::error_code ec;
    auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return std::nullopt;
      }
      if (is_exhaustion(ec)) {
        if (!exhausted) {
          spdlog::warn("{}: accept failed: {}; pausing accepts ({} ms at a time) until "
                       "descriptors are free",
                       what, ec.message(), k_accept_pause.count());
        }
        exhausted = true;
        asio::steady_timer pause(acceptor.get_executor(), k_accept_pause);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      spdlog::warn("{}: accept failed: {}", what, ec.message());
      continue;
    }
    if (exhausted) {
      exhausted = false;
      spdlog::info("{}: accepting again", what);
    }
    if (count != nullptr && count->cap != 0 && count->open.load() >= count->cap.load()) {
      // Over the cap: closed at once (the peer reads EOF). Logged on the first and then every
      // 1000th, so that a flood does not flood the log too.
      if (const uint64_t refused = count->refused++; refused % 1000 == 0) {
        spdlog::warn("{}: {} connections open, the most allowed; refusing new ones ({} so far)",
                     what, count->open.load(), refused + 1);
      }
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

} // namespace ca::runtime
