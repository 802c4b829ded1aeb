// The per-run result cache on its own: versions, LRU order and its bound.
#include "daemon/query/run_result_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;

std::shared_ptr<const v1::RunRebuilds> rebuilds_of(const std::string& run_id) {
  auto r = std::make_shared<v1::RunRebuilds>();
  r->mutable_run()->set_run_id(run_id);
  return r;
}

std::shared_ptr<const v1::RunTimings> timings_of(const std::string& run_id) {
  auto t = std::make_shared<v1::RunTimings>();
  t->mutable_run()->set_run_id(run_id);
  return t;
}

TEST(RunResultCache, hit_for_the_version_put) {
  RunResultCache cache(4);
  EXPECT_EQ(cache.rebuilds("r1", "v1"), nullptr);
  auto r = rebuilds_of("r1");
  cache.put("r1", "v1", r);
  EXPECT_EQ(cache.rebuilds("r1", "v1"), r);
  EXPECT_EQ(cache.timings("r1", "v1"), nullptr); // only what was put
  auto stats = cache.stats();
  EXPECT_EQ(stats.hits, 1U);
  EXPECT_EQ(stats.misses, 2U);
  EXPECT_EQ(stats.runs, 1U);
}

TEST(RunResultCache, another_version_misses_and_replaces_the_run) {
  RunResultCache cache(4);
  cache.put("r1", "v1", rebuilds_of("r1"));
  cache.put("r1", "v1", timings_of("r1"));
  EXPECT_EQ(cache.rebuilds("r1", "v2"), nullptr);
  EXPECT_EQ(cache.timings("r1", "v2"), nullptr);

  auto newer = timings_of("r1");
  cache.put("r1", "v2", newer);
  EXPECT_EQ(cache.timings("r1", "v2"), newer);
  // The run's results of v1 are gone with v1, rebuilds included.
  EXPECT_EQ(cache.rebuilds("r1", "v1"), nullptr);
  EXPECT_EQ(cache.timings("r1", "v1"), nullptr);
  EXPECT_EQ(cache.rebuilds("r1", "v2"), nullptr);
  EXPECT_EQ(cache.stats().runs, 1U);
}

TEST(RunResultCache, holds_at_most_capacity_runs_dropping_the_least_recently_used) {
  RunResultCache cache(3);
  for (const char* id : {"r1", "r2", "r3"}) {
    cache.put(id, "v", rebuilds_of(id));
    cache.put(id, "v", timings_of(id)); // both results of a run are one entry
  }
  EXPECT_EQ(cache.stats().runs, 3U);
  ASSERT_NE(cache.rebuilds("r1", "v"), nullptr); // r1 is now the most recently used

  cache.put("r4", "v", rebuilds_of("r4"));
  EXPECT_EQ(cache.stats().runs, 3U);
  EXPECT_EQ(cache.rebuilds("r2", "v"), nullptr); // the least recently used
  EXPECT_NE(cache.rebuilds("r1", "v"), nullptr);
  EXPECT_NE(cache.timings("r3", "v"), nullptr);
  EXPECT_NE(cache.rebuilds("r4", "v"), nullptr);

  for (int i = 0; i < 100; ++i) {
    std::string id = "x" + std::to_string(i);
    cache.put(id, "v", rebuilds_of(id));
    EXPECT_LE(cache.stats().runs, 3U);
  }
  EXPECT_NE(cache.rebuilds("x99", "v"), nullptr);
  EXPECT_EQ(cache.rebuilds("r1", "v"), nullptr);
}

TEST(RunResultCache, a_result_outlives_its_eviction) {
  RunResultCache cache(1);
  cache.put("r1", "v", rebuilds_of("r1"));
  auto held = cache.rebuilds("r1", "v");
  cache.put("r2", "v", rebuilds_of("r2"));
  EXPECT_EQ(cache.rebuilds("r1", "v"), nullptr);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->run().run_id(), "r1");
}

TEST(RunResultCache, capacity_zero_caches_nothing) {
  RunResultCache cache(0);
  cache.put("r1", "v", rebuilds_of("r1"));
  EXPECT_EQ(cache.rebuilds("r1", "v"), nullptr);
  EXPECT_EQ(cache.stats().runs, 0U);
}

} // namespace
} // namespace ca::query
