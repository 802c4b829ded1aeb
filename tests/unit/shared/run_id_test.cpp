#include "shared/run_id.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ca {
namespace {

constexpr const char* k_cargo_format_hint =
    "expect run ID in format `20060724T012128000Z-<16-char-hex>`, got `";

TEST(RunId, ParsesCargosRunId) {
  auto id = parse_run_id("20261123T062716161Z-28b99174ef2c2ad6");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->unix_ms, 1795415236161);
  EXPECT_EQ(id->workspace_hash, "28b99174ef2c2ad6");
}

TEST(RunId, ParsesCargosOwnTestId) {
  // cargo's `run_id_round_trip` test in src/cargo/util/logger.rs.
  auto id = parse_run_id("20060724T012128000Z-b0fd440798ab3cfb");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->unix_ms, 1153704088000);
}

TEST(RunId, FormatsBackToTheSameText) {
  for (const char* text : {
           "20261123T062716161Z-28b99174ef2c2ad6", "20060724T012128000Z-b0fd440798ab3cfb",
           "19700101T000000000Z-0000000000000000",
           "20240229T235959999Z-ABCDEF0123456789", // leap day, uppercase hex kept as written
           "21000301T000000001Z-ffffffffffffffff",
           "19691231T235959999Z-0123456789abcdef", // before the epoch
       }) {
    auto id = parse_run_id(text);
    ASSERT_TRUE(id) << text << ": " << id.error().message;
    EXPECT_EQ(id->to_string(), text);
  }
}

TEST(RunId, FormatsFromFields) {
  EXPECT_EQ((RunId{1709251199999, "00000000000000aa"}.to_string()),
            "20240229T235959999Z-00000000000000aa");
  EXPECT_EQ((RunId{-1, "00000000000000aa"}.to_string()), "19691231T235959999Z-00000000000000aa");
}

TEST(RunId, RejectsMalformedIdsWithCargosMessage) {
  for (const char* text : {
           "",
           "invalid-session-id",
           "20261123T062716161Z",                    // no hash
           "20261123T062716161Z-",                   // empty hash
           "20261123T062716161Z-28b99174ef2c2ad",    // 15 hex digits
           "20261123T062716161Z-28b99174ef2c2ad60",  // 17 hex digits
           "20261123T062716161Z-28b99174ef2c2adg",   // not hex
           "20261123T062716161-28b99174ef2c2ad6",    // no Z
           "20261123T06271616Z-28b99174ef2c2ad6",    // 2-digit milliseconds
           "2026-11-23T062716161Z-28b99174ef2c2ad6", // split on the last '-' leaves junk
           "20261323T062716161Z-28b99174ef2c2ad6",   // month 13
           "20230229T062716161Z-28b99174ef2c2ad6",   // not a leap year
           "20261131T062716161Z-28b99174ef2c2ad6",   // November 31
           "20261123T242716161Z-28b99174ef2c2ad6",   // hour 24
           "20261123T066016161Z-28b99174ef2c2ad6",   // minute 60
           "20261123T062760161Z-28b99174ef2c2ad6",   // second 60
           "20261123 062716161Z-28b99174ef2c2ad6",   // no T
           " 20261123T062716161Z-28b99174ef2c2ad6",  // leading space
           "20261123T062716161Zx-28b99174ef2c2ad6",  // trailing junk in the time
       }) {
    auto id = parse_run_id(text);
    ASSERT_FALSE(id) << text;
    EXPECT_EQ(id.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(id.error().message, std::string(k_cargo_format_hint) + text + "`");
  }
}

TEST(Rfc3339, FormatsMilliseconds) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(1795415236161), "2026-11-23T06:27:16.161Z");
  EXPECT_EQ(format_rfc3339_ms(1709251199999), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339, ParsesZeroToNineFractionDigits) {
  constexpr int64_t k_seconds = 1795415406; // 2026-11-23T06:30:06Z
  const std::string digits = "352701432";
  for (std::size_t n = 0; n <= 9; ++n) {
    const std::string fraction = digits.substr(0, n);
    const std::string text =
        "2026-11-23T06:30:06" + (n == 0 ? std::string() : "." + fraction) + "Z";
    int64_t expected_fraction = n == 0 ? 0 : std::stoll(fraction);
    for (std::size_t i = n; i < 9; ++i) {
      expected_fraction *= 10;
    }
    auto ns = parse_rfc3339_ns(text);
    ASSERT_TRUE(ns) << text << ": " << ns.error().message;
    EXPECT_EQ(*ns, k_seconds * 1'000'000'000 + expected_fraction) << text;
  }
}

TEST(Rfc3339, ParsesCargosTimestamps) {
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23T06:30:06.352701432Z").value_or(0), 1795415406352701432);
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23T06:27:16.2566037Z").value_or(0), 1795415236256603700);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:00Z").value_or(-1), 0);
}

