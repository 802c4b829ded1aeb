// `report trends` on real cargo logs (corpus A: 10 builds of one workspace with known rebuild
// causes; corpus C: one clean build of 242 units), stored through the EventStore as the daemon
// stores them. The slowest units are checked against a recomputation from the events with the
// timings analysis, for the whole history (read from `unit_trends`) and for a session scope
// (read from unit rows): three independent ways to the same numbers.
#include "daemon/query/run_analysis.hpp"
#include "daemon/query/trends.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::k_corpus_a_runs;
using test::k_corpus_c_run;

constexpr const char* k_ws_a = "/tmp/corpus/wsA";

v1::TrendsResponse
trends(CorpusDb& db, const std::string& workspace, uint32_t last = 0, uint32_t limit = 0) {
  v1::TrendsRequest req;
  req.set_workspace(workspace);
  req.set_all(workspace.empty());
  req.set_last(last);
  req.set_limit(limit);
  auto r = db.engine().trends(req);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : v1::TrendsResponse{};
}

void add_corpus_a(CorpusDb& db) {
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
}

// Mean compile time per unit (name, target, mode) over `runs`, from their events through the
// timings analysis: the reference the indexes must agree with.
struct Mean {
  double total = 0;
  uint32_t builds = 0;
  double max = 0;
};
std::map<std::string, Mean> means_from_events(const std::vector<std::string>& runs) {
  std::map<std::string, Mean> out;
  for (const std::string& id : runs) {
    auto events = test::decode_all(test::corpus_lines(id));
    v1::RunSummary summary;
    auto timings = compute_timings(events, summary);
    for (const v1::UnitTiming& u : timings.units()) {
      if (!u.started() || !u.finished()) {
        continue;
      }
      Mean& m = out[u.unit().name() + " " + u.unit().target().name() + " " +
                    u.unit().target().kind() + " " + u.unit().mode()];
      m.total += u.duration();
      m.max = std::max(m.max, u.duration());
      ++m.builds;
    }
  }
  return out;
}

void expect_slowest_match(const v1::TrendsResponse& t,
                          const std::vector<std::string>& runs,
                          size_t limit) {
  auto means = means_from_events(runs);
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [key, m] : means) {
    ranked.emplace_back(m.total / m.builds, key);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  ranked.resize(std::min(ranked.size(), limit));
  ASSERT_EQ(t.slowest_units_size(), static_cast<int>(ranked.size()));
  for (size_t i = 0; i < ranked.size(); ++i) {
    const v1::UnitTimeTrend& u = t.slowest_units(static_cast<int>(i));
    std::string key = u.unit().name() + " " + u.unit().target().name() + " " +
                      u.unit().target().kind() + " " + u.unit().mode();
    SCOPED_TRACE(key);
    EXPECT_EQ(key, ranked[i].second);
    const Mean& m = means.at(ranked[i].second);
    EXPECT_NEAR(u.mean_secs(), m.total / m.builds, 1e-9);
    EXPECT_NEAR(u.max_secs(), m.max, 1e-9);
    EXPECT_EQ(u.builds(), m.builds);
  }
}

TEST(Trends, CorpusAHasOneRootRebuildPerStepThatChangedAnInput) {
  CorpusDb db;
  add_corpus_a(db);
  auto t = trends(db, k_ws_a);
  EXPECT_EQ(t.workspace_root(), k_ws_a);
  EXPECT_EQ(t.sessions(), 10u);
  EXPECT_EQ(t.runs(), 10u);
  EXPECT_EQ(t.first_start(), "2026-11-23T06:27:16.161Z");
  EXPECT_EQ(t.last_start(), "2026-11-23T06:27:51.587Z");

  // Steps 3, 4 and 9 changed an input; the clean build (1), the feature switch (5) and the
  // RUSTFLAGS build (7) only built units for the first time, which is no rebuild.
  EXPECT_EQ(t.root_rebuilds_total(), 3u);
  ASSERT_EQ(t.root_rebuilds_size(), 3);
  struct Expect {
    const char* description;
    const char* cause;
    const char* kind;
    const char* example;
    const char* run;
  };
  // One rebuild each: ordered by description.
  const Expect expected[] = {
      {"wsapp@0.1.0 wsapp \"bin\"", "file modified: wsapp/src/main.rs", "fs-status-outdated",
       "file modified: wsapp/src/main.rs", k_corpus_a_runs[2]},
      {"wscore@0.1.0", "file modified: wscore/src/lib.rs", "fs-status-outdated",
       "file modified: wscore/src/lib.rs", k_corpus_a_runs[3]},
      {"wscore@0.1.0 build-script (run)", "environment variable changed (WSCORE_FLAVOR)",
       "env-var-changed", "environment variable changed (WSCORE_FLAVOR): <unset> -> spicy",
       k_corpus_a_runs[8]},
  };
  for (int i = 0; i < 3; ++i) {
    const auto& u = t.root_rebuilds(i);
    SCOPED_TRACE(expected[i].description);
    EXPECT_EQ(u.unit().description(), expected[i].description);
    EXPECT_EQ(u.rebuilds(), 1u);
    ASSERT_EQ(u.causes_size(), 1);
    EXPECT_EQ(u.causes(0).cause(), expected[i].cause);
    EXPECT_EQ(u.causes(0).kind(), expected[i].kind);
    EXPECT_EQ(u.causes(0).count(), 1u);
    EXPECT_EQ(u.causes(0).example(), expected[i].example);
    EXPECT_EQ(u.causes(0).example_run_id(), expected[i].run);
  }

  ASSERT_EQ(t.commands_size(), 1);
  const auto& build = t.commands(0);
  EXPECT_EQ(build.kind(), "build");
  EXPECT_EQ(build.runs(), 10u);
  // 35.4 s of history in at most 12 round periods: 5 s each.
  EXPECT_EQ(t.bucket_secs(), 5.0);
  uint32_t in_buckets = 0;
  double total = 0;
  int64_t previous = 0;
  for (const auto& b : build.buckets()) {
    EXPECT_GT(b.start_unix_ms(), previous);
    EXPECT_EQ(b.start_unix_ms() % 5000, 0);
    EXPECT_LE(b.min_secs(), b.mean_secs());
    EXPECT_LE(b.mean_secs(), b.max_secs());
    previous = b.start_unix_ms();
    in_buckets += b.runs();
    total += b.mean_secs() * b.runs();
  }
  EXPECT_EQ(in_buckets, 10u);
  EXPECT_NEAR(total, build.total_secs(), 1e-9);
  EXPECT_NEAR(build.mean_secs(), build.total_secs() / 10, 1e-12);
}

