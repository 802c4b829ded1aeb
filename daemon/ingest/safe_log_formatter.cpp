#include "daemon/ingest/safe_log_formatter.hpp"

#include "shared/safe_text.hpp"

#include <spdlog/pattern_formatter.h>

namespace ca::ingest {

namespace {

class SafeLogFormatter final : public spdlog::formatter {
public:
  explicit SafeLogFormatter(std::string pattern)
      : m_pattern(std::move(pattern)),
        m_inner(std::make_unique<spdlog::pattern_formatter>(m_pattern)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (is_safe_text(payload)) {
      m_inner->format(msg, dest);
      return;
    }
    const std::string safe = safe_text(payload);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(safe.data(), safe.size());
    m_inner->format(copy, dest);
    // The colour sinks read where the level's colour goes from the message they passed.
    msg.color_range_start = copy.color_range_start;
    msg.color_range_end = copy.color_range_end;
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<SafeLogFormatter>(m_pattern);
  }

private:
  std::string m_pattern;
  std::unique_ptr<spdlog::pattern_formatter> m_inner;
};

} // namespace

std::unique_ptr<spdlog::formatter> safe_log_formatter(const std::string& pattern) {
  return std::make_unique<SafeLogFormatter>(pattern);
}

} // namespace ca::ingest
