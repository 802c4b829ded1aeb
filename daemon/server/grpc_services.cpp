#include "daemon/server/grpc_services.hpp"

#include "daemon/ingest/publish_reactor.hpp"
#include "daemon/query/team_reports.hpp"
#include "shared/safe_text.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace ca::server {

namespace v1 = cargo_analysis::v1;

grpc::Status to_status(const Error& error) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (error.code) {
  case ErrorCode::invalid_argument:
    code = grpc::StatusCode::INVALID_ARGUMENT;
    break;
  case ErrorCode::not_found:
    code = grpc::StatusCode::NOT_FOUND;
    break;
  case ErrorCode::io:
  case ErrorCode::database:
  case ErrorCode::internal:
    code = grpc::StatusCode::INTERNAL;
    break;
  case ErrorCode::unavailable:
    code = grpc::StatusCode::UNAVAILABLE;
    break;
  case ErrorCode::failed_precondition:
    code = grpc::StatusCode::FAILED_PRECONDITION;
    break;
  case ErrorCode::resource_exhausted:
    code = grpc::StatusCode::RESOURCE_EXHAUSTED;
    break;
  case ErrorCode::damaged:
    code = grpc::StatusCode::DATA_LOSS;
    break;
  }
  return {code, safe_lines(error.message)}; // names and paths in it may be any bytes
}

namespace {

// The status a unary call ends with, after `compute` filled the response. Exceptions never
// cross into gRPC: a bug in a report ends that request with INTERNAL, not the daemon.
template <class Response, class Compute>
grpc::Status compute_answer(Response* resp, const char* rpc, const Compute& compute) {
  try {
    auto r = compute();
    if (r) {
      *resp = std::move(r).value();
      return grpc::Status::OK;
    }
    if (r.error().code != ErrorCode::not_found && r.error().code != ErrorCode::invalid_argument) {
      spdlog::error("{}: {}", rpc, r.error().message);
    }
    return to_status(r.error());
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", rpc, e.what());
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
  }
}

// Answers a unary call on the worker pool: the gRPC thread only hands it over. `compute` must
// capture by value (the request and response stay valid until Finish).
template <class Response, class Compute>
grpc::ServerUnaryReactor* answer(WorkerPool& pool,
                                 grpc::CallbackServerContext* ctx,
                                 Response* resp,
                                 const char* rpc,
                                 Compute compute) {
  auto* reactor = ctx->DefaultReactor();
  pool.post([reactor, resp, rpc, compute = std::move(compute)] {
    reactor->Finish(compute_answer(resp, rpc, compute));
  });
  return reactor;
}

} // namespace

namespace {

// The answer to a `--team` report asked of a daemon without a team url.
Error no_team_url() {
  return Error{ErrorCode::failed_precondition,
               "team reports need a team ClickHouse: this daemon has no team url (set "
               "`[team] url` in config.toml or start it with --team-url)"};
}

} // namespace

Result<v1::ListSessionsResponse> list_sessions(query::QueryEngine& query,
                                               export_::TeamExporter* team,
                                               const v1::ListSessionsRequest& req) {
  if (!req.team()) {
    return query.list_sessions(req);
  }
  if (team == nullptr) {
    return unexpected(no_team_url());
  }
  return team->sessions(req);
}

Result<v1::TrendsResponse>
trends(query::QueryEngine& query, export_::TeamExporter* team, const v1::TrendsRequest& req) {
  if (!req.team()) {
    return query.trends(req);
  }
  if (team == nullptr) {
    return unexpected(no_team_url());
  }
  return query::team_trends(team->client(), req);
}

Result<v1::SlowestCratesResponse> slowest_crates(query::QueryEngine& query,
                                                 export_::TeamExporter* team,
                                                 const v1::SlowestCratesRequest& req) {
  if (!req.team()) {
    return query.slowest_crates(req);
  }
  if (team == nullptr) {
    return unexpected(no_team_url());
  }
  return query::team_slowest_crates(team->client(), req);
}

grpc::ServerUnaryReactor* ReportsService::ListSessions(grpc::CallbackServerContext* ctx,
                                                       const v1::ListSessionsRequest* req,
                                                       v1::ListSessionsResponse* resp) {
  return answer(m_pool, ctx, resp, "ListSessions",
                [this, req] { return list_sessions(m_query, m_team, *req); });
}

grpc::ServerUnaryReactor* ReportsService::GetSession(grpc::CallbackServerContext* ctx,
                                                     const v1::GetSessionRequest* req,
                                                     v1::Session* resp) {
  return answer(m_pool, ctx, resp, "GetSession", [this, req] { return m_query.get_session(*req); });
}

grpc::ServerUnaryReactor* ReportsService::GetRebuilds(grpc::CallbackServerContext* ctx,
                                                      const v1::GetRebuildsRequest* req,
                                                      v1::GetRebuildsResponse* resp) {
  return answer(m_pool, ctx, resp, "GetRebuilds",
                [this, req] { return m_query.get_rebuilds(*req); });
}

