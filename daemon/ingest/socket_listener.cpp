#include "daemon/ingest/socket_listener.hpp"

#include "daemon/ingest/batch_commit.hpp"
#include "daemon/ingest/line_framer.hpp"
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/runtime/accept.hpp"
#include "daemon/runtime/fd_budget.hpp"
#include "daemon/runtime/private_socket.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace ca::ingest {

namespace asio = boost::asio;
using local_socket = asio::local::stream_protocol::socket;

namespace {

// Lines are handed to the writer in batches of this many (or at the end of each read).
constexpr size_t k_batch_lines = 4096;
constexpr size_t k_read_chunk = 64 * 1024;
constexpr size_t k_max_reported_errors = 20;

} // namespace

SocketListener::SocketListener(asio::io_context& io,
                               std::filesystem::path socket_path,
                               store::BatchSink& sink,
                               SourceStats& stats,
                               runtime::ActivityMonitor& activity,
                               Limits limits)
    : m_io(io), m_path(std::move(socket_path)), m_sink(sink), m_stats(stats), m_activity(activity),
      m_limits(limits), m_acceptor(io), m_chunk(k_read_chunk) {
  m_connections->cap = m_limits.max_connections;
}

Result<void> SocketListener::start() {
  if (m_connections->cap == 0) {
    m_connections->cap = runtime::connection_cap(runtime::fd_limit());
  }
  boost::system::error_code ec;
  // systemd socket activation (sd_listen_fds protocol): the socket is passed as fd 3.
  const char* listen_pid = std::getenv("LISTEN_PID");
  const char* listen_fds = std::getenv("LISTEN_FDS");
  if (listen_pid != nullptr && listen_fds != nullptr && std::atoi(listen_pid) == ::getpid() &&
      std::atoi(listen_fds) >= 1) {
    ::unsetenv("LISTEN_PID"); // not for our children
    ::unsetenv("LISTEN_FDS");
    m_acceptor.assign(asio::local::stream_protocol(), 3, ec);
    if (ec) {
      return unexpected(ErrorCode::io,
                        "cannot use the socket systemd passed (fd 3): " + ec.message());
    }
    spdlog::info("ingest socket: using the socket passed by systemd");
    asio::co_spawn(m_io, accept_loop(), asio::detached);
    return {};
  }
  CA_TRY(runtime::listen_private(m_acceptor, m_path));
  asio::co_spawn(m_io, accept_loop(), asio::detached);
  return {};
}

void SocketListener::stop() {
  // The acceptor belongs to the io thread, which may be inside async_accept right now: close it
  // there. (If the io_context is stopped first, the acceptor closes when it is destroyed.)
  asio::post(m_io, [this] {
    boost::system::error_code ec;
    m_acceptor.close(ec);
  });
}

asio::awaitable<void> SocketListener::accept_loop() {
  while (auto accepted =
             co_await runtime::accept_same_user(m_acceptor, "ingest socket", m_connections.get())) {
    uint64_t id = ++m_next_id;
    spdlog::debug("ingest socket: connection #{} from pid {}", id, accepted->peer.pid);
    asio::co_spawn(m_io, serve(std::move(accepted->socket), id), asio::detached);
  }
}

