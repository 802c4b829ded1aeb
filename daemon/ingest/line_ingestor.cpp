#include "daemon/ingest/line_ingestor.hpp"

#include "shared/run_id.hpp"
#include "shared/safe_text.hpp"

#include <spdlog/spdlog.h>

namespace ca::ingest {

namespace {
// Per producer, the first rejections are logged at warn; the rest at debug (a garbage producer
// must not flood the log).
constexpr uint64_t k_logged_rejects = 10;
} // namespace

LineIngestor::LineIngestor(std::string source, std::string counter, SourceStats& stats)
    : m_source(std::move(source)), m_counter(std::move(counter)), m_stats(stats) {
  m_batch.source = m_source;
}

bool LineIngestor::add_line(std::string_view line, uint64_t line_no) {
  return add_line(line, line_no, {});
}

bool LineIngestor::add_line(std::string_view line,
                            uint64_t line_no,
                            std::string_view expected_run) {
  auto& event = m_batch.events.emplace_back();
  auto r = m_decoder.decode(line, event);
  if (!r) {
    m_batch.events.pop_back();
    reject(line_no, r.error().message);
    return false;
  }
  if (!expected_run.empty() && event.run_id() != expected_run) {
    std::string why = "the line's run_id `" + event.run_id() +
                      "` is not the run it was sent for (`" + std::string(expected_run) + "`)";
    m_batch.events.pop_back();
    reject(line_no, why);
    return false;
  }
  if (event.run_id() != m_current_run) {
    m_current_run = event.run_id();
    // Outside the retention window: not stored, counted once per run (not a rejection).
    const int64_t oldest = m_stats.oldest_kept_unix_ms();
    auto id = parse_run_id(m_current_run);
    m_last_run_too_old = oldest != 0 && id && id->unix_ms < oldest;
    if (m_last_run_too_old) {
      if (m_runs_too_old.insert(m_current_run).second) {
        m_stats.skipped_old_run();
      }
    } else {
      m_last_run = m_current_run;
      m_runs_seen.insert(m_last_run);
    }
  }
  if (m_last_run_too_old) {
    m_batch.events.pop_back();
    m_consecutive_rejects = 0;
    return true;
  }
  m_batch.positions.push_back(m_positions == Positions::per_run ? ++m_run_lines[event.run_id()]
                                                                : line_no);
  ++m_accepted;
  ++m_unreported_accepts;
  m_consecutive_rejects = 0;
  return true;
}

void LineIngestor::reject(uint64_t line_no, const std::string& why) {
  ++m_rejected;
  ++m_consecutive_rejects;
  // Safe text: it goes into proto `string` fields (Publish acks, Status) and replies.
  m_last_error = safe_text(m_source + ":" + std::to_string(line_no) + ": " + why);
  m_stats.rejected(m_counter, m_last_error);
  if (m_rejected <= k_logged_rejects) {
    spdlog::warn("rejected line {}", m_last_error);
  } else {
    spdlog::debug("rejected line {}", m_last_error);
  }
}

store::Batch LineIngestor::take_batch() {
  store::Batch out;
  out.source = m_source;
  std::swap(out, m_batch);
  if (m_unreported_accepts != 0) {
    m_stats.accepted(m_counter, m_unreported_accepts);
    m_unreported_accepts = 0;
  }
  return out;
}

} // namespace ca::ingest
