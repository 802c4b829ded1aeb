// Accepting on the daemon's Unix sockets: only connections from our own uid (SO_PEERCRED), as
// DESIGN.md asks of every socket; others are refused and logged. Shared by the NDJSON ingest
// socket and the client's local call socket.
#pragma once

// clang-format off
#include <utility> // first: boost 1.74 asio/awaitable.hpp uses std::exchange without it
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <sys/socket.h>

#include <optional>
#include <string_view>

namespace ca::ingest {

struct Accepted {
  boost::asio::local::stream_protocol::socket socket;
  ucred peer; // pid, uid and gid of the process that connected
};

// The next connection from our uid; nullopt once `acceptor` is closed. `what` names the socket
// in log lines ("ingest socket").
boost::asio::awaitable<std::optional<Accepted>>
accept_same_user(boost::asio::local::stream_protocol::acceptor& acceptor, std::string_view what);

} // namespace ca::ingest