asio::awaitable<void> SocketListener::serve(local_socket socket, uint64_t id) {
  runtime::ConnectionSlot slot(m_connections);
  auto busy = m_activity.busy(); // a producer connected, even a quiet one, is a build going on
  LineIngestor ingestor("socket#" + std::to_string(id), "socket", m_stats);
  // A connection may carry several runs: each run's lines are numbered from its first.
  ingestor.set_positions(LineIngestor::Positions::per_run);
  LineFramer framer;
  std::vector<std::string> errors;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t diverged = 0;
  bool disconnected = false;
  bool timed_out = false;

  uint64_t rejections_noted = 0;
  // Keeps the first few errors for the answer; `report` false counts one without keeping it.
  auto note_errors = [&](bool report = true) {
    if (ingestor.rejected() > rejections_noted) {
      rejections_noted = ingestor.rejected();
      if (report && errors.size() < k_max_reported_errors) {
        errors.push_back(ingestor.last_error());
      }
    }
  };
  auto flush = [&](std::vector<store::RunFacts> facts) -> asio::awaitable<bool> {
    store::Batch batch = ingestor.take_batch();
    batch.facts = std::move(facts);
    if (batch.events.empty() && batch.facts.empty()) {
      co_return true;
    }
    auto r = co_await commit(m_sink, std::move(batch));
    if (!r) {
      errors.push_back("store: " + r.error().message);
      co_return false;
    }
    stored += r->inserted;
    duplicates += r->duplicates;
    diverged += r->diverged;
    for (const store::Divergence& d : r->divergences) {
      if (errors.size() < k_max_reported_errors) {
        errors.push_back(ingestor.source() + ":" + std::to_string(d.position) + ": " + d.message);
      }
    }
    co_return true;
  };
  auto on_line = [&](std::string_view line, uint64_t line_no) {
    ingestor.add_line(line, line_no);
    note_errors();
  };
  auto on_oversize = [&](uint64_t line_no, uint64_t bytes) {
    ingestor.reject(line_no, LineFramer::oversize_reason(bytes));
    note_errors(bytes <= 2 * codec::k_max_line_bytes); // one line: named once in the answer
  };

  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  asio::steady_timer idle(socket.get_executor());
  for (;;) {
    // Wait until there is something to read: an idle connection holds no buffer. A partial
    // line is given partial_line_timeout to be finished.
    if (!framer.partial().empty() || framer.in_long_line()) {
      idle.expires_after(m_limits.partial_line_timeout);
      idle.async_wait([&socket, &timed_out](const boost::system::error_code& e) {
        if (!e) { // only then is the frame still alive: an aborted wait touches nothing
          timed_out = true;
          boost::system::error_code ignored;
          socket.cancel(ignored);
        }
      });
    }
    co_await socket.async_wait(local_socket::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
    idle.cancel();
    if (ec || timed_out) {
      break; // reset, the daemon stopping, or an unfinished line left too long
    }
    size_t n = socket.read_some(asio::buffer(m_chunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      continue;
    }
    if (ec) {
      break; // eof (the producer shut down its side), or the connection reset
    }
    // Consumed before the next co_await: m_chunk is shared by every connection.
    framer.feed(std::string_view(m_chunk.data(), n), on_line, on_oversize);
    if (ingestor.should_disconnect()) {
      disconnected = true;
      m_stats.disconnected("socket");
      spdlog::warn("ingest socket: cut off connection #{} after {} bad lines in a row "
                   "(last: {})",
                   id, k_max_consecutive_rejects, ingestor.last_error());
      break;
    }
    if (ingestor.pending() >= k_batch_lines) {
      if (!co_await flush({})) {
        break;
      }
    }
  }
  if (timed_out) {
    const size_t dropped = framer.drop_partial();
    ingestor.reject(framer.lines() + 1, "line left unfinished for " +
                                            std::to_string(m_limits.partial_line_timeout.count()) +
                                            " ms; connection closed");
    note_errors();
    spdlog::warn("ingest socket: closed connection #{}: a line was left unfinished ({} bytes) for "
                 "{} ms",
                 id, dropped, m_limits.partial_line_timeout.count());
  }
  const std::string buf = framer.partial();
  uint64_t line_no = framer.lines();

  // A last line without a newline: cargo was killed mid-write, or the file was cut.
  bool truncated = false;
  if (!buf.empty() && !disconnected && !framer.in_long_line()) {
    ++line_no;
    truncated = !ingestor.add_line(buf, line_no);
    note_errors();
  }
  std::vector<store::RunFacts> facts;
  if (!disconnected) {
    for (const auto& run : ingestor.runs_seen()) {
      store::RunFacts f;
      f.run_id = run;
      f.ended = true;
      f.log_truncated = truncated && run == ingestor.last_run();
      facts.push_back(std::move(f));
    }
  }
  co_await flush(std::move(facts));

  nlohmann::json summary = {{"accepted", ingestor.accepted()},
                            {"rejected", ingestor.rejected()},
                            {"stored", stored},
                            {"duplicates", duplicates},
                            {"diverged", diverged},
                            {"too_old_runs", ingestor.runs_too_old().size()},
                            {"errors", errors},
                            {"disconnected", disconnected}};
  std::string reply = summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  reply += '\n';
  socket.non_blocking(false, ec);
  co_await asio::async_write(socket, asio::buffer(reply),
                             asio::redirect_error(asio::use_awaitable, ec));
  spdlog::debug("ingest socket: connection #{} done: {} accepted, {} rejected, {} stored", id,
                ingestor.accepted(), ingestor.rejected(), stored);
}

} // namespace ca::ingest
