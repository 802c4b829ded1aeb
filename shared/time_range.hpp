// `--since` / `--until` values, as `git log --since` users write them, turned into instants.
//
// Accepted forms (surrounding blanks ignored):
//   2026-11-20T14:30:00Z, 2026-11-20T14:30:00.5+01:00   RFC 3339: that instant
//   2026-11-20 14:30, 2026-11-20T14:30:05               a date and time without zone: local time
//   2026-11-20                                           a plain date, local time: its midnight
//                                                        for --since; for --until the midnight
//                                                        after it, so that the day is included
//   30m, 2h, 7d, 2w, 45s, `3 days ago`, 1.5h             an age: that long before now (units s,
//                                                        m, h, d, w and their long names)
//   now, today, yesterday                                now; local midnight of today, yesterday
// A range is [since, until): a run is in it when it started at or after `since` and before
// `until`.
#pragma once

#include "shared/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ca {

enum class TimeBound { since, until };

// The instant `text` names, in milliseconds since the Unix epoch; ages count back from
// `now_unix_ms`. `bound` decides which end of a plain date (or `today`, `yesterday`) is meant.
// Returns invalid_argument naming the text and the accepted forms when it is none of them or
// names a date that does not exist (2026-02-30).
Result<int64_t> parse_time_bound(std::string_view text, TimeBound bound, int64_t now_unix_ms);

// Checks that a range given by its optional ends is not empty or inverted. Returns
// invalid_argument naming both ends (RFC 3339 UTC) when `since` is not before `until`.
Result<void> check_time_range(std::optional<int64_t> since_unix_ms,
                              std::optional<int64_t> until_unix_ms);

// The range in words for messages: `since 2026-11-20T12:00:00.000Z`, `until ...`, `between ... and
// ...`; empty when both ends are open.
std::string describe_time_range(std::optional<int64_t> since_unix_ms,
                                std::optional<int64_t> until_unix_ms);

// The milliseconds since the Unix epoch now (the system clock).
int64_t now_unix_ms();

} // namespace ca
