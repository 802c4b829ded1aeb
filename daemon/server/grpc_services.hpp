// gRPC services: thin adapters from proto requests to the query engine and the store. They hold
// no SQL and no report logic. Unary calls are answered on a WorkerPool (worker_pool.hpp): no
// SQLite read, VACUUM or writer queue is waited for on a gRPC callback thread.
#pragma once

#include "cargo_analysis/v1/service.grpc.pb.h"
#include "daemon/correlate/correlator.hpp"
#include "daemon/export/team_exporter.hpp"
#include "daemon/ingest/log_watcher.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/query/query_engine.hpp"
#include "daemon/server/worker_pool.hpp"
#include "daemon/store/retention.hpp"
#include "daemon/store/writer.hpp"
#include "shared/daemon_config.hpp"
#include "shared/error.hpp"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ca::server {

// The one mapping from our error codes to gRPC's.
grpc::Status to_status(const Error& error);

// ListSessions, over gRPC and the local socket alike: the local history, or with `team` the
// team's ClickHouse through `team` (failed_precondition if no team url is configured).
Result<cargo_analysis::v1::ListSessionsResponse>
list_sessions(query::QueryEngine& query,
              export_::TeamExporter* team,
              const cargo_analysis::v1::ListSessionsRequest& req);

// Trends, over gRPC and the local socket alike: the local history, or with `team` the team's
// ClickHouse (failed_precondition if no team url is configured).
Result<cargo_analysis::v1::TrendsResponse> trends(query::QueryEngine& query,
                                                  export_::TeamExporter* team,
                                                  const cargo_analysis::v1::TrendsRequest& req);

// SlowestCrates, likewise.
Result<cargo_analysis::v1::SlowestCratesResponse>
slowest_crates(query::QueryEngine& query,
               export_::TeamExporter* team,
               const cargo_analysis::v1::SlowestCratesRequest& req);

class ReportsService final : public cargo_analysis::v1::Reports::CallbackService {
public:
  ReportsService(query::QueryEngine& query, WorkerPool& pool, export_::TeamExporter* team = nullptr)
      : m_query(query), m_pool(pool), m_team(team) {}

  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const cargo_analysis::v1::ListSessionsRequest* req,
                                         cargo_analysis::v1::ListSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* ctx,
                                       const cargo_analysis::v1::GetSessionRequest* req,
                                       cargo_analysis::v1::Session* resp) override;
  grpc::ServerUnaryReactor* GetRebuilds(grpc::CallbackServerContext* ctx,
                                        const cargo_analysis::v1::GetRebuildsRequest* req,
                                        cargo_analysis::v1::GetRebuildsResponse* resp) override;
  grpc::ServerUnaryReactor* GetTimings(grpc::CallbackServerContext* ctx,
                                       const cargo_analysis::v1::GetTimingsRequest* req,
                                       cargo_analysis::v1::GetTimingsResponse* resp) override;
  grpc::ServerUnaryReactor*
  GetCriticalPath(grpc::CallbackServerContext* ctx,
                  const cargo_analysis::v1::GetCriticalPathRequest* req,
                  cargo_analysis::v1::GetCriticalPathResponse* resp) override;
  grpc::ServerUnaryReactor* Diff(grpc::CallbackServerContext* ctx,
                                 const cargo_analysis::v1::DiffRequest* req,
                                 cargo_analysis::v1::DiffResponse* resp) override;
  grpc::ServerUnaryReactor* Trends(grpc::CallbackServerContext* ctx,
                                   const cargo_analysis::v1::TrendsRequest* req,
                                   cargo_analysis::v1::TrendsResponse* resp) override;
  grpc::ServerUnaryReactor* SlowestCrates(grpc::CallbackServerContext* ctx,
                                          const cargo_analysis::v1::SlowestCratesRequest* req,
                                          cargo_analysis::v1::SlowestCratesResponse* resp) override;
  grpc::ServerUnaryReactor* Thrash(grpc::CallbackServerContext* ctx,
                                   const cargo_analysis::v1::ThrashRequest* req,
                                   cargo_analysis::v1::ThrashResponse* resp) override;

private:
  query::QueryEngine& m_query;
  WorkerPool& m_pool;
  export_::TeamExporter* m_team; // null: no team url configured
};

// Who the daemon is and how it was configured, for Admin.Status.
struct DaemonSetup {
  // The version Status reports (CA_VERSION; tests override it to play an older daemon).
  std::string version = CA_VERSION;
  bool started_by_client = false; // started on demand by cargo-analysis-client
  std::filesystem::path config_file;
  bool config_file_read = false;
  std::vector<ConfigEntry> config; // every setting in effect, with its source
};

