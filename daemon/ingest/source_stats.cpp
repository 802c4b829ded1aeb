#include "daemon/ingest/source_stats.hpp"

#include "shared/safe_text.hpp"

namespace ca::ingest {

void SourceStats::accepted(const std::string& source, uint64_t n) {
  std::lock_guard lock(m_mutex);
  auto& c = m_sources[source];
  c.name = source;
  c.lines_accepted += n;
}

void SourceStats::rejected(const std::string& source, const std::string& error) {
  std::lock_guard lock(m_mutex);
  auto& c = m_sources[source];
  c.name = source;
  ++c.lines_rejected;
  c.last_error = safe_text(error); // a file name or line may be any bytes
}

void SourceStats::disconnected(const std::string& source) {
  std::lock_guard lock(m_mutex);
  auto& c = m_sources[source];
  c.name = source;
  ++c.producers_disconnected;
}

void SourceStats::file_failed(const std::string& source, const std::string& error) {
  std::lock_guard lock(m_mutex);
  auto& c = m_sources[source];
  c.name = source;
  ++c.files_failed;
  c.last_error = safe_text(error); // a file name or line may be any bytes
}

std::vector<SourceCounters> SourceStats::snapshot() const {
  std::lock_guard lock(m_mutex);
  std::vector<SourceCounters> out;
  for (const auto& [_, c] : m_sources) {
    out.push_back(c);
  }
  return out;
}

int64_t SourceStats::oldest_kept_unix_ms() const {
  const int64_t age = m_max_age_ms;
  if (age <= 0) {
    return 0;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() -
         age;
}

uint64_t SourceStats::total_rejected() const {
  std::lock_guard lock(m_mutex);
  uint64_t n = 0;
  for (const auto& [_, c] : m_sources) {
    n += c.lines_rejected;
  }
  return n;
}

} // namespace ca::ingest
