// The daemon's Unix sockets (ingest.sock, client.sock, grpc.sock), bound one way: a stale socket
// file of a dead daemon replaced (the pid lock says we are alone), the file made 0600 between
// bind and listen (so nobody connects before it is private), and errors that name the path.
#pragma once

#include "shared/error.hpp"

#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>

namespace ca::runtime {

// A listening, non-blocking, close-on-exec socket at `path`; the caller owns the fd.
Result<int> listen_private(const std::filesystem::path& path);

// The same, handed to `acceptor` (which must be closed).
Result<void> listen_private(boost::asio::local::stream_protocol::acceptor& acceptor,
                            const std::filesystem::path& path);

} // namespace ca::runtime
