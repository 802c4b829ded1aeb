// Splitting a byte stream into lines, bounded in bytes rather than in lines.
//
// A producer may send anything: one endless line (`ingest /dev/zero`), lines of many megabytes,
// or good lines. The framer holds at most `max_line` bytes of a line that has not ended yet;
// beyond that the line is over the limit and its bytes are skipped, found with memchr and never
// copied, until its newline. Such a line is reported once per `max_line` bytes it runs on
// (the first time when it passes the limit), so that a source that cuts a producer off after so
// many rejections in a row cuts off an endless line after a bounded number of bytes too.
//
// The one framer of every NDJSON line source: the socket (one per connection) and the log watcher
// (one per tailed file, copied with each committed offset, so that a read resumed at the offset
// knows whether it is inside an over-long line). Not thread-safe. No allocation but the partial
// line.
#pragma once

#include "shared/codec/event_decoder.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ca::ingest {

class LineFramer {
public:
  // `lines_before` is the number of lines already seen, for a stream picked up in the middle
  // (a log file read on from a checkpoint): line numbers go on from there.
  explicit LineFramer(size_t max_line = codec::k_max_line_bytes, uint64_t lines_before = 0)
      : m_max(max_line), m_line_no(lines_before) {}

  // Feeds the next bytes of the stream. Calls `on_line(std::string_view line, uint64_t line_no)`
  // for each complete line (without its newline) within the limit, and
  // `on_oversize(uint64_t line_no, uint64_t bytes_so_far)` each time the line being read passes
  // another multiple of the limit. `line_no` is 1-based. The views are valid during the call.
  template <class OnLine, class OnOversize>
  void feed(std::string_view data, OnLine&& on_line, OnOversize&& on_oversize) {
    const char* p = data.data();
    const char* end = p + data.size();
    while (p < end) {
      const auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
      const char* stop = nl != nullptr ? nl : end;
      const auto n = static_cast<size_t>(stop - p);
      if (!m_in_long && m_partial.size() + n > m_max) {
        m_in_long = true; // the line just went over: drop what was held of it
        m_long_bytes = m_partial.size();
        m_partial.clear();
        m_partial.shrink_to_fit();
      }
      if (m_in_long) {
        m_long_bytes += n;
        while (m_long_bytes > m_next_report) {
          on_oversize(m_line_no + 1, m_long_bytes);
          m_next_report += m_max;
        }
      }
      if (nl == nullptr) {
        if (!m_in_long) {
          m_partial.append(p, n);
        }
        return;
      }
      ++m_line_no;
      if (m_in_long) {
        m_in_long = false;
        m_long_bytes = 0;
        m_next_report = m_max;
      } else if (m_partial.empty()) {
        on_line(std::string_view(p, n), m_line_no);
      } else {
        m_partial.append(p, n);
        on_line(std::string_view(m_partial), m_line_no);
        m_partial.clear();
      }
      p = nl + 1;
    }
  }

  // The start of a line not ended yet (empty while skipping an over-long one).
  const std::string& partial() const { return m_partial; }
  // Whether the stream is inside a line over the limit.
  bool in_long_line() const { return m_in_long; }
  // Complete lines seen so far (over-long ones included).
  uint64_t lines() const { return m_line_no; }
  // Drops the partial line (e.g. an idle producer's, after a timeout). Returns its size.
  size_t drop_partial() {
    const size_t n = m_partial.size();
    m_partial.clear();
    m_partial.shrink_to_fit();
    return n;
  }

  // Why a line `bytes` long so far is rejected, in the words every source uses: the size alone
  // the first time (while it is under twice the limit), then how far it has run.
  static std::string oversize_reason(uint64_t bytes, size_t max_line = codec::k_max_line_bytes) {
    std::string why = "line is over the " + std::to_string(max_line) + "-byte limit";
    if (bytes > 2 * uint64_t{max_line}) {
      why += " (" + std::to_string(bytes) + " bytes so far)";
    }
    return why;
  }

private:
  size_t m_max;
  std::string m_partial;
  uint64_t m_line_no = 0;
  bool m_in_long = false;         // inside a line over the limit
  uint64_t m_long_bytes = 0;      // bytes of that line so far
  uint64_t m_next_report = m_max; // report again once m_long_bytes passes this
};

} // namespace ca::ingest
