// The live figures Status shows from parts main owns.
#include "daemon/app/status_source.hpp"
#include "daemon/query/query_engine.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/writer.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace ca::app {
namespace {

class NoProcesses final : public correlate::ProcReader {
public:
  std::optional<correlate::ProcessInfo> info(pid_t) override { return std::nullopt; }
  std::optional<std::map<std::string, std::string>>
  environ(pid_t, const std::vector<std::string>&) override {
    return std::nullopt;
  }
  std::vector<pid_t> holders_of(const std::filesystem::path&) override { return {}; }
};

TEST(StatusSource, CorrelationShowsTheCountersAndTheMeanLookupCost) {
  correlate::CorrelatorStats s;
  s.runs_seen = 4;
  s.linked_by_ancestry = 1;
  s.linked_by_environment = 2;
  s.linked_explicitly = 3;
  s.top_level = 5;
  s.lost = 6;
  s.lookup_us_total = 10;
  auto c = correlation_status(s);
  EXPECT_EQ(c.runs_seen(), 4u);
  EXPECT_EQ(c.linked_by_ancestry(), 1u);
  EXPECT_EQ(c.linked_by_environment(), 2u);
  EXPECT_EQ(c.linked_explicitly(), 3u);
  EXPECT_EQ(c.top_level(), 5u);
  EXPECT_EQ(c.lost(), 6u);
  EXPECT_DOUBLE_EQ(c.mean_lookup_us(), 2.5);
  EXPECT_DOUBLE_EQ(correlation_status(correlate::CorrelatorStats{}).mean_lookup_us(), 0.0);
}

TEST(StatusSource, WithoutAWatcherTheBackfillIsFinishedAndEmpty) {
  test::TempDir dir;
  const auto path = dir / "db.sqlite3";
  auto db = store::Database::open(path, store::Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  ASSERT_TRUE(store::migrate(**db));
  store::Writer writer(std::move(*db));
  store::ReaderPool readers(path);
  query::QueryEngine query(readers);
  query::ReportPrecomputer reports(query, writer);
  NoProcesses proc;
  correlate::Correlator correlator(proc);

  StatusSource source(correlator, nullptr, reports);
  server::DaemonInfo info;
  source.install(info);
  ASSERT_TRUE(info.backfill_progress && info.correlation && info.reports_progress);
  auto p = info.backfill_progress();
  EXPECT_EQ(p.files_total, 0u);
  EXPECT_EQ(p.files_done, 0u);
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(info.correlation().runs_seen(), 0u);
  EXPECT_EQ(info.reports_progress(), (std::pair<uint64_t, uint64_t>{0, 0}));
  reports.stop();
  writer.stop();
}

} // namespace
} // namespace ca::app
