// `report slowest-crates` on this machine's store (corpus A: 10 builds of one workspace; corpus
// C: one clean build of 242 units), checked against the units' times recomputed from the events
// with the timings analysis; and the ranking of per-crate totals on its own.
#include "daemon/query/run_analysis.hpp"
#include "daemon/query/slowest_crates.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::k_corpus_a_runs;
using test::k_corpus_c_run;

struct Expected {
  double total = 0;
  uint32_t compiles = 0;
  std::set<std::string> runs;
};

// Per package id, from the events of `runs`: the reference the store's answer must equal.
std::map<std::string, Expected> crates_from_events(const std::vector<std::string>& runs) {
  std::map<std::string, Expected> out;
  for (const std::string& id : runs) {
    auto events = test::decode_all(test::corpus_lines(id));
    v1::RunSummary summary;
    auto timings = compute_timings(events, summary);
    for (const v1::UnitTiming& u : timings.units()) {
      if (!u.started() || !u.finished()) {
        continue;
      }
      Expected& e = out[u.unit().package_id()];
      e.total += u.duration();
      ++e.compiles;
      e.runs.insert(id);
    }
  }
  return out;
}

v1::SlowestCratesResponse slowest(CorpusDb& db, v1::SlowestCratesRequest req) {
  auto r = db.engine().slowest_crates(req);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : v1::SlowestCratesResponse{};
}

TEST(SlowestCrates, EveryCrateOfTheHistoryWithItsTimeRunsAndShare) {
  CorpusDb db;
  std::vector<std::string> runs(std::begin(k_corpus_a_runs), std::end(k_corpus_a_runs));
  for (const std::string& id : runs) {
    db.add(id);
  }
  db.add(k_corpus_c_run);
  runs.push_back(k_corpus_c_run);
  auto expected = crates_from_events(runs);
  ASSERT_GT(expected.size(), 10u);

  v1::SlowestCratesRequest req;
  req.set_limit(1000);
  auto r = slowest(db, req);
  EXPECT_EQ(r.runs(), 11u);
  EXPECT_EQ(r.crates(), expected.size());
  EXPECT_FALSE(r.team());
  double total = 0;
  uint32_t compiles = 0;
  for (const auto& [id, e] : expected) {
    total += e.total;
    compiles += e.compiles;
  }
  EXPECT_NEAR(r.total_secs(), total, 1e-6);
  EXPECT_EQ(r.compiles(), compiles);
  ASSERT_EQ(r.slowest_size(), static_cast<int>(expected.size()));
  double previous = 1e300;
  double shares = 0;
  for (const v1::CrateTime& c : r.slowest()) {
    SCOPED_TRACE(c.package_id());
    ASSERT_EQ(expected.count(c.package_id()), 1u);
    const Expected& e = expected.at(c.package_id());
    EXPECT_NEAR(c.total_secs(), e.total, 1e-9);
    EXPECT_EQ(c.compiles(), e.compiles);
    EXPECT_EQ(c.runs(), e.runs.size());
    EXPECT_NEAR(c.mean_secs(), e.total / static_cast<double>(e.runs.size()), 1e-9);
    EXPECT_NEAR(c.share(), e.total / total, 1e-12);
    EXPECT_LE(c.total_secs(), previous); // most first
    EXPECT_TRUE(c.machines().empty());
    EXPECT_FALSE(c.name().empty());
    EXPECT_NE(c.package_id().find(c.name()), std::string::npos);
    previous = c.total_secs();
    shares += c.share();
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  // Corpus A's workspace crates were compiled in several of its runs.
  const auto& wscore = *std::find_if(r.slowest().begin(), r.slowest().end(),
                                     [](const auto& c) { return c.name() == "wscore"; });
  EXPECT_GT(wscore.runs(), 1u);
}

TEST(SlowestCrates, TheRangeSelectsRunsByTheirStartAndTheLimitCutsTheList) {
  CorpusDb db;
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
  // Steps 4 to 10 of corpus A: from step 4's start (06:27:33.765Z) on.
  v1::SlowestCratesRequest req;
  req.set_since_unix_ms(1795415253765); // 2026-11-23T06:27:33.765Z
  req.set_limit(3);
  auto r = slowest(db, req);
  EXPECT_EQ(r.runs(), 7u);
  auto expected = crates_from_events({k_corpus_a_runs + 3, std::end(k_corpus_a_runs)});
  EXPECT_EQ(r.crates(), expected.size());
  ASSERT_EQ(r.slowest_size(), 3);
  for (const v1::CrateTime& c : r.slowest()) {
    EXPECT_NEAR(c.total_secs(), expected.at(c.package_id()).total, 1e-9) << c.package_id();
  }

  // A range with no run: not_found, saying which range.
  v1::SlowestCratesRequest none;
  none.set_until_unix_ms(1000);
  auto empty = db.engine().slowest_crates(none);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::not_found);
  EXPECT_NE(empty.error().message.find("no runs found until"), std::string::npos)
      << empty.error().message;
  // An inverted one: invalid_argument.
  v1::SlowestCratesRequest inverted;
  inverted.set_since_unix_ms(2000);
  inverted.set_until_unix_ms(1000);
  auto bad = db.engine().slowest_crates(inverted);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

TEST(SlowestCrates, RankingOrdersByTotalThenNameAndSharesOfAllCrates) {
  std::vector<store::CrateTotal> crates = {
      {"p#b@1", "b", "1", 2, 3, 4.0, {"m2", "m1"}},
      {"p#a@2", "a", "2", 1, 1, 4.0, {}},
      {"p#c@1", "c", "1", 4, 4, 12.0, {"m1"}},
      {"p#d@1", "d", "1", 1, 1, 0.0, {}},
  };
  auto r = rank_slowest_crates(crates, 9, 3);
  EXPECT_EQ(r.runs(), 9u);
  EXPECT_EQ(r.compiles(), 9u);
  EXPECT_DOUBLE_EQ(r.total_secs(), 20.0);
  EXPECT_EQ(r.crates(), 4u);
  ASSERT_EQ(r.slowest_size(), 3);
  EXPECT_EQ(r.slowest(0).name(), "c");
  EXPECT_DOUBLE_EQ(r.slowest(0).share(), 0.6);
  EXPECT_DOUBLE_EQ(r.slowest(0).mean_secs(), 3.0);
  EXPECT_EQ(r.slowest(1).name(), "a"); // a tie in time: by name
  EXPECT_EQ(r.slowest(2).name(), "b");
  EXPECT_DOUBLE_EQ(r.slowest(2).mean_secs(), 2.0);
  ASSERT_EQ(r.slowest(2).machines_size(), 2);
  EXPECT_EQ(r.slowest(2).machines(0), "m1"); // sorted
  EXPECT_EQ(r.slowest(2).machines(1), "m2");
  // limit 0: the default of 10.
  EXPECT_EQ(rank_slowest_crates(crates, 9, 0).slowest_size(), 4);
}

} // namespace
} // namespace ca::query
