// The live figures Admin.Status shows from parts that main owns: the correlator's hit rate, the
// log watcher's back-fill and the stored reports' progress (server::DaemonInfo's functions).
#pragma once

#include "cargo_analysis/v1/admin.pb.h"
#include "daemon/correlate/correlator.hpp"
#include "daemon/ingest/log_watcher.hpp"
#include "daemon/query/report_precomputer.hpp"
#include "daemon/server/grpc_services.hpp"

#include <cstdint>
#include <utility>

namespace ca::app {

class StatusSource {
public:
  // `watcher` may be null (no watched directory, or the watcher did not start): then the
  // back-fill is reported finished with no file. All outlive the gRPC server.
  StatusSource(const correlate::Correlator& correlator,
               const ingest::LogWatcher* watcher,
               const query::ReportPrecomputer& reports)
      : m_correlator(correlator), m_watcher(watcher), m_reports(reports) {}

  cargo_analysis::v1::CorrelationStatus correlation() const;
  ingest::WatcherProgress backfill() const;
  std::pair<uint64_t, uint64_t> reports() const; // (pending, computed)

  // Sets `info`'s live figures to this source's.
  void install(server::DaemonInfo& info) const;

private:
  const correlate::Correlator& m_correlator;
  const ingest::LogWatcher* m_watcher;
  const query::ReportPrecomputer& m_reports;
};

// The correlator's counters as Status shows them (the mean /proc lookup cost per run).
cargo_analysis::v1::CorrelationStatus correlation_status(const correlate::CorrelatorStats& s);

} // namespace ca::app
