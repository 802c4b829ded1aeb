// Rebuilds, timings and critical path through the QueryEngine, as the daemon answers them: the
// store's events decoded onto an arena (only the reasons each analysis reads) and the per-run
// result cache. Every answer must be the one computed afresh from all of the run's events, be it
// the first, a cached one, or one after the run got more events.
#include "daemon/query/critical_path_report.hpp"
#include "daemon/query/run_analysis.hpp"
#include "tests/support/events.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using google::protobuf::util::MessageDifferencer;
using test::CorpusDb;
using test::request;

v1::RunRebuilds rebuilds(QueryEngine& engine, const std::string& id) {
  auto r = engine.get_rebuilds(request<v1::GetRebuildsRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->runs_size(), 1);
  return r->runs_size() == 1 ? r->runs(0) : v1::RunRebuilds();
}

v1::RunTimings timings(QueryEngine& engine, const std::string& id) {
  auto r = engine.get_timings(request<v1::GetTimingsRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->runs_size(), 1);
  return r->runs_size() == 1 ? r->runs(0) : v1::RunTimings();
}

v1::RunCriticalPath critical_path(QueryEngine& engine, const std::string& id) {
  auto r = engine.get_critical_path(request<v1::GetCriticalPathRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->runs_size(), 1);
  return r->runs_size() == 1 ? r->runs(0) : v1::RunCriticalPath();
}

std::vector<const char*> every_corpus_run() {
  std::vector<const char*> runs(std::begin(test::k_corpus_a_runs), std::end(test::k_corpus_a_runs));
  runs.push_back(test::k_corpus_c_run);
  return runs;
}

// What the engine answers is what the analyses give over all of the run's events (those are
// checked against cargo's own reports in rebuilds_test and timings_test), with the summary the
// store has for the run.
void expect_as_computed(QueryEngine& engine,
                        const std::string& run_id,
                        const std::vector<v1::Event>& events) {
  v1::RunRebuilds r = rebuilds(engine, run_id);
  // Why new units were new comes from the store's history, not from the run's events (see
  // unit_origin_test): the rest is the analysis of the events.
  for (v1::RootRebuild& root : *r.mutable_root_rebuilds()) {
    root.clear_new_unit_origin();
  }
  EXPECT_TRUE(MessageDifferencer::Equals(r, compute_rebuilds(events, r.run()))) << run_id;
  v1::RunTimings t = timings(engine, run_id);
  EXPECT_TRUE(MessageDifferencer::Equals(t, compute_timings(events, t.run()))) << run_id;
  EXPECT_TRUE(MessageDifferencer::Equals(critical_path(engine, run_id),
                                         critical_path_report(compute_timings(events, t.run()))))
      << run_id;
}

TEST(QueryCache, answers_are_those_computed_from_all_events_first_and_cached) {
  CorpusDb db;
  for (const char* run : every_corpus_run()) {
    db.add(run);
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const char* run : every_corpus_run()) {
      expect_as_computed(db.engine(), run, test::decode_all(test::corpus_lines(run)));
    }
  }
  auto stats = db.engine().cache_stats();
  EXPECT_EQ(stats.runs, every_corpus_run().size());
  // First pass: a miss for rebuilds and one for timings (critical path reuses timings); second
  // pass: all hits.
  EXPECT_EQ(stats.misses, 2 * every_corpus_run().size());
  EXPECT_EQ(stats.hits, 4 * every_corpus_run().size());
}

TEST(QueryCache, same_answer_twice) {
  CorpusDb db;
  db.add(test::k_corpus_c_run);
  QueryEngine& engine = db.engine();
  v1::RunRebuilds r1 = rebuilds(engine, test::k_corpus_c_run);
  v1::RunRebuilds r2 = rebuilds(engine, test::k_corpus_c_run);
  EXPECT_TRUE(MessageDifferencer::Equals(r1, r2));
  v1::RunTimings t1 = timings(engine, test::k_corpus_c_run);
  v1::RunTimings t2 = timings(engine, test::k_corpus_c_run);
  EXPECT_TRUE(MessageDifferencer::Equals(t1, t2));
  EXPECT_EQ(engine.cache_stats().hits, 2U);
}

