// Per-source counters (accepted and rejected lines, producers cut off, the last error), shared
// by every source and read by Admin.Status. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ca::ingest {

struct SourceCounters {
  std::string name;
  uint64_t lines_accepted = 0;
  uint64_t lines_rejected = 0;
  uint64_t producers_disconnected = 0;
  // Whole inputs that could not be read at all (the log watcher: a file it may not open).
  uint64_t files_failed = 0;
  std::string last_error;
};

class SourceStats {
public:
  void accepted(const std::string& source, uint64_t n);
  void rejected(const std::string& source, const std::string& error);
  void disconnected(const std::string& source);
  // Counts an input that could not be read, and keeps `error` as the source's last error.
  void file_failed(const std::string& source, const std::string& error);
  std::vector<SourceCounters> snapshot() const;
  uint64_t total_rejected() const;

  // The retention window every source applies at ingest: a run that started longer ago than
  // `max_age` is not stored (the next gc would delete it), and is counted here. Zero (the
  // default): every run is stored.
  void set_max_age(std::chrono::milliseconds max_age) { m_max_age_ms = max_age.count(); }
  // The start (Unix ms) before which a run is too old; 0 when there is no window.
  int64_t oldest_kept_unix_ms() const;
  void skipped_old_run() { ++m_old_runs_skipped; }
  uint64_t old_runs_skipped() const { return m_old_runs_skipped; }

private:
  std::atomic<int64_t> m_max_age_ms{0};
  std::atomic<uint64_t> m_old_runs_skipped{0};
  mutable std::mutex m_mutex;
  std::map<std::string, SourceCounters> m_sources;
};

} // namespace ca::ingest