// What Admin.Status reports besides the store's counts.
struct DaemonInfo {
  std::filesystem::path db_path;
  std::filesystem::path runtime_dir;
  std::vector<std::string> watched_dirs;
  std::chrono::steady_clock::time_point started;
  // Optional live figures from parts main owns (unset: not reported).
  std::function<cargo_analysis::v1::CorrelationStatus()> correlation;
  std::function<ingest::WatcherProgress()> backfill_progress;
  std::function<std::pair<uint64_t, uint64_t>()> reports_progress; // (pending, computed)
  DaemonSetup setup;
  // Team export (null: no team url configured): `status` shows its backlog and last error.
  export_::TeamExporter* team = nullptr;
};

class AdminService final : public cargo_analysis::v1::Admin::CallbackService {
public:
  // `retention`: the daemon's policy, which Collect's request fields override.
  AdminService(DaemonInfo info,
               store::ReaderPool& readers,
               ingest::SourceStats& stats,
               std::function<void()> request_shutdown,
               store::Writer& writer,
               store::RetentionPolicy retention,
               WorkerPool& pool)
      : m_info(std::move(info)), m_readers(readers), m_stats(stats),
        m_request_shutdown(std::move(request_shutdown)), m_writer(writer), m_retention(retention),
        m_pool(pool) {}

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const cargo_analysis::v1::StatusRequest* req,
                                   cargo_analysis::v1::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* Shutdown(grpc::CallbackServerContext* ctx,
                                     const cargo_analysis::v1::ShutdownRequest* req,
                                     cargo_analysis::v1::ShutdownResponse* resp) override;
  grpc::ServerUnaryReactor* Collect(grpc::CallbackServerContext* ctx,
                                    const cargo_analysis::v1::CollectRequest* req,
                                    cargo_analysis::v1::CollectResponse* resp) override;

  // What the RPCs answer, for the local call socket too. A `brief` request reads no database.
  Result<cargo_analysis::v1::StatusResponse> status(const cargo_analysis::v1::StatusRequest& req);
  // Runs the retention policy on the writer thread and waits for its outcome. Returns the
  // store's error, or unavailable if the daemon is shutting down.
  Result<cargo_analysis::v1::CollectResponse>
  collect(const cargo_analysis::v1::CollectRequest& req);
  // Asks main to shut the daemon down; returns at once.
  void shutdown(const char* via);

private:
  Result<void> fill_status(cargo_analysis::v1::StatusResponse& resp, bool brief);
  // Logs a client of another version, once per version.
  void note_client_version(const std::string& version);

  DaemonInfo m_info;
  store::ReaderPool& m_readers;
  ingest::SourceStats& m_stats;
  std::function<void()> m_request_shutdown;
  store::Writer& m_writer;
  store::RetentionPolicy m_retention;
  WorkerPool& m_pool;
  std::mutex m_versions_mutex;
  std::set<std::string> m_versions_seen;
};

// Producer announcements: explicit session evidence and exit codes, handed to the correlator;
// the facts it derives go to the writer. Publish streams: one PublishReactor each
// (daemon/server/publish_reactor.hpp), sharing the NDJSON socket's decode-and-store path.
class IngestService final : public cargo_analysis::v1::Ingest::CallbackService {
public:
  IngestService(correlate::Correlator& correlator,
                store::Writer& writer,
                ingest::SourceStats& stats,
                WorkerPool& pool)
      : m_correlator(correlator), m_writer(writer), m_stats(stats), m_pool(pool) {}

  grpc::ServerUnaryReactor* Announce(grpc::CallbackServerContext* ctx,
                                     const cargo_analysis::v1::ProcessAnnouncement* req,
                                     cargo_analysis::v1::AnnounceResponse* resp) override;
  grpc::ServerBidiReactor<cargo_analysis::v1::PublishRequest, cargo_analysis::v1::PublishResponse>*
  Publish(grpc::CallbackServerContext* ctx) override;

  // What Announce answers, for the local call socket too.
  Result<cargo_analysis::v1::AnnounceResponse>
  announce(const cargo_analysis::v1::ProcessAnnouncement& req);

private:
  correlate::Correlator& m_correlator;
  store::Writer& m_writer;
  ingest::SourceStats& m_stats;
  WorkerPool& m_pool;
  std::atomic<uint64_t> m_next_stream{0};
};

} // namespace ca::server
