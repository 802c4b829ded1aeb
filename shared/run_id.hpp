// Cargo's run ids: `<YYYYMMDD>T<HHMMSS><mmm>Z-<16 hex digits>` (cargo `util/logger.rs`).
// The hex part hashes the workspace root, so two runs with the same suffix ran in the same
// workspace; the time part is the invocation time in UTC with milliseconds.
#pragma once

#include "shared/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ca {

struct RunId {
  int64_t unix_ms = 0;        // the invocation time
  std::string workspace_hash; // 16 lowercase or uppercase hex digits, as written

  // Formats back to cargo's form.
  std::string to_string() const;
};

// Parses a run id. Returns invalid_argument with cargo's wording
// ("expect run ID in format `20060724T012128000Z-<16-char-hex>`, got `...`") when malformed.
Result<RunId> parse_run_id(std::string_view text);

// Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds:
// `2026-11-23T06:27:16.161Z`.
std::string format_rfc3339_ms(int64_t unix_ms);

// Formats nanoseconds since the epoch as cargo (jiff) writes `timestamp`: RFC 3339 UTC with only
// the fraction digits needed (`2026-11-23T06:27:16.2566037Z`, `2026-11-23T06:27:16Z`).
std::string format_rfc3339_ns(int64_t unix_ns);

// Parses an RFC 3339 timestamp as cargo writes it (`2026-11-23T06:30:06.352701432Z`, 0-9
// fraction digits, `Z` or an offset such as `+00:00`) into nanoseconds since the epoch.
// Returns invalid_argument, naming the text and the problem, when it is malformed, names a date
// or time that does not exist (including a leap second), or is outside the int64 range.
Result<int64_t> parse_rfc3339_ns(std::string_view text);

} // namespace ca
