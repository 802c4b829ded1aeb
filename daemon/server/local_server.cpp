#include "daemon/server/local_server.hpp"

#include "daemon/runtime/accept.hpp"
#include "daemon/runtime/fd_budget.hpp"
#include "daemon/runtime/private_socket.hpp"
#include "shared/safe_text.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace ca::server {

namespace asio = boost::asio;
namespace v1 = cargo_analysis::v1;
using local_socket = asio::local::stream_protocol::socket;

v1::LocalReply LocalCallTable::call(const v1::LocalCall& call) const {
  v1::LocalReply reply;
  auto it = m_handlers.find(call.method());
  if (it == m_handlers.end()) {
    reply.set_code(static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
    reply.set_message("unknown method `" + call.method() + "` on the local call socket");
    return reply;
  }
  grpc::Status status;
  try {
    status = it->second(call.request(), *reply.mutable_response());
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", call.method(), e.what());
    status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
  }
  if (!status.ok()) {
    reply.clear_response();
    reply.set_code(static_cast<int>(status.error_code()));
    reply.set_message(safe_lines(status.error_message())); // a `string` field: UTF-8 only
    if (status.error_code() != grpc::StatusCode::NOT_FOUND &&
        status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
      spdlog::error("{}: {}", call.method(), status.error_message());
    }
  }
  return reply;
}

LocalServer::LocalServer(std::filesystem::path socket_path,
                         LocalCallTable table,
                         runtime::ActivityMonitor& activity,
                         WorkerPool& pool)
    : m_path(std::move(socket_path)), m_table(std::move(table)), m_activity(activity), m_pool(pool),
      m_acceptor(m_io) {}

Result<std::unique_ptr<LocalServer>> LocalServer::start(const std::filesystem::path& socket_path,
                                                        LocalCallTable table,
                                                        runtime::ActivityMonitor& activity,
                                                        WorkerPool& pool,
                                                        unsigned threads) {
  std::unique_ptr<LocalServer> self(new LocalServer(socket_path, std::move(table), activity, pool));
  CA_TRY(runtime::listen_private(self->m_acceptor, socket_path));
  self->m_connections->cap = runtime::connection_cap(runtime::fd_limit());
  asio::co_spawn(self->m_io, self->accept_loop(), asio::detached);
  for (unsigned i = 0; i < std::max(1u, threads); ++i) {
    self->m_threads.emplace_back([s = self.get()] { s->m_io.run(); });
  }
  return self;
}

LocalServer::~LocalServer() {
  stop();
}

void LocalServer::stop() {
  if (m_stopped) {
    return;
  }
  m_stopped = true;
  asio::post(m_io, [this] {
    boost::system::error_code ec;
    m_acceptor.close(ec);
  });
  // A call runs on the worker pool and its reply is written on the io threads: stopping them at
  // once would drop it (the client of `stop` saw "Connection reset by peer" instead of the
  // answer to Admin.Shutdown). Wait for the calls in flight, a bounded time.
  const auto deadline = std::chrono::steady_clock::now() + k_stop_grace;
  while (m_calls_in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  m_io.stop();
  for (auto& t : m_threads) {
    t.join();
  }
  ::unlink(m_path.c_str());
}

asio::awaitable<void> LocalServer::accept_loop() {
  while (auto accepted =
             co_await runtime::accept_same_user(m_acceptor, "client socket", m_connections.get())) {
    // A strand per connection: its idle timer's handler and its reads never run at once.
    asio::co_spawn(asio::make_strand(m_io), serve(std::move(accepted->socket)), asio::detached);
  }
}

asio::awaitable<std::string> LocalServer::call_on_pool(std::shared_ptr<const v1::LocalCall> call) {
  auto strand = co_await asio::this_coro::executor;
  // The request is shared and the initiation a named object: a request moved into a lambda
  // built inside the co_await expression was freed twice (GCC 12, Boost 1.74).
  auto initiate = [this, strand, call](auto handler) {
    // std::function needs a copyable task: the coroutine's handler is shared, not copied.
    auto resume = std::make_shared<decltype(handler)>(std::move(handler));
    m_pool.post([this, strand, resume, call] {
      std::string out = m_table.call(*call).SerializeAsString();
      // Back on the connection's strand (if the io_context stopped meanwhile, the handler is
      // destroyed with it, and the connection with its coroutine).
      asio::post(strand, [resume, out = std::move(out)]() mutable { (*resume)(std::move(out)); });
    });
  };
  std::string out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::string)>(
      initiate, asio::use_awaitable);
  co_return out;
}

asio::awaitable<void> LocalServer::serve(local_socket socket) {
  runtime::ConnectionSlot slot(m_connections);
  auto busy = m_activity.busy();
  std::string body;
  // A connection that sends no call for k_idle_timeout is closed: a flood of idle connections
  // holds the places under the cap only that long.
  asio::steady_timer idle(co_await asio::this_coro::executor);
  bool timed_out = false;
  for (;;) {
    boost::system::error_code ec;
    std::array<unsigned char, 4> header{};
    idle.expires_after(k_idle_timeout);
    idle.async_wait([&socket, &timed_out](const boost::system::error_code& e) {
      if (!e) { // only then is the frame still alive: an aborted wait touches nothing
        timed_out = true;
        boost::system::error_code ignored;
        socket.cancel(ignored);
      }
    });
    co_await asio::async_read(socket, asio::buffer(header),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec || timed_out) {
      if (timed_out) {
        spdlog::debug("client socket: closed a connection idle for {} s", k_idle_timeout.count());
      }
      co_return; // the client is done (EOF) or gone, or idle too long
    }
    uint32_t size = uint32_t{header[0]} | uint32_t{header[1]} << 8 | uint32_t{header[2]} << 16 |
                    uint32_t{header[3]} << 24;
    if (size > k_max_frame) {
      spdlog::warn("client socket: a frame of {} bytes (limit {}); connection closed", size,
                   k_max_frame);
      co_return;
    }
    body.resize(size);
    co_await asio::async_read(socket, asio::buffer(body),
                              asio::redirect_error(asio::use_awaitable, ec));
    idle.cancel(); // the whole call came within k_idle_timeout
    if (ec || timed_out) {
      co_return;
    }
    auto call = std::make_shared<v1::LocalCall>();
    if (!call->ParseFromString(body)) {
      spdlog::warn("client socket: a frame that is not a LocalCall; connection closed");
      co_return;
    }
    // In flight from here until its reply is written (or cannot be): see stop().
    struct InFlight {
      explicit InFlight(std::atomic<int>& n) : count(n) { ++count; }
      ~InFlight() { --count; }
      InFlight(const InFlight&) = delete;
      InFlight& operator=(const InFlight&) = delete;
      std::atomic<int>& count;
    } in_flight(m_calls_in_flight);
    std::string out = co_await call_on_pool(call);
    auto n = static_cast<uint32_t>(out.size());
    std::array<unsigned char, 4> out_header{
        static_cast<unsigned char>(n), static_cast<unsigned char>(n >> 8),
        static_cast<unsigned char>(n >> 16), static_cast<unsigned char>(n >> 24)};
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out_header), asio::buffer(out)};
    co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
  }
}

} // namespace ca::server
