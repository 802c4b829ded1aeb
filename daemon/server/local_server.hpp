// The client's local call socket, `<runtime-dir>/client.sock`: the API's unary methods over a
// plain length-framed Unix socket (proto/cargo_analysis/v1/local.proto).
//
// The problem. `cargo-analysis-client report rebuilds` is one short process per command. A gRPC
// channel costs it milliseconds before the first byte is sent (gRPC's threads, the resolver, the
// HTTP/2 handshake), several times what the daemon needs to answer. The client only makes unary
// calls for reports, status and announcements.
//
// The design. A LocalCallTable maps each unary method's gRPC full name to the same code the
// gRPC service runs (the query engine, AdminService, IngestService), with the same request and
// response messages and the same status codes. The LocalServer reads and writes frames on its
// own small io_context and runs each call on the gRPC services' WorkerPool, so that no call
// (a slow trends query, a Collect waiting for its VACUUM) ever holds up the socket's threads. A
// connection sends LocalCall frames and gets one LocalReply for each; a frame that cannot be read
// ends the connection, never the daemon. Streams (Watch, Publish) stay on gRPC.
#pragma once

#include "cargo_analysis/v1/local.pb.h"
#include "daemon/runtime/accept.hpp"
#include "daemon/runtime/activity.hpp"
#include "daemon/server/worker_pool.hpp"
#include "shared/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <grpcpp/support/status.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility> // boost 1.74 asio/awaitable.hpp uses std::exchange without it
#include <vector>

namespace ca::server {

grpc::Status to_status(const Error& error);

class LocalCallTable {
public:
  // Runs one call: parses the request, fills the serialized response, returns the status.
  using Handler = std::function<grpc::Status(const std::string& request, std::string& response)>;

  // Registers `method` (a gRPC full name) as `fn`, which answers a parsed request.
  template <class Request, class Response, class Fn> void add(std::string method, Fn fn) {
    m_handlers[std::move(method)] = [fn = std::move(fn)](const std::string& in,
                                                         std::string& out) -> grpc::Status {
      Request req;
      if (!req.ParseFromString(in)) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse the request message"};
      }
      Result<Response> r = fn(req);
      if (!r) {
        return to_status(r.error());
      }
      r->SerializeToString(&out);
      return grpc::Status::OK;
    };
  }

  // Registers `method` as `fn`, which answers a parsed request with the response already
  // serialized (Result<std::string>), for answers assembled from stored bytes.
  template <class Request, class Fn> void add_serialized(std::string method, Fn fn) {
    m_handlers[std::move(method)] = [fn = std::move(fn)](const std::string& in,
                                                         std::string& out) -> grpc::Status {
      Request req;
      if (!req.ParseFromString(in)) {
        return {grpc::StatusCode::INVALID_ARGUMENT, "cannot parse the request message"};
      }
      Result<std::string> r = fn(req);
      if (!r) {
        return to_status(r.error());
      }
      out = std::move(*r);
      return grpc::Status::OK;
    };
  }

  // The reply to `call`: UNIMPLEMENTED for an unknown method, INTERNAL if the handler throws.
  cargo_analysis::v1::LocalReply call(const cargo_analysis::v1::LocalCall& call) const;

  size_t size() const { return m_handlers.size(); }

private:
  std::unordered_map<std::string, Handler> m_handlers;
};

class LocalServer {
public:
  // Frames larger than this end the connection (requests are small; this only bounds memory).
  static constexpr uint32_t k_max_frame = 16 * 1024 * 1024;
  // A connection with no call for this long is closed (a CLI command makes its calls at once).
  static constexpr std::chrono::seconds k_idle_timeout{30};
  // How long stop() waits for calls in flight (as long as gRPC's shutdown deadline).
  static constexpr std::chrono::seconds k_stop_grace{2};

  // Binds `socket_path` (replacing a stale one, mode 0600) and serves `table` on `threads`
  // io threads, running the calls on `pool` (which outlives the server and is stopped after
  // it). Returns an io error naming the path if it cannot bind.
  static Result<std::unique_ptr<LocalServer>> start(const std::filesystem::path& socket_path,
                                                    LocalCallTable table,
                                                    runtime::ActivityMonitor& activity,
                                                    WorkerPool& pool,
                                                    unsigned threads = 2);
  ~LocalServer(); // stop()s
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  // Stops accepting, drops open connections (a call in progress finishes first) and joins.
  // Removes the socket file. Idempotent.
  void stop();

private:
  LocalServer(std::filesystem::path socket_path,
              LocalCallTable table,
              runtime::ActivityMonitor& activity,
              WorkerPool& pool);
  // Runs `call` on the pool; resumes on the connection's strand with the reply, serialized.
  boost::asio::awaitable<std::string>
  call_on_pool(std::shared_ptr<const cargo_analysis::v1::LocalCall> call);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::local::stream_protocol::socket socket);

  std::filesystem::path m_path;
  LocalCallTable m_table;
  runtime::ActivityMonitor& m_activity;
  WorkerPool& m_pool;
  boost::asio::io_context m_io;
  boost::asio::local::stream_protocol::acceptor m_acceptor;
  std::shared_ptr<runtime::ConnectionCount> m_connections =
      std::make_shared<runtime::ConnectionCount>(); // capped (daemon/ingest/fd_budget.hpp)
  std::vector<std::thread> m_threads;
  bool m_stopped = false;
  // Calls read and not yet answered: stop() lets them finish (Admin.Shutdown's own reply among
  // them) before it stops the io threads.
  std::atomic<int> m_calls_in_flight{0};
};

} // namespace ca::server
