// Team export: every ended run, with its units, sent to the team's ClickHouse exactly once.
//
// The problem: a run must reach ClickHouse even if the server is down for days, the daemon is
// killed mid-send or restarted, and must not be counted twice when a send is repeated.
//
// The algorithm:
// 1. Queueing is the store's: a trigger (migration 6) inserts the run id into `team_outbox` in
//    the transaction that ends the run, while `team_export` holds its row (start() adds it;
//    disable_team_export() removes it when no url is configured). Nothing else is queued.
// 2. This exporter's thread takes the oldest queued runs (up to `batch_runs`), reads each run
//    and its units from the store, and sends them to ClickHouse (shared/team/team_schema.hpp).
//    Only after ClickHouse answered 200 does it delete those ids from the outbox (through the
//    writer, the one connection that writes).
// 3. A failed send (server down, timeout, wrong schema) leaves the outbox as it was, records the
//    error (in memory for `status`, and in the rows' `attempts`/`last_error`) and waits
//    250 ms * 2^(failures-1), at most `max_backoff`, before trying again.
// 4. A crash between the 200 and the delete sends those runs again after restart: ClickHouse's
//    ReplacingMergeTree keeps one row per run (and per unit), and every team query groups by
//    that key, so a resend never counts twice.
//
// Example: the server is down for an hour while 1,000 runs end; they wait in the outbox; when it
// returns, the next attempt (at most `max_backoff` later) sends them in batches of `batch_runs`.
#pragma once

#include "cargo_analysis/v1/admin.pb.h"
#include "cargo_analysis/v1/reports.pb.h"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "shared/team/clickhouse_client.hpp"
#include "shared/team/team_schema.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace ca::export_ {

class TeamExporter {
public:
  struct Options {
    team::ClickHouseUrl url;
    std::string machine; // the label; "" = the host name
    std::filesystem::path db_path;
    std::chrono::milliseconds max_backoff = std::chrono::seconds(60);
    size_t batch_runs = 200;
  };

  TeamExporter(Options options, store::ReaderPool& readers, store::Writer& writer);
  ~TeamExporter(); // stop()s
  TeamExporter(const TeamExporter&) = delete;
  TeamExporter& operator=(const TeamExporter&) = delete;

  // Switches queueing on (the `team_export` row, through the writer) and starts the thread.
  // Returns the database error if the row cannot be written or the outbox cannot be read.
  Result<void> start();

  // A run ended: wakes the thread (unless it is backing off after a failure).
  void notify();

  // Ends the thread after the send under way (bounded by the client's timeout). Idempotent.
  void stop();

  // The team's ClickHouse, for the team reports (daemon/query/team_reports.hpp). Its queries
  // may run on any thread.
  const team::ClickHouseClient& client() const { return m_client; }

  // For `status`: backlog, counters, last error.
  cargo_analysis::v1::TeamStatus status();

  // `report sessions --team`: the newest sessions in ClickHouse (of one machine if asked), as
  // the local report gives them. unavailable/failed_precondition with ClickHouse's message when
  // it cannot answer.
  Result<cargo_analysis::v1::ListSessionsResponse>
  sessions(const cargo_analysis::v1::ListSessionsRequest& req);

private:
  void run();
  // One round: reads up to batch_runs queued runs and sends them. Returns the number sent
  // (0: nothing queued), or the error of the send.
  Result<size_t> send_batch();
  Result<uint64_t> backlog();

  Options m_options;
  std::string m_host;
  store::ReaderPool& m_readers;
  store::Writer& m_writer;
  team::ClickHouseClient m_client;

  std::unique_ptr<store::Database> m_outbox_db; // read-only; the exporter thread's
  std::mutex m_status_db_mutex;
  std::unique_ptr<store::Database> m_status_db; // read-only; status() callers'

  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  bool m_woken = false;
  bool m_schema_checked = false;
  std::string m_last_error;
  int64_t m_last_error_ms = 0;
  int64_t m_last_success_ms = 0;
  uint32_t m_failures = 0;
  uint64_t m_runs_sent = 0;
  uint64_t m_units_sent = 0;
  std::thread m_thread;
};

// Switches queueing off (no team url configured): removes the `team_export` row, through the
// writer. Runs already queued stay queued until export is configured again.
Result<void> disable_team_export(store::Writer& writer);

} // namespace ca::export_
