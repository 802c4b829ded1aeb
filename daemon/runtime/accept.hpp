// Accepting on the daemon's Unix sockets: only connections from our own uid (SO_PEERCRED), as
// DESIGN.md asks of every socket; others are refused and logged. Shared by the NDJSON ingest
// socket and the client's local call socket.
//
// Floods. Each socket caps its open connections (ConnectionCount, see fd_budget.hpp): one over
// the cap is accepted and closed at once, so it neither waits in the backlog nor holds a
// descriptor. If the process is out of descriptors anyway (EMFILE, ENFILE) or the kernel out of
// memory, accepting pauses for k_accept_pause instead of retrying at once: the pending
// connection stays in the backlog and the loop does not spin.
#pragma once

// clang-format off
#include <utility> // first: boost 1.74 asio/awaitable.hpp uses std::exchange without it
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace ca::runtime {

inline constexpr auto k_accept_pause = std::chrono::milliseconds(100);

// Open connections on one listening socket, against its cap. Thread-safe (the client socket
// serves on several threads).
struct ConnectionCount {
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> cap{0}; // 0: no cap
  std::atomic<uint64_t> refused{0};
};

// Holds one of `count`'s places for the life of a connection.
class ConnectionSlot {
public:
  // Shared: a connection's coroutine frame may be destroyed after its listener (with the
  // io_context), and its slot must still find the count.
  explicit ConnectionSlot(std::shared_ptr<ConnectionCount> count) : m_count(std::move(count)) {
    ++m_count->open;
  }
  ~ConnectionSlot() { --m_count->open; }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

private:
  std::shared_ptr<ConnectionCount> m_count;
};

struct Accepted {
  boost::asio::local::stream_protocol::socket socket;
  ucred peer; // pid, uid and gid of the process that connected
};

// The next connection from our uid that fits under `count`'s cap (when given); nullopt once
// `acceptor` is closed. `what` names the socket in log lines ("ingest socket").
boost::asio::awaitable<std::optional<Accepted>>
accept_same_user(boost::asio::local::stream_protocol::acceptor& acceptor,
                 std::string_view what,
                 ConnectionCount* count = nullptr);

} // namespace ca::runtime