TEST(Trends, RepeatedRebuildsAreCountedPerUnitAndCauseMostFrequentFirst) {
  CorpusDb db;
  add_corpus_a(db);
  // Step 3 (wsapp's main.rs touched) four more times, and step 9 (WSCORE_FLAVOR) twice more,
  // under run ids of their own; one more replay of step 3 where wsapp's cause is an environment
  // variable instead.
  const std::string step3 = k_corpus_a_runs[2];
  const std::string step9 = k_corpus_a_runs[8];
  for (int i = 0; i < 4; ++i) {
    db.add(step3, "20261124T0000" + std::to_string(10 + i) + "000Z-28b99174ef2c2ad6");
  }
  for (int i = 0; i < 2; ++i) {
    db.add(step9, "20261124T0100" + std::to_string(10 + i) + "000Z-28b99174ef2c2ad6");
  }
  {
    std::string id = "20261124T020000000Z-28b99174ef2c2ad6";
    auto lines = test::replayed(test::corpus_lines(step3), step3, id);
    size_t changed = 0;
    for (auto& line : lines) {
      auto at = line.find(R"("cause":{"dirty_reason":"fs-status-outdated")");
      if (at != std::string::npos && line.find(R"("index":83)") != std::string::npos) {
        line = line.substr(0, at) +
               R"("cause":{"dirty_reason":"env-var-changed","name":"WSAPP_GREETING",)"
               R"("old_value":null,"new_value":"hi"}})";
        ++changed;
      }
    }
    ASSERT_EQ(changed, 1u);
    db.apply(test::decode_all(lines));
    db.end(id);
  }

  auto t = trends(db, k_ws_a);
  EXPECT_EQ(t.sessions(), 17u);
  EXPECT_EQ(t.root_rebuilds_total(), 3u + 4 + 2 + 1);
  ASSERT_EQ(t.root_rebuilds_size(), 3);
  const auto& wsapp = t.root_rebuilds(0);
  EXPECT_EQ(wsapp.unit().description(), "wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_EQ(wsapp.rebuilds(), 6u);
  ASSERT_EQ(wsapp.causes_size(), 2);
  EXPECT_EQ(wsapp.causes(0).cause(), "file modified: wsapp/src/main.rs");
  EXPECT_EQ(wsapp.causes(0).count(), 5u);
  EXPECT_EQ(wsapp.causes(1).cause(), "environment variable changed (WSAPP_GREETING)");
  EXPECT_EQ(wsapp.causes(1).count(), 1u);
  EXPECT_EQ(wsapp.causes(1).example(),
            "environment variable changed (WSAPP_GREETING): <unset> -> hi");
  const auto& script = t.root_rebuilds(1);
  EXPECT_EQ(script.unit().description(), "wscore@0.1.0 build-script (run)");
  EXPECT_EQ(script.rebuilds(), 3u);
  // The example is the newest occurrence.
  EXPECT_EQ(script.causes(0).example_run_id(), "20261124T010011000Z-28b99174ef2c2ad6");
  EXPECT_EQ(t.root_rebuilds(2).unit().description(), "wscore@0.1.0");

  // --limit cuts the ranked lists.
  auto top = trends(db, k_ws_a, 0, 1);
  ASSERT_EQ(top.root_rebuilds_size(), 1);
  EXPECT_EQ(top.root_rebuilds(0).rebuilds(), 6u);
  EXPECT_EQ(top.slowest_units_size(), 1);
  EXPECT_EQ(top.root_rebuilds_total(), 10u);
}

TEST(Trends, SlowestUnitsAgreeWithTheTimingsOfEveryRun) {
  CorpusDb db;
  add_corpus_a(db);
  db.add(k_corpus_c_run);
  std::vector<std::string> all(std::begin(k_corpus_a_runs), std::end(k_corpus_a_runs));
  all.push_back(k_corpus_c_run);

  // The whole history: from `unit_trends`.
  auto every = trends(db, "");
  EXPECT_EQ(every.workspace_root(), "");
  EXPECT_EQ(every.runs(), 11u);
  expect_slowest_match(every, all, 10);
  // The same sessions as a scope: from the unit rows.
  auto scoped = trends(db, "", 11, 25);
  expect_slowest_match(scoped, all, 25);

  // One workspace.
  auto a = trends(db, k_ws_a, 0, 25);
  expect_slowest_match(
      a, std::vector<std::string>(std::begin(k_corpus_a_runs), std::end(k_corpus_a_runs)), 25);
}

TEST(Trends, LastNKeepsTheNewestSessions) {
  CorpusDb db;
  add_corpus_a(db);
  db.add(k_corpus_c_run); // another workspace, newer: not among wsA's newest
  auto t = trends(db, k_ws_a, 2);
  EXPECT_EQ(t.sessions(), 2u);
  EXPECT_EQ(t.runs(), 2u);
  EXPECT_EQ(t.first_start(), "2026-11-23T06:27:50.774Z");
  ASSERT_EQ(t.root_rebuilds_size(), 1);
  EXPECT_EQ(t.root_rebuilds(0).causes(0).cause(), "environment variable changed (WSCORE_FLAVOR)");
  expect_slowest_match(t, {k_corpus_a_runs[8], k_corpus_a_runs[9]}, 10);
  EXPECT_EQ(t.slowest_units_size(), 4); // what step 9 compiled
}

TEST(Trends, AWorkspaceWithoutRunsIsNotFound) {
  CorpusDb db;
  add_corpus_a(db);
  v1::TrendsRequest req;
  req.set_workspace("/nowhere/at/all");
  auto r = db.engine().trends(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_EQ(r.error().message, "no sessions found for workspace at `/nowhere/at/all`");
}

TEST(Trends, CommandKindIsCargosSubcommand) {
  EXPECT_EQ(command_kind(R"(["/x/cargo","-Zbuild-analysis","build","--config","a=b"])"), "build");
  EXPECT_EQ(command_kind(R"(["cargo","b","--release"])"), "build");
  EXPECT_EQ(command_kind(R"(["cargo","+nightly","-Z","unstable-options","check"])"), "check");
  EXPECT_EQ(command_kind(R"(["cargo","--config","build.x=1","-C","dir","t"])"), "test");
  EXPECT_EQ(command_kind(R"(["cargo","--color","always","test","--","--nocapture"])"), "test");
  EXPECT_EQ(command_kind(R"(["cargo","-v","clippy"])"), "other");
  EXPECT_EQ(command_kind(R"(["cargo","run","--","build"])"), "other");
  EXPECT_EQ(command_kind(R"(["cargo"])"), "other");
  EXPECT_EQ(command_kind(""), "other");
  EXPECT_EQ(command_kind("not json"), "other");
}

TEST(Trends, CauseLabelsLeaveOutWhatChangesFromOneRebuildToTheNext) {
  v1::DirtyReason r;
  r.set_dirty_reason("fs-status-outdated");
  auto* fs = r.mutable_fs_status();
  fs->set_fs_status("stale-item");
  fs->mutable_stale_item()->set_stale_item("file-size-changed");
  fs->mutable_stale_item()->set_path("/ws/src/data.bin");
  fs->mutable_stale_item()->set_old_size(1);
  fs->mutable_stale_item()->set_new_size(2);
  EXPECT_EQ(cause_label(r, "/ws"), "file size changed: src/data.bin");
  fs->mutable_stale_item()->set_stale_item("changed-env");
  fs->mutable_stale_item()->set_var("CC");
  EXPECT_EQ(cause_label(r, "/ws"), "environment variable changed (CC)");
  fs->set_fs_status("stale-dep-fingerprint");
  fs->set_unit(7);
  EXPECT_EQ(cause_label(r, "/ws"), "dependency rebuilt");
  r.clear_fs_status();
  r.set_dirty_reason("features-changed");
  r.mutable_string_change()->set_old("[]");
  r.mutable_string_change()->set_new_("[\"x\"]");
  EXPECT_EQ(cause_label(r, "/ws"), "activated features changed: [] -> [\"x\"]");
}

} // namespace
} // namespace ca::query
