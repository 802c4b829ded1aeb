// shared/team: ClickHouse urls, SQL quoting, and cargo logs folded into team rows (`team push`).
#include "shared/team/clickhouse_client.hpp"
#include "shared/team/log_fold.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace ca::team {
namespace {

using ::testing::HasSubstr;

TEST(ClickHouseUrl, HostPortAndDatabase) {
  auto u = parse_clickhouse_url("http://ch.example:9123/?database=builds");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "ch.example");
  EXPECT_EQ(u->port, 9123);
  EXPECT_EQ(u->database, "builds");
  EXPECT_EQ(u->text, "http://ch.example:9123/?database=builds");
  auto d = parse_clickhouse_url("http://localhost");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, 8123);
  EXPECT_EQ(d->database, "default");
}

TEST(ClickHouseUrl, BadOnesSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://ch:8443", "only http://host:port is supported"},
      {"http://:8123", "no host"},
      {"http://ch:99999", "bad port `99999`"},
      {"http://ch:8123/x", "a path is not supported"},
      {"http://ch:8123/?db=x", "unknown parameter `db`"},
  };
  for (const auto& [url, why] : cases) {
    auto r = parse_clickhouse_url(url);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_THAT(r.error().message, HasSubstr(why)) << url;
    EXPECT_THAT(r.error().message, HasSubstr(url));
  }
}

TEST(ClickHouseSql, QuotesAndUrlEncoding) {
  EXPECT_EQ(sql_quote(R"(it's a\b)"), R"('it\'s a\\b')");
  EXPECT_EQ(url_encode("SELECT 1+1 'x'"), "SELECT%201%2B1%20%27x%27");
}

TEST(LogFold, ACorpusRunBecomesItsSummaryAndUnits) {
  auto run =
      fold_log_file(test::fixture_path("corpus/A/logs/20261123T062733765Z-28b99174ef2c2ad6.jsonl"));
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->run_id, "20261123T062733765Z-28b99174ef2c2ad6");
  EXPECT_EQ(run->session_id, run->run_id);
  EXPECT_EQ(run->state, "completed");
  EXPECT_EQ(run->start_unix_ms, 1795415253765);
  EXPECT_EQ(run->workspace_root, "/tmp/corpus/wsA");
  EXPECT_EQ(run->command_line.rfind("cargo ", 0), 0u) << run->command_line;
  EXPECT_EQ(run->command_line.find("analysis"), std::string::npos) << run->command_line;
  EXPECT_EQ(run->units.size(), run->units_total);
  EXPECT_GT(run->units_dirty, 0u);
  size_t dirty_with_cause = 0;
  for (const auto& u : run->units) {
    if (u.fingerprint == "dirty" && !u.cause_kind.empty() && !u.cause_json.empty()) {
      ++dirty_with_cause;
    }
  }
  EXPECT_GT(dirty_with_cause, 0u);
}

TEST(LogFold, ALogCutMidLineIsInterruptedAndNonsenseIsRefused) {
  test::TempDir dir;
  std::string whole = test::read_file(
      test::fixture_path("corpus/A/logs/20261123T062716161Z-28b99174ef2c2ad6.jsonl"));
  std::ofstream(dir / "cut.jsonl") << whole.substr(0, whole.size() - 10);
  auto cut = fold_log_file(dir / "cut.jsonl");
  ASSERT_TRUE(cut) << cut.error().message;
  EXPECT_EQ(cut->state, "interrupted");

  std::ofstream(dir / "junk.jsonl") << "not json\n";
  auto junk = fold_log_file(dir / "junk.jsonl");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(junk.error().message, HasSubstr("junk.jsonl: no cargo build-analysis line"));
}

} // namespace
} // namespace ca::team