grpc::ServerUnaryReactor* ReportsService::GetTimings(grpc::CallbackServerContext* ctx,
                                                     const v1::GetTimingsRequest* req,
                                                     v1::GetTimingsResponse* resp) {
  return answer(m_pool, ctx, resp, "GetTimings", [this, req] { return m_query.get_timings(*req); });
}

grpc::ServerUnaryReactor* ReportsService::GetCriticalPath(grpc::CallbackServerContext* ctx,
                                                          const v1::GetCriticalPathRequest* req,
                                                          v1::GetCriticalPathResponse* resp) {
  return answer(m_pool, ctx, resp, "GetCriticalPath",
                [this, req] { return m_query.get_critical_path(*req); });
}

grpc::ServerUnaryReactor* ReportsService::Diff(grpc::CallbackServerContext* ctx,
                                               const v1::DiffRequest* req,
                                               v1::DiffResponse* resp) {
  return answer(m_pool, ctx, resp, "Diff", [this, req] { return m_query.diff(*req); });
}

grpc::ServerUnaryReactor* ReportsService::Trends(grpc::CallbackServerContext* ctx,
                                                 const v1::TrendsRequest* req,
                                                 v1::TrendsResponse* resp) {
  return answer(m_pool, ctx, resp, "Trends", [this, req] { return trends(m_query, m_team, *req); });
}

grpc::ServerUnaryReactor* ReportsService::SlowestCrates(grpc::CallbackServerContext* ctx,
                                                        const v1::SlowestCratesRequest* req,
                                                        v1::SlowestCratesResponse* resp) {
  return answer(m_pool, ctx, resp, "SlowestCrates",
                [this, req] { return slowest_crates(m_query, m_team, *req); });
}

grpc::ServerUnaryReactor* ReportsService::Thrash(grpc::CallbackServerContext* ctx,
                                                 const v1::ThrashRequest* req,
                                                 v1::ThrashResponse* resp) {
  return answer(m_pool, ctx, resp, "Thrash", [this, req] { return m_query.thrash(*req); });
}

Result<void> AdminService::fill_status(v1::StatusResponse& resp, bool brief) {
  resp.set_version(m_info.setup.version);
  resp.set_pid(static_cast<uint32_t>(::getpid()));
  resp.set_uptime_secs(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_info.started).count());
  resp.set_started_by_client(m_info.setup.started_by_client);
  resp.set_runtime_dir(safe_text(m_info.runtime_dir.string()));
  resp.set_config_file(safe_text(m_info.setup.config_file.string()));
  resp.set_config_file_read(m_info.setup.config_file_read);
  for (const ConfigEntry& e : m_info.setup.config) {
    auto* c = resp.add_config();
    c->set_key(e.key);
    c->set_value(safe_text(e.value));
    c->set_source(to_string(e.source));
  }
  if (brief) {
    return {};
  }
  if (m_info.team != nullptr) {
    *resp.mutable_team() = m_info.team->status(); // counts the outbox: not for a brief status
  }
  resp.set_db_path(safe_text(m_info.db_path.string()));
  std::error_code ec;
  uint64_t size = 0;
  for (const char* suffix : {"", "-wal"}) {
    auto s = std::filesystem::file_size(m_info.db_path.string() + suffix, ec);
    if (!ec) {
      size += s;
    }
  }
  resp.set_db_size_bytes(size);
  const store::WriterStats ws = m_writer.stats();
  resp.set_store_failures(ws.failed_transactions);
  resp.set_store_writing(ws.writing);
  if (!ws.last_error.empty()) {
    resp.set_store_last_error(safe_text(ws.last_error));
    resp.set_store_last_error_age_secs(
        std::chrono::duration<double>(std::chrono::system_clock::now() - ws.last_error_at).count());
  }
  for (const auto& d : m_info.watched_dirs) {
    resp.add_watched_dirs(safe_text(d));
  }
  CA_TRY_ASSIGN(auto reader, m_readers.lease());
  CA_TRY_ASSIGN(auto counts, reader->counts());
  resp.set_events_stored(counts.events);
  resp.set_runs_stored(counts.runs);
  resp.set_sessions_stored(counts.sessions);
  resp.set_runs_in_progress(counts.runs_in_progress);
  uint64_t rejected = 0;
  for (const auto& c : m_stats.snapshot()) {
    auto* s = resp.add_sources();
    s->set_name(safe_text(c.name));
    s->set_lines_accepted(c.lines_accepted);
    s->set_lines_rejected(c.lines_rejected);
    s->set_producers_disconnected(c.producers_disconnected);
    s->set_last_error(c.last_error); // made safe by SourceStats
    rejected += c.lines_rejected;
  }
  resp.set_lines_rejected(rejected);
  if (m_info.correlation) {
    *resp.mutable_correlation() = m_info.correlation();
  }
  if (m_info.backfill_progress) {
    auto p = m_info.backfill_progress();
    resp.set_backfill_files_total(p.files_total);
    resp.set_backfill_files_done(p.files_done);
    resp.set_backfill_finished(p.finished);
  }
  if (m_info.reports_progress) {
    auto [pending, computed] = m_info.reports_progress();
    resp.set_reports_pending(pending);
    resp.set_reports_computed(computed);
  }
  return {};
}