TEST(Rfc3339, AcceptsOffsetsAndLowercase) {
  const int64_t utc = parse_rfc3339_ns("2026-11-23T06:30:06.5Z").value_or(0);
  ASSERT_NE(utc, 0);
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23t06:30:06.5z").value_or(0), utc);
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23T06:30:06.5+00:00").value_or(0), utc);
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23T07:30:06.5+01:00").value_or(0), utc);
  EXPECT_EQ(parse_rfc3339_ns("2026-11-23T00:00:06.5-06:30").value_or(0), utc);
  EXPECT_EQ(parse_rfc3339_ns("1969-12-31T23:59:59Z").value_or(0), -1'000'000'000);
}

TEST(Rfc3339, RejectsMalformedTimestamps) {
  for (const char* text : {
           "",
           "2026-11-23",
           "2026-11-23T06:30:06",             // no zone
           "2026-11-23T06:30:06.Z",           // no fraction digits
           "2026-11-23T06:30:06.3527014321Z", // 10 fraction digits
           "2026-11-23T06:30:60Z",            // leap second
           "2026-02-29T06:30:06Z",            // not a leap year
           "2026-11-23T06:30:06Zjunk",
           "2026-11-23T06:30:06+0100", // offset without colon
           "2026-11-23 06:30:06Z",
           "26-11-23T06:30:06Z",
           "+2026-11-23T06:30:06Z",
       }) {
    auto ns = parse_rfc3339_ns(text);
    ASSERT_FALSE(ns) << text;
    EXPECT_EQ(ns.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(ns.error().message.find(std::string("`") + text + "`"), std::string::npos)
        << ns.error().message;
  }
}

TEST(Rfc3339, RejectsInstantsOutsideTheNanosecondRange) {
  auto ns = parse_rfc3339_ns("9999-12-31T23:59:59Z");
  ASSERT_FALSE(ns);
  EXPECT_NE(ns.error().message.find("out of range"), std::string::npos) << ns.error().message;
}

TEST(Rfc3339, FormatsNanosecondsLikeJiff) {
  EXPECT_EQ(format_rfc3339_ns(1795415406352701432), "2026-11-23T06:30:06.352701432Z");
  EXPECT_EQ(format_rfc3339_ns(1795415236256603700), "2026-11-23T06:27:16.2566037Z");
  EXPECT_EQ(format_rfc3339_ns(1795415236000000000), "2026-11-23T06:27:16Z");
  EXPECT_EQ(format_rfc3339_ns(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_ns(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(Rfc3339, FormatAndParseRoundTrip) {
  for (const int64_t ns : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1795415406352701432},
                           int64_t{1709251199999999999}, int64_t{-86'400'000'000'001}}) {
    const std::string text = format_rfc3339_ns(ns);
    auto parsed = parse_rfc3339_ns(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, ns) << text;
  }
}

} // namespace
} // namespace ca
