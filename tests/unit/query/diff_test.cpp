// `report diff` and `report critical-path` on real cargo logs (corpus A, see its README for
// what each step changed), stored through the EventStore as the daemon stores them.
#include "daemon/query/critical_path_report.hpp"
#include "daemon/query/diff.hpp"
#include "daemon/query/run_analysis.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::k_corpus_a_runs;

v1::DiffResponse diff(CorpusDb& db, const std::string& a, const std::string& b) {
  v1::DiffRequest req;
  req.set_a(a);
  req.set_b(b);
  auto r = db.engine().diff(req);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : v1::DiffResponse{};
}

std::map<std::string, v1::UnitDiff> by_description(const v1::DiffResponse& d) {
  std::map<std::string, v1::UnitDiff> out;
  for (const auto& u : d.units()) {
    EXPECT_TRUE(out.emplace(u.unit().description(), u).second) << u.unit().description();
  }
  return out;
}

class DiffCorpusA : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char* id : k_corpus_a_runs) {
      db.add(id);
    }
  }
  CorpusDb db;
};

TEST_F(DiffCorpusA, TouchedMainThenChangedCoreShowsTheCascadeAsCauseChanges) {
  // Step 3 rebuilt wsapp (its main.rs was touched); step 4 rebuilt wscore (lib.rs changed) and
  // with it wsmid and wsapp.
  auto d = diff(db, k_corpus_a_runs[2], k_corpus_a_runs[3]);
  EXPECT_FALSE(d.a().session());
  EXPECT_EQ(d.a().runs_size(), 1);
  EXPECT_EQ(d.a().units_compiled(), 1u);
  EXPECT_EQ(d.b().units_compiled(), 3u);
  EXPECT_EQ(d.a().units_dirty(), 1u);
  EXPECT_EQ(d.b().units_dirty(), 3u);
  EXPECT_NEAR(d.wall_time_delta(), d.b().runs(0).duration_secs() - d.a().runs(0).duration_secs(),
              1e-12);
  EXPECT_EQ(d.units_only_a(), 0u);
  EXPECT_EQ(d.units_only_b(), 0u);
  EXPECT_EQ(d.causes_changed(), 3u);
  EXPECT_EQ(d.units_unchanged(), 85u);
  ASSERT_EQ(d.units_size(), 3);

  auto units = by_description(d);
  const auto& core = units.at("wscore@0.1.0");
  EXPECT_EQ(core.presence(), "both");
  EXPECT_EQ(core.a().status(), "fresh");
  EXPECT_EQ(core.b().status(), "dirty");
  EXPECT_EQ(core.b().reason(), "file modified: wscore/src/lib.rs");
  EXPECT_TRUE(core.b().root());
  EXPECT_TRUE(core.cause_changed());
  EXPECT_EQ(core.a().duration(), 0.0);
  EXPECT_GT(core.b().duration(), 0.0);
  EXPECT_EQ(core.delta(), core.b().duration());

  const auto& mid = units.at("wsmid@0.1.0");
  EXPECT_EQ(mid.b().reason(), "dependency rebuilt: wscore@0.1.0");
  EXPECT_FALSE(mid.b().root());

  const auto& app = units.at("wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_EQ(app.a().status(), "dirty");
  EXPECT_EQ(app.b().status(), "dirty");
  EXPECT_EQ(app.a().reason(), "file modified: wsapp/src/main.rs");
  EXPECT_EQ(app.b().reason(), "dependency rebuilt: wsmid@0.1.0");
  EXPECT_TRUE(app.a().root());
  EXPECT_FALSE(app.b().root());
  EXPECT_TRUE(app.cause_changed());
  // Unit indices are per run; the unit shown is side B's.
  EXPECT_EQ(app.unit().index(), 83u);

  // Largest |delta| first.
  for (int i = 1; i < d.units_size(); ++i) {
    EXPECT_GE(std::fabs(d.units(i - 1).delta()), std::fabs(d.units(i).delta()));
  }
  double sum = 0;
  for (const auto& u : d.units()) {
    sum += u.delta();
  }
  EXPECT_NEAR(sum, d.unit_time_delta(), 1e-9);
}

TEST_F(DiffCorpusA, ARunAgainstItselfHasNoDifference) {
  auto d = diff(db, k_corpus_a_runs[0], k_corpus_a_runs[0]);
  EXPECT_EQ(d.units_size(), 0);
  EXPECT_EQ(d.units_unchanged(), 88u);
  EXPECT_EQ(d.wall_time_delta(), 0.0);
  EXPECT_EQ(d.unit_time_delta(), 0.0);
}

TEST_F(DiffCorpusA, NewFeatureUnitsAreOnlyOnOneSide) {
  // Step 5 turned wsmid's `fancy` feature on, which pulls in rand and its dependencies.
  auto d = diff(db, k_corpus_a_runs[1], k_corpus_a_runs[4]);
  EXPECT_EQ(d.a().units_fresh(), 88u);
  EXPECT_EQ(d.a().units_compiled(), 0u);
  EXPECT_EQ(d.b().units_new(), 10u);
  EXPECT_EQ(d.units_only_a(), 0u);
  EXPECT_EQ(d.units_only_b(), 5u);
  EXPECT_EQ(d.causes_changed(), 5u); // the workspace's own units: fresh, then new
  EXPECT_EQ(d.units_unchanged(), 83u);
  auto units = by_description(d);
  for (const char* only : {"rand@0.8.5", "rand_chacha@0.3.1", "rand_core@0.6.3", "getrandom@0.2.8",
                           "ppv-lite86@0.2.16"}) {
    SCOPED_TRACE(only);
    const auto& u = units.at(only);
    EXPECT_EQ(u.presence(), "only_b");
    EXPECT_EQ(u.a().status(), "absent");
    EXPECT_EQ(u.b().status(), "new");
    EXPECT_EQ(u.b().reason(), "fresh build");
    EXPECT_EQ(u.delta(), u.b().duration());
    EXPECT_FALSE(u.cause_changed());
  }
  const auto& app = units.at("wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_EQ(app.a().status(), "fresh");
  EXPECT_EQ(app.b().status(), "new");
  EXPECT_TRUE(app.cause_changed());
}

TEST_F(DiffCorpusA, ASessionAddsUpItsRuns) {
  // Nest step 4 in step 3 (as if step 3's build had run cargo again): step 3's session then
  // holds both runs.
  store::RunFacts nest;
  nest.run_id = k_corpus_a_runs[3];
  nest.parent_run_id = k_corpus_a_runs[2];
  nest.link = "explicit";
  db.apply({}, {nest});

  auto d = diff(db, k_corpus_a_runs[1], k_corpus_a_runs[2]);
  EXPECT_TRUE(d.b().session());
  ASSERT_EQ(d.b().runs_size(), 2);
  const auto& first = d.b().runs(0);
  const auto& second = d.b().runs(1);
  double wall = (static_cast<double>(second.start_unix_ms() - first.start_unix_ms()) +
                 std::llround(second.duration_secs() * 1000)) /
                1000.0;
  EXPECT_NEAR(d.b().wall_time(), wall, 1e-9);
  EXPECT_EQ(d.b().units_compiled(), 4u);
  EXPECT_EQ(d.b().units_dirty(), 4u);
  auto units = by_description(d);
  const auto& app = units.at("wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_EQ(app.b().builds(), 2u); // compiled in both runs: the times add up
  EXPECT_EQ(app.a().status(), "fresh");
  EXPECT_EQ(app.b().status(), "dirty");
  EXPECT_EQ(units.at("wscore@0.1.0").b().reason(), "file modified: wscore/src/lib.rs");
}

TEST_F(DiffCorpusA, UnknownAndMalformedIdsAreErrors) {
  v1::DiffRequest req;
  req.set_a(k_corpus_a_runs[0]);
  req.set_b("20991123T062716161Z-28b99174ef2c2ad6");
  auto unknown = db.engine().diff(req);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
  EXPECT_NE(unknown.error().message.find("20991123T062716161Z-28b99174ef2c2ad6"),
            std::string::npos);
  req.set_b("not-an-id");
  auto malformed = db.engine().diff(req);
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::invalid_argument);
  req.set_b("");
  EXPECT_EQ(db.engine().diff(req).error().code, ErrorCode::invalid_argument);
}

// --- critical path --------------------------------------------------------------------------

v1::UnitTiming
timing(uint32_t index, const std::string& name, double start, double duration, double rmeta) {
  v1::UnitTiming t;
  t.mutable_unit()->set_index(index);
  t.mutable_unit()->set_description(name + "@0.1.0");
  t.set_start(start);
  t.set_duration(duration);
  if (rmeta >= 0) {
    t.set_rmeta_time(rmeta);
  }
  t.set_started(true);
  t.set_finished(true);
  return t;
}

TEST(CriticalPathReport, StepsHoldTheBuildUntilTheNextCanStart) {
  // c (slow) -> b (pipelined on c's metadata) -> a (a bin: waits for b to finish).
  v1::RunTimings t;
  t.set_total_time(5.0);
  *t.add_units() = timing(0, "a", 4.1, 0.8, -1);
  *t.add_units() = timing(1, "b", 3.05, 0.9, 0.5);
  *t.add_units() = timing(2, "c", 0.1, 3.2, 2.9);
  *t.add_units() = timing(3, "x", 0.1, 0.2, 0.1); // not on the path
  t.add_critical_path(2);
  t.add_critical_path(1);
  t.add_critical_path(0);
  auto p = critical_path_report(t);
  ASSERT_EQ(p.steps_size(), 3);
  EXPECT_EQ(p.steps(0).unit().description(), "c@0.1.0");
  EXPECT_EQ(p.steps(1).unit().description(), "b@0.1.0");
  EXPECT_EQ(p.steps(2).unit().description(), "a@0.1.0");
  // c: b started at 3.05, before c's end (3.3): it held the build until its metadata (3.0).
  EXPECT_TRUE(p.steps(0).next_on_rmeta());
  EXPECT_NEAR(p.steps(0).wait(), 0.1, 1e-12);
  EXPECT_NEAR(p.steps(0).contribution(), 2.9, 1e-12);
  EXPECT_NEAR(p.steps(0).share(), 2.9 / 5.0, 1e-12);
  // b: a started after b's end (3.95).
  EXPECT_FALSE(p.steps(1).next_on_rmeta());
  EXPECT_NEAR(p.steps(1).wait(), 0.05, 1e-12);
  EXPECT_NEAR(p.steps(1).contribution(), 0.9, 1e-12);
  // a: the last unit, for all of its time.
  EXPECT_NEAR(p.steps(2).wait(), 0.15, 1e-12);
  EXPECT_NEAR(p.steps(2).contribution(), 0.8, 1e-12);
  EXPECT_NEAR(p.path_time(), 4.6, 1e-12);
  EXPECT_NEAR(p.path_share(), 4.6 / 5.0, 1e-12);
}

TEST(CriticalPathReport, CorpusRunsAccountForTheirWholeTime) {
  for (const char* id : k_corpus_a_runs) {
    SCOPED_TRACE(id);
    auto events = test::decode_all(test::corpus_lines(id));
    v1::RunSummary run;
    run.set_run_id(id);
    auto timings = compute_timings(events, run);
    auto p = critical_path_report(timings);
    EXPECT_EQ(p.run().run_id(), id);
    ASSERT_EQ(p.steps_size(), timings.critical_path_size());
    if (p.steps().empty()) {
      continue; // a no-op build
    }
    // Waits and contributions tile the time from the build's start to the last unit's end.
    double covered = 0;
    for (const auto& s : p.steps()) {
      covered += s.wait() + s.contribution();
      EXPECT_NEAR(s.share(), s.contribution() / timings.total_time(), 1e-12);
    }
    const auto& last = p.steps(p.steps_size() - 1);
    EXPECT_NEAR(covered, last.start() + last.duration(), 1e-9);
    // The total is cargo's, rounded to centiseconds.
    EXPECT_LE(last.start() + last.duration(), timings.total_time() + 0.00501);
  }
}

} // namespace
} // namespace ca::query