TEST(QueryCache, a_run_that_gets_more_events_is_recomputed) {
  CorpusDb db;
  const std::string run = test::k_corpus_c_run;
  std::vector<std::string> lines = test::corpus_lines(run);
  ASSERT_GT(lines.size(), 100U);
  // Half the log: the run is in progress, some units registered, some finished.
  std::vector<std::string> first(lines.begin(), lines.begin() + lines.size() / 2);
  std::vector<std::string> rest(lines.begin() + lines.size() / 2, lines.end());
  db.apply(test::decode_all(first));
  QueryEngine& engine = db.engine();

  v1::RunRebuilds r_half = rebuilds(engine, run);
  v1::RunTimings t_half = timings(engine, run);
  EXPECT_EQ(r_half.run().state(), "in_progress");
  EXPECT_EQ(r_half.run().events(), first.size());
  expect_as_computed(engine, run, test::decode_all(first));

  db.apply(test::decode_all(rest));
  v1::RunRebuilds r_all = rebuilds(engine, run);
  v1::RunTimings t_all = timings(engine, run);
  EXPECT_EQ(r_all.run().events(), lines.size());
  EXPECT_FALSE(MessageDifferencer::Equals(r_half, r_all));
  EXPECT_FALSE(MessageDifferencer::Equals(t_half, t_all));
  auto finished = [](const v1::RunTimings& t) {
    return std::count_if(t.units().begin(), t.units().end(),
                         [](const v1::UnitTiming& u) { return u.finished(); });
  };
  EXPECT_GT(finished(t_all), finished(t_half));
  expect_as_computed(engine, run, test::decode_all(lines));

  // Ending the run adds no event but changes its state, which the answers carry.
  db.end(run);
  v1::RunRebuilds r_ended = rebuilds(engine, run);
  EXPECT_NE(r_ended.run().state(), "in_progress");
  EXPECT_EQ(r_ended.run().state(), timings(engine, run).run().state());
  expect_as_computed(engine, run, test::decode_all(lines));
  EXPECT_EQ(engine.cache_stats().runs, 1U);
}

TEST(QueryCache, keeps_a_bounded_number_of_runs) {
  CorpusDb db;
  for (const char* run : test::k_corpus_a_runs) {
    db.add(run);
  }
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool, 3);
  for (const char* run : test::k_corpus_a_runs) {
    rebuilds(engine, run);
    timings(engine, run);
    EXPECT_LE(engine.cache_stats().runs, 3U);
  }
  EXPECT_EQ(engine.cache_stats().runs, 3U);
  // The first run was evicted long ago: asked again, it is computed again, and right.
  auto before = engine.cache_stats();
  const char* first = test::k_corpus_a_runs[0];
  expect_as_computed(engine, first, test::decode_all(test::corpus_lines(first)));
  EXPECT_EQ(engine.cache_stats().misses, before.misses + 2);
}

TEST(QueryCache, capacity_zero_computes_every_time) {
  CorpusDb db;
  db.add(test::k_corpus_c_run);
  store::ReaderPool pool(db.path());
  QueryEngine engine(pool, 0);
  const std::vector<v1::Event> events = test::decode_all(test::corpus_lines(test::k_corpus_c_run));
  expect_as_computed(engine, test::k_corpus_c_run, events);
  expect_as_computed(engine, test::k_corpus_c_run, events);
  EXPECT_EQ(engine.cache_stats().hits, 0U);
  EXPECT_EQ(engine.cache_stats().runs, 0U);
}

// The analyses give the same result over only the reasons they declare to read, on every corpus
// run: what lets the store leave the other lines undecoded.
TEST(QueryCache, analyses_read_only_their_declared_reasons) {
  for (const char* run : every_corpus_run()) {
    const std::vector<v1::Event> events = test::decode_all(test::corpus_lines(run));
    auto only = [&](std::span<const std::string_view> reasons) {
      std::vector<const v1::Event*> out;
      for (const v1::Event& e : events) {
        if (std::find(reasons.begin(), reasons.end(), e.reason()) != reasons.end()) {
          out.push_back(&e);
        }
      }
      return out;
    };
    const v1::RunSummary summary = test::summary_of(events);
    v1::RunRebuilds r;
    compute_rebuilds(only(k_rebuilds_reasons), summary, r);
    EXPECT_TRUE(MessageDifferencer::Equals(r, compute_rebuilds(events, summary))) << run;
    v1::RunTimings t;
    compute_timings(only(k_timings_reasons), summary, t);
    EXPECT_TRUE(MessageDifferencer::Equals(t, compute_timings(events, summary))) << run;
  }
}

} // namespace
} // namespace ca::query