Result<v1::StatusResponse> AdminService::status(const v1::StatusRequest& req) {
  if (!req.client_version().empty() && req.client_version() != m_info.setup.version) {
    note_client_version(req.client_version());
  }
  v1::StatusResponse r;
  CA_TRY(fill_status(r, req.brief()));
  return r;
}

void AdminService::note_client_version(const std::string& version) {
  std::lock_guard lock(m_versions_mutex);
  if (m_versions_seen.insert(version).second) {
    spdlog::warn("a client of version {} talks to this daemon of version {} (restart the daemon "
                 "after an upgrade: cargo-analysis-client stop)",
                 version, m_info.setup.version);
  }
}

void AdminService::shutdown(const char* via) {
  spdlog::info("shutdown requested over {}", via);
  // Only signals: the main thread performs the shutdown (never Shutdown() from a gRPC thread).
  m_request_shutdown();
}

grpc::ServerUnaryReactor* AdminService::Status(grpc::CallbackServerContext* ctx,
                                               const v1::StatusRequest* req,
                                               v1::StatusResponse* resp) {
  return answer(m_pool, ctx, resp, "Status", [this, req] { return status(*req); });
}

grpc::ServerUnaryReactor* AdminService::Shutdown(grpc::CallbackServerContext* ctx,
                                                 const v1::ShutdownRequest* /*req*/,
                                                 v1::ShutdownResponse* /*resp*/) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  shutdown("gRPC");
  return reactor;
}

Result<v1::CollectResponse> AdminService::collect(const v1::CollectRequest& req) {
  store::RetentionPolicy policy = m_retention;
  if (req.has_keep_days()) {
    policy.max_age = std::chrono::hours(24) * req.keep_days();
  }
  if (req.has_keep_sessions()) {
    policy.max_sessions = req.keep_sessions();
  }
  if (req.has_max_db_mb()) {
    policy.max_bytes = store::mib_to_bytes(req.max_db_mb());
  }
  policy.vacuum = req.vacuum();
  policy.dry_run = req.dry_run();
  auto done = m_writer.run_exclusive<store::GcOutcome>(
      [policy](store::Database& db) { return store::collect_garbage(db, policy); });
  CA_TRY_ASSIGN(store::GcOutcome o, done.get());
  if (!o.dry_run && (o.sessions_deleted > 0 || o.vacuumed)) {
    spdlog::info("gc (requested): {}", store::describe(o));
  }
  v1::CollectResponse resp;
  resp.set_sessions_deleted(o.sessions_deleted);
  resp.set_runs_deleted(o.runs_deleted);
  resp.set_events_deleted(o.events_deleted);
  resp.set_sessions_kept(o.sessions_kept);
  resp.set_bytes_before(o.bytes_before);
  resp.set_bytes_after(o.bytes_after);
  resp.set_vacuumed(o.vacuumed);
  resp.set_dry_run(o.dry_run);
  return resp;
}

grpc::ServerUnaryReactor* AdminService::Collect(grpc::CallbackServerContext* ctx,
                                                const v1::CollectRequest* req,
                                                v1::CollectResponse* resp) {
  return answer(m_pool, ctx, resp, "Collect", [this, req] { return collect(*req); });
}

Result<v1::AnnounceResponse> IngestService::announce(const v1::ProcessAnnouncement& req) {
  if (req.pid() == 0 || req.session_id().empty()) {
    return unexpected(ErrorCode::invalid_argument, "an announcement needs a pid and a session_id");
  }
  auto pid = static_cast<pid_t>(req.pid());
  if (!req.finished()) {
    spdlog::debug("announce: pid {} started for session {}", pid, req.session_id());
    m_correlator.on_exec_started(pid, req.session_id());
  } else if (req.has_exit_code()) {
    spdlog::debug("announce: pid {} of session {} exited with {}", pid, req.session_id(),
                  req.exit_code());
    auto facts = m_correlator.on_exec_finished(pid, req.exit_code());
    if (!facts.empty()) {
      store::Batch batch;
      batch.source = "announce";
      batch.facts = std::move(facts);
      m_writer.submit(std::move(batch));
    }
  }
  return v1::AnnounceResponse();
}

grpc::ServerUnaryReactor* IngestService::Announce(grpc::CallbackServerContext* ctx,
                                                  const v1::ProcessAnnouncement* req,
                                                  v1::AnnounceResponse* resp) {
  return answer(m_pool, ctx, resp, "Announce", [this, req] { return announce(*req); });
}

grpc::ServerBidiReactor<v1::PublishRequest, v1::PublishResponse>*
IngestService::Publish(grpc::CallbackServerContext* /*ctx*/) {
  return new ingest::PublishReactor(m_writer, m_stats, ++m_next_stream); // deletes itself when done
}

} // namespace ca::server
