#include "daemon/app/status_source.hpp"

namespace ca::app {

cargo_analysis::v1::CorrelationStatus correlation_status(const correlate::CorrelatorStats& s) {
  cargo_analysis::v1::CorrelationStatus out;
  out.set_runs_seen(s.runs_seen);
  out.set_linked_by_ancestry(s.linked_by_ancestry);
  out.set_linked_by_environment(s.linked_by_environment);
  out.set_linked_explicitly(s.linked_explicitly);
  out.set_top_level(s.top_level);
  out.set_lost(s.lost);
  out.set_mean_lookup_us(s.runs_seen == 0 ? 0.0 : s.lookup_us_total / s.runs_seen);
  return out;
}

cargo_analysis::v1::CorrelationStatus StatusSource::correlation() const {
  return correlation_status(m_correlator.stats());
}

ingest::WatcherProgress StatusSource::backfill() const {
  return m_watcher != nullptr ? m_watcher->progress() : ingest::WatcherProgress{0, 0, true};
}

std::pair<uint64_t, uint64_t> StatusSource::reports() const {
  auto r = m_reports.stats();
  return {r.pending, r.computed};
}

void StatusSource::install(server::DaemonInfo& info) const {
  info.correlation = [this] { return correlation(); };
  info.backfill_progress = [this] { return backfill(); };
  info.reports_progress = [this] { return reports(); };
}

} // namespace ca::app
