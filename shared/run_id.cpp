// Run ids and RFC 3339 timestamps without timegm(3), locales or the TZ database: dates are
// converted with Howard Hinnant's days-from-civil arithmetic (proleptic Gregorian, UTC only).
#include "shared/run_id.hpp"

#include <fmt/format.h>

#include <cstddef>

namespace ca {

namespace {

constexpr int64_t k_ms_per_day = 86'400'000;
constexpr int64_t k_ns_per_second = 1'000'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date.
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);                // [0, 399]
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; // [0, 365]
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil.
constexpr CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                   // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                    // [0, 11]
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;                            // [1, 31]
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;                               // [1, 12]
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return {y, m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(11017).year == 2000 && civil_from_days(11017).month == 3);

constexpr bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

constexpr unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// A forward-only reader over a short ASCII string.
class Cursor {
public:
  explicit Cursor(std::string_view s) : m_s(s) {}

  // Reads exactly `n` decimal digits; false (and nothing consumed) if they are not there.
  bool digits(std::size_t n, unsigned& out) {
    if (m_s.size() - m_pos < n) {
      return false;
    }
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = m_s[m_pos + i];
      if (c < '0' || c > '9') {
        return false;
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    m_pos += n;
    out = v;
    return true;
  }

  // Consumes `c` (or `alt`) if it is next.
  bool literal(char c, char alt = '\0') {
    if (m_pos < m_s.size() && (m_s[m_pos] == c || (alt != '\0' && m_s[m_pos] == alt))) {
      ++m_pos;
      return true;
    }
    return false;
  }

  // The next character, or '\0' at the end.
  char peek() const { return m_pos < m_s.size() ? m_s[m_pos] : '\0'; }
  bool at_end() const { return m_pos == m_s.size(); }

private:
  std::string_view m_s;
  std::size_t m_pos = 0;
};

// Floor division, for instants before 1970.
constexpr int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-(a + 1)) / b) - 1;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct CivilTime {
  unsigned year = 0;
  unsigned month = 0;
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
};

bool is_valid(const CivilTime& t) {
  return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= days_in_month(t.year, t.month) &&
         t.hour <= 23 && t.minute <= 59 && t.second <= 59;
}

int64_t seconds_since_epoch(const CivilTime& t) {
  return days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

Unexpected run_id_error(std::string_view text) {
  return unexpected(
      ErrorCode::invalid_argument,
      fmt::format("expect run ID in format `20060724T012128000Z-<16-char-hex>`, got `{}`", text));
}

Unexpected timestamp_error(std::string_view text, std::string_view why) {
  return unexpected(ErrorCode::invalid_argument,
                    fmt::format("invalid RFC 3339 timestamp `{}`: {}", text, why));
}

} // namespace

std::string RunId::to_string() const {
  const int64_t days = floor_div(unix_ms, k_ms_per_day);
  const int64_t ms_of_day = unix_ms - days * k_ms_per_day;
  const CivilDate date = civil_from_days(days);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z-{}", date.year, date.month, date.day,
                     ms_of_day / 3'600'000, ms_of_day / 60'000 % 60, ms_of_day / 1000 % 60,
                     ms_of_day % 1000, workspace_hash);
}

// Cargo splits with `rsplit_once('-')` and parses the time with jiff's `%Y%m%dT%H%M%S%3fZ`; we
// accept exactly the 19-character form cargo writes (4-digit year, 3-digit milliseconds) for a
// date and time that exist.
Result<RunId> parse_run_id(std::string_view text) {
  const std::size_t dash = text.rfind('-');
  if (dash == std::string_view::npos) {
    return run_id_error(text);
  }
  const std::string_view hash = text.substr(dash + 1);
  if (hash.size() != 16) {
    return run_id_error(text);
  }
  for (const char c : hash) {
    if (!is_hex_digit(c)) {
      return run_id_error(text);
    }
  }
  // 20060724T012128000Z
  Cursor in(text.substr(0, dash));
  CivilTime t;
  unsigned ms = 0;
  const bool ok = in.digits(4, t.year) && in.digits(2, t.month) && in.digits(2, t.day) &&
                  in.literal('T') && in.digits(2, t.hour) && in.digits(2, t.minute) &&
                  in.digits(2, t.second) && in.digits(3, ms) && in.literal('Z') && in.at_end();
  if (!ok || !is_valid(t)) {
    return run_id_error(text);
  }
  return RunId{seconds_since_epoch(t) * 1000 + ms, std::string(hash)};
}

