#include "shared/time_range.hpp"

#include "shared/run_id.hpp"

#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>

namespace ca {
namespace {

constexpr const char* k_accepted =
    "expected an RFC 3339 time (2026-11-20T14:30:00Z), a date (2026-11-20, local time), a local "
    "date and time (2026-11-20 14:30) or an age (30m, 2h, 7d, 2w)";

Unexpected bad(std::string_view text, std::string_view why = {}) {
  std::string msg = "invalid time `" + std::string(text) + "`: ";
  msg += why.empty() ? std::string(k_accepted) : std::string(why);
  return unexpected(ErrorCode::invalid_argument, std::move(msg));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  constexpr std::array<int, 12> k_days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[static_cast<size_t>(m - 1)];
}

struct LocalTime {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// Milliseconds since the epoch of a local wall-clock time (mktime: the TZ environment and the
// daylight-saving rule in force on that date).
int64_t local_to_unix_ms(const LocalTime& t) {
  std::tm tm{};
  tm.tm_year = t.year - 1900;
  tm.tm_mon = t.month - 1;
  tm.tm_mday = t.day;
  tm.tm_hour = t.hour;
  tm.tm_min = t.minute;
  tm.tm_sec = t.second;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

LocalTime local_of(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

// Midnight starting the local day `days_ahead` days after the one holding `unix_ms`.
int64_t local_midnight(int64_t unix_ms, int days_ahead) {
  LocalTime t = local_of(unix_ms);
  t.hour = t.minute = t.second = 0;
  t.day += days_ahead; // mktime normalizes the day of month
  return local_to_unix_ms(t);
}

// `<number><unit>` or `<number> <unit> [ago]`; nullopt when `s` is no age.
std::optional<double> age_ms(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) {
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  std::string number(s.substr(0, i));
  if (number.front() == '.' || number.back() == '.' || number.find('.') != number.rfind('.')) {
    return std::nullopt;
  }
  std::string_view rest = trim(s.substr(i));
  if (rest.size() > 4 && rest.substr(rest.size() - 4) == " ago") {
    rest = trim(rest.substr(0, rest.size() - 4));
  }
  struct Unit {
    std::string_view names[4];
    double ms;
  };
  static constexpr Unit k_units[] = {
      {{"s", "sec", "second", "seconds"}, 1e3},  {{"secs", "", "", ""}, 1e3},
      {{"m", "min", "minute", "minutes"}, 60e3}, {{"mins", "", "", ""}, 60e3},
      {{"h", "hr", "hour", "hours"}, 3600e3},    {{"hrs", "", "", ""}, 3600e3},
      {{"d", "day", "days", ""}, 86400e3},       {{"w", "week", "weeks", ""}, 604800e3},
  };
  for (const Unit& u : k_units) {
    for (std::string_view name : u.names) {
      if (!name.empty() && rest == name) {
        return std::stod(number) * u.ms;
      }
    }
  }
  return std::nullopt;
}

// `YYYY-MM-DD` and, optionally, `[T ]HH:MM[:SS]`, without a zone; nullopt when it is not that
// shape, an error when it is but names no real date or time.
std::optional<Result<LocalTime>> local_date_time(std::string_view s, std::string_view text) {
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (!y || !mo || !d || s[4] != '-' || s[7] != '-') {
    return std::nullopt;
  }
  LocalTime t{*y, *mo, *d, 0, 0, 0};
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || (s.size() != 16 && s.size() != 19)) {
      return std::nullopt;
    }
    auto h = digits(s, 11, 2), mi = digits(s, 14, 2);
    if (!h || !mi || s[13] != ':') {
      return std::nullopt;
    }
    t.hour = *h;
    t.minute = *mi;
    if (s.size() == 19) {
      auto sec = digits(s, 17, 2);
      if (!sec || s[16] != ':') {
        return std::nullopt;
      }
      t.second = *sec;
    }
  }
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) ||
      t.hour > 23 || t.minute > 59 || t.second > 59) {
    return Result<LocalTime>(bad(text, "no such date or time"));
  }
  return Result<LocalTime>(t);
}

} // namespace

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> parse_time_bound(std::string_view text, TimeBound bound, int64_t now_ms) {
  std::string_view s = trim(text);
  if (s.empty()) {
    return bad(text);
  }
  const std::string word = lower(s);
  const int end_of_day = bound == TimeBound::until ? 1 : 0;
  if (word == "now") {
    return now_ms;
  }
  if (word == "today") {
    return local_midnight(now_ms, end_of_day);
  }
  if (word == "yesterday") {
    return local_midnight(now_ms, -1 + end_of_day);
  }
  if (auto age = age_ms(word)) {
    if (!std::isfinite(*age) || *age > 1e15) {
      return bad(text, "the age is too large");
    }
    return now_ms - static_cast<int64_t>(std::llround(*age));
  }
  if (auto local = local_date_time(s, text)) {
    if (!*local) {
      return unexpected(local->error());
    }
    int64_t at = local_to_unix_ms(**local);
    if (s.size() == 10 && bound == TimeBound::until) {
      at = local_midnight(at, 1); // the whole day is in the range
    }
    return at;
  }
  // A zone makes it RFC 3339 (a `T` or a blank between date and time).
  std::string rfc(s);
  if (rfc.size() > 10 && (rfc[10] == ' ' || rfc[10] == 't')) {
    rfc[10] = 'T';
  }
  if (!rfc.empty() && rfc.back() == 'z') {
    rfc.back() = 'Z';
  }
  if (rfc.size() > 10 && digits(rfc, 0, 4)) {
    auto ns = parse_rfc3339_ns(rfc);
    if (!ns) {
      return bad(text, ns.error().message);
    }
    // Round down: an instant with sub-millisecond digits still bounds the runs of its ms.
    return *ns >= 0 ? *ns / 1'000'000 : -((-*ns + 999'999) / 1'000'000);
  }
  return bad(text);
}

Result<void> check_time_range(std::optional<int64_t> since, std::optional<int64_t> until) {
  if (since && until && *since >= *until) {
    return unexpected(ErrorCode::invalid_argument,
                      "the time range is empty: --since (" + format_rfc3339_ms(*since) +
                          ") is not before --until (" + format_rfc3339_ms(*until) + ")");
  }
  return {};
}

std::string describe_time_range(std::optional<int64_t> since, std::optional<int64_t> until) {
  if (since && until) {
    return "between " + format_rfc3339_ms(*since) + " and " + format_rfc3339_ms(*until);
  }
  if (since) {
    return "since " + format_rfc3339_ms(*since);
  }
  if (until) {
    return "until " + format_rfc3339_ms(*until);
  }
  return {};
}

} // namespace ca
