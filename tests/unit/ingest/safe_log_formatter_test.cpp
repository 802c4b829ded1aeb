#include "daemon/ingest/safe_log_formatter.hpp"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>

namespace ca::ingest {
namespace {

std::string log_through_safe_formatter(const std::string& pattern, const std::string& path) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(safe_log_formatter(pattern));
  logger.warn("watcher: cannot open {}: Permission denied", path);
  logger.flush();
  return out.str();
}

TEST(SafeLogFormatter, NewlineInAFileNameForgesNoLine) {
  const std::string path =
      "/log/x.jsonl\n[2026-12-02 00:00:00.000] [cargo-analysisd] [error] FORGED";
  const std::string out = log_through_safe_formatter("[%n] [%l] %v", path);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out, "[test] [warning] watcher: cannot open /log/x.jsonl\\n[2026-12-02 00:00:00.000] "
                 "[cargo-analysisd] [error] FORGED: Permission denied\n");
}

TEST(SafeLogFormatter, BytesThatAreNotUtf8AreEscaped) {
  const std::string out = log_through_safe_formatter("%v", "/log/\xff\xfe.jsonl\x1b[2J");
  EXPECT_EQ(out, "watcher: cannot open /log/\\xff\\xfe.jsonl\\x1b[2J: Permission denied\n");
}

TEST(SafeLogFormatter, SafeMessagesPassAsTheyAre) {
  const std::string out = log_through_safe_formatter("%v", "/log/é.jsonl");
  EXPECT_EQ(out, "watcher: cannot open /log/é.jsonl: Permission denied\n");
}

} // namespace
} // namespace ca::ingest