std::string format_rfc3339_ms(int64_t unix_ms) {
  const int64_t days = floor_div(unix_ms, k_ms_per_day);
  const int64_t ms_of_day = unix_ms - days * k_ms_per_day;
  const CivilDate date = civil_from_days(days);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", date.year, date.month, date.day,
                     ms_of_day / 3'600'000, ms_of_day / 60'000 % 60, ms_of_day / 1000 % 60,
                     ms_of_day % 1000);
}

std::string format_rfc3339_ns(int64_t unix_ns) {
  constexpr int64_t k_ns_per_day = 86'400 * k_ns_per_second;
  const int64_t days = floor_div(unix_ns, k_ns_per_day);
  const int64_t ns_of_day = unix_ns - days * k_ns_per_day;
  const int64_t secs_of_day = ns_of_day / k_ns_per_second;
  int64_t fraction = ns_of_day % k_ns_per_second;
  const CivilDate date = civil_from_days(days);
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", date.year, date.month, date.day,
                  secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
  if (fraction != 0) {
    // As jiff's Display writes it: only the digits needed, trailing zeros dropped.
    int digits = 9;
    while (fraction % 10 == 0) {
      fraction /= 10;
      --digits;
    }
    out += fmt::format(".{:0{}}", fraction, digits);
  }
  out += 'Z';
  return out;
}

// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)`, with 't' and 'z' accepted as RFC 3339
// allows. A leap second (`:60`) is rejected, as cargo's jiff rejects it.
Result<int64_t> parse_rfc3339_ns(std::string_view text) {
  Cursor in(text);
  CivilTime t;
  const bool ok = in.digits(4, t.year) && in.literal('-') && in.digits(2, t.month) &&
                  in.literal('-') && in.digits(2, t.day) && in.literal('T', 't') &&
                  in.digits(2, t.hour) && in.literal(':') && in.digits(2, t.minute) &&
                  in.literal(':') && in.digits(2, t.second);
  if (!ok) {
    return timestamp_error(text, "expected `YYYY-MM-DDTHH:MM:SS`");
  }
  if (!is_valid(t)) {
    return timestamp_error(text, "no such date or time");
  }
  int64_t fraction_ns = 0;
  if (in.literal('.')) {
    int digits = 0;
    unsigned digit = 0;
    while (in.digits(1, digit)) {
      if (++digits > 9) {
        return timestamp_error(text, "more than 9 fraction digits");
      }
      fraction_ns = fraction_ns * 10 + digit;
    }
    if (digits == 0) {
      return timestamp_error(text, "no digits after `.`");
    }
    for (int i = digits; i < 9; ++i) {
      fraction_ns *= 10;
    }
  }
  int64_t offset_seconds = 0;
  if (in.literal('Z', 'z')) {
    // UTC
  } else if (in.peek() == '+' || in.peek() == '-') {
    const bool negative = in.peek() == '-';
    in.literal(in.peek());
    unsigned hours = 0;
    unsigned minutes = 0;
    if (!in.digits(2, hours) || !in.literal(':') || !in.digits(2, minutes) || hours > 23 ||
        minutes > 59) {
      return timestamp_error(text, "malformed UTC offset");
    }
    offset_seconds = (negative ? -1 : 1) * static_cast<int64_t>(hours * 3600 + minutes * 60);
  } else {
    return timestamp_error(text, "expected `Z` or a UTC offset after the time");
  }
  if (!in.at_end()) {
    return timestamp_error(text, "trailing characters");
  }
  const int64_t seconds = seconds_since_epoch(t) - offset_seconds;
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, k_ns_per_second, &ns) ||
      __builtin_add_overflow(ns, fraction_ns, &ns)) {
    return timestamp_error(text, "out of range of nanoseconds since 1970");
  }
  return ns;
}

} // namespace ca
