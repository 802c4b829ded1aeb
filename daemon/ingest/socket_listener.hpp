// The NDJSON ingest socket: `<runtime-dir>/ingest.sock`, one cargo log line per line.
//
// One coroutine per connection, all on the daemon's io_context. Each connection decodes its
// lines (LineIngestor), hands batches to the writer and waits for each batch's commit before it
// hands over the next, so a fast producer is slowed to the writer's pace (back-pressure) rather
// than growing our memory. Connections from another uid are refused (SO_PEERCRED).
//
// When the producer shuts down its side, the daemon commits what it sent, marks the runs it sent
// as ended, and answers with one JSON line:
//   {"accepted":N,"rejected":M,"stored":S,"duplicates":D,"errors":["<source>:<line>: <why>",...]}
// A producer that sends k_max_consecutive_rejects bad lines in a row gets the same line with
// "disconnected":true and is cut off; other connections go on. A line over the size limit counts
// as one bad line per k_max_line_bytes it runs on (LineFramer), so an endless line is cut off
// too, after about k_max_consecutive_rejects MiB.
//
// Bounded under floods: at most `SocketLimits::max_connections` open at once (more are refused at
// accept, see accept.hpp); an idle connection holds no read buffer (one 64 KiB buffer is shared
// by all: connections run on one io thread and a read is consumed before the next suspension);
// a partial line left unfinished for `SocketLimits::partial_line_timeout` closes its connection.
#pragma once

#include "daemon/ingest/source_stats.hpp"
#include "daemon/runtime/accept.hpp"
#include "daemon/runtime/activity.hpp"
#include "daemon/store/batch_sink.hpp"
#include "shared/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <utility> // boost 1.74 asio/awaitable.hpp uses std::exchange without it
#include <vector>

namespace ca::ingest {

struct SocketLimits {
  uint64_t max_connections = 0; // 0: runtime::connection_cap(runtime::fd_limit()) at start()
  std::chrono::milliseconds partial_line_timeout = std::chrono::seconds(60);
};

class SocketListener {
public:
  using Limits = SocketLimits;

  SocketListener(boost::asio::io_context& io,
                 std::filesystem::path socket_path,
                 store::BatchSink& sink,
                 SourceStats& stats,
                 runtime::ActivityMonitor& activity,
                 SocketLimits limits = {});

  // Binds (replacing a stale socket file), restricts it to 0600 and starts accepting.
  // Returns an io error naming the path if the socket cannot be bound.
  Result<void> start();

  // Stops accepting (the acceptor is closed on the io thread, posted from here); open
  // connections end when the io_context stops. Callable from any thread.
  void stop();

private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::local::stream_protocol::socket socket,
                                     uint64_t id);

  boost::asio::io_context& m_io;
  std::filesystem::path m_path;
  store::BatchSink& m_sink;
  SourceStats& m_stats;
  runtime::ActivityMonitor& m_activity; // each connection is busy while open
  Limits m_limits;
  boost::asio::local::stream_protocol::acceptor m_acceptor;
  uint64_t m_next_id = 0;
  std::shared_ptr<runtime::ConnectionCount> m_connections =
      std::make_shared<runtime::ConnectionCount>();
  std::vector<char> m_chunk; // the one read buffer, see above
};

} // namespace ca::ingest
