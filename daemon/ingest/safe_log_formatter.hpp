// The daemon log's last line of defence: every message is made safe (shared/safe_text.hpp)
// before spdlog formats it, so a file name or an input line with a newline, an ESC sequence or
// bytes that are not UTF-8 can neither forge a line of the log nor drive the terminal that shows
// it, whichever call site forgot to clean it first. Messages that are already safe (nearly all)
// are formatted as they are, with no copy.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace ca::ingest {

// A formatter for `pattern` (spdlog's pattern syntax, e.g. "%+") that makes each message safe.
std::unique_ptr<spdlog::formatter> safe_log_formatter(const std::string& pattern);

} // namespace ca::ingest
