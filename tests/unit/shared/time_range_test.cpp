// `--since`/`--until` values: RFC 3339, local dates and times, ages, and the range check.
#include "shared/run_id.hpp"
#include "shared/time_range.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace ca {
namespace {

// A fixed "now": 2026-11-23T12:00:00Z.
constexpr int64_t k_now = 1'795'435'200'000;

// Local wall-clock time to ms, as the parser must compute it (TZ decides).
int64_t local_ms(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

// Runs the test body in a named time zone and restores the old one.
class InZone {
public:
  explicit InZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) {
      m_old = old;
    }
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~InZone() {
    if (m_old) {
      ::setenv("TZ", m_old->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  InZone(const InZone&) = delete;
  InZone& operator=(const InZone&) = delete;

private:
  std::optional<std::string> m_old;
};

int64_t since(std::string_view text) {
  auto r = parse_time_bound(text, TimeBound::since, k_now);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : -1;
}

int64_t until(std::string_view text) {
  auto r = parse_time_bound(text, TimeBound::until, k_now);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r ? *r : -1;
}

TEST(TimeRange, FixedNowIsWhatTheTestsSayItIs) {
  EXPECT_EQ(format_rfc3339_ms(k_now), "2026-11-23T12:00:00.000Z");
}

TEST(TimeRange, Rfc3339TimesAreThatInstant) {
  EXPECT_EQ(format_rfc3339_ms(since("2026-11-20T14:30:00Z")), "2026-11-20T14:30:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(since("2026-11-20T14:30:00.250+01:00")), "2026-11-20T13:30:00.250Z");
  EXPECT_EQ(format_rfc3339_ms(since("2026-11-20 14:30:00z")), "2026-11-20T14:30:00.000Z");
  // An RFC 3339 instant is the same for --until: no end-of-day rounding.
  EXPECT_EQ(since("2026-11-20T14:30:00Z"), until("2026-11-20T14:30:00Z"));
}

TEST(TimeRange, AgesCountBackFromNow) {
  EXPECT_EQ(since("30m"), k_now - 30 * 60'000);
  EXPECT_EQ(since("2h"), k_now - 2 * 3'600'000);
  EXPECT_EQ(since("7d"), k_now - 7 * 86'400'000LL);
  EXPECT_EQ(since("2w"), k_now - 14 * 86'400'000LL);
  EXPECT_EQ(since("45s"), k_now - 45'000);
  EXPECT_EQ(since("3 days ago"), k_now - 3 * 86'400'000LL);
  EXPECT_EQ(since("2 hours"), k_now - 2 * 3'600'000);
  EXPECT_EQ(since("1.5h"), k_now - 90 * 60'000);
  EXPECT_EQ(since(" 2H "), k_now - 2 * 3'600'000);
  EXPECT_EQ(since("now"), k_now);
}

TEST(TimeRange, PlainDatesAreLocalMidnightsAndUntilIncludesTheDay) {
  InZone zone("America/New_York");
  EXPECT_EQ(since("2026-11-20"), local_ms(2026, 11, 20));
  EXPECT_EQ(until("2026-11-20"), local_ms(2026, 11, 21));
  // New York is 5 hours behind UTC in November.
  EXPECT_EQ(format_rfc3339_ms(since("2026-11-20")), "2026-11-20T05:00:00.000Z");
  EXPECT_EQ(since("2026-11-20 14:30"), local_ms(2026, 11, 20, 14, 30));
  EXPECT_EQ(since("2026-11-20T14:30:05"), local_ms(2026, 11, 20, 14, 30, 5));
  // A date and time without zone means the same for both ends.
  EXPECT_EQ(until("2026-11-20 14:30"), local_ms(2026, 11, 20, 14, 30));
  // The last day of the year rolls over.
  EXPECT_EQ(until("2026-12-31"), local_ms(2027, 1, 1));
}

TEST(TimeRange, TodayAndYesterdayAreLocalDays) {
  InZone zone("UTC");
  EXPECT_EQ(format_rfc3339_ms(since("today")), "2026-11-23T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(until("today")), "2026-11-24T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(since("yesterday")), "2026-11-22T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(until("yesterday")), "2026-11-23T00:00:00.000Z");
}

TEST(TimeRange, BadValuesAreErrorsNamingTheTextAndTheForms) {
  for (const char* text : {"", "soon", "2h later", "2x", "-2h", "1..5h", "2026-11", "20261120",
                           "2026-11-20T25:00:00Z", "2026-11-20T14:30", "2026-11-20 14:3"}) {
    auto r = parse_time_bound(text, TimeBound::since, k_now);
    if (std::string_view(text) == "2026-11-20T14:30") {
      EXPECT_TRUE(r) << "a local date and time with a T is accepted";
      continue;
    }
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(r.error().message.rfind("invalid time `" + std::string(text) + "`: ", 0), 0u)
        << r.error().message;
  }
  auto r = parse_time_bound("soon", TimeBound::since, k_now);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("an age (30m, 2h, 7d, 2w)"), std::string::npos)
      << r.error().message;
}

TEST(TimeRange, DatesThatDoNotExistAreErrors) {
  for (const char* text : {"2026-02-30", "2026-13-01", "2026-00-10", "2025-02-29",
                           "2026-11-20 24:00", "2026-11-20 10:60"}) {
    auto r = parse_time_bound(text, TimeBound::since, k_now);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find("no such date or time"), std::string::npos)
        << r.error().message;
  }
  EXPECT_TRUE(parse_time_bound("2028-02-29", TimeBound::since, k_now)); // a leap year
}

TEST(TimeRange, InvertedOrEmptyRangesAreErrorsNamingBothEnds) {
  EXPECT_TRUE(check_time_range(std::nullopt, std::nullopt));
  EXPECT_TRUE(check_time_range(1000, std::nullopt));
  EXPECT_TRUE(check_time_range(1000, 2000));
  auto inverted = check_time_range(since("1h"), since("2h"));
  ASSERT_FALSE(inverted);
  EXPECT_EQ(inverted.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(inverted.error().message,
            "the time range is empty: --since (2026-11-23T11:00:00.000Z) is not before --until "
            "(2026-11-23T10:00:00.000Z)");
  EXPECT_FALSE(check_time_range(1000, 1000));
}

TEST(TimeRange, DescribedForMessages) {
  EXPECT_EQ(describe_time_range(std::nullopt, std::nullopt), "");
  EXPECT_EQ(describe_time_range(k_now, std::nullopt), "since 2026-11-23T12:00:00.000Z");
  EXPECT_EQ(describe_time_range(std::nullopt, k_now), "until 2026-11-23T12:00:00.000Z");
  EXPECT_EQ(describe_time_range(k_now - 1000, k_now),
            "between 2026-11-23T11:59:59.000Z and 2026-11-23T12:00:00.000Z");
}

} // namespace
} // namespace ca
