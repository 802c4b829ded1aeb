// `report thrash` on real cargo logs (corpus A: an edit-build loop with a feature switched on and
// off, RUSTFLAGS set and unset, and an env var set once; corpus C: one clean build), where
// nothing thrashes, and on replays of corpus A's env var change flipped back and forth.
#include "daemon/query/thrash.hpp"
#include "shared/render/thrash_text.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::k_corpus_a_runs;
using test::k_corpus_c_run;

constexpr const char* k_ws_a = "/tmp/corpus/wsA";
// Step 9 of corpus A sets WSCORE_FLAVOR=spicy: wscore's build script (unit 86) reruns.
constexpr const char* k_spicy = "\"old_value\":null,\"new_value\":\"spicy\"";
constexpr const char* k_unspiced = "\"old_value\":\"spicy\",\"new_value\":null";
const std::string k_back = "20261123T062800000Z-28b99174ef2c2ad6";  // spicy -> <unset>
const std::string k_again = "20261123T062810000Z-28b99174ef2c2ad6"; // <unset> -> spicy

v1::ThrashResponse thrash(CorpusDb& db, const std::string& workspace, uint32_t last = 0) {
  v1::ThrashRequest req;
  req.set_workspace(workspace);
  req.set_last(last);
  auto r = db.engine().thrash(req);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : v1::ThrashResponse{};
}

void add_step_9_as(CorpusDb& db, const std::string& as, bool back) {
  const std::string id = k_corpus_a_runs[8];
  auto lines = test::replayed(test::corpus_lines(id), id, as);
  if (back) {
    lines = test::replayed(lines, k_spicy, k_unspiced);
  }
  db.apply(test::decode_all(lines));
  db.end(as);
}

// The compile time of a step 9 run's rebuilds, from the store: the build script (unit 86) and the
// three units it dragged along (wscore, wsmid, wsapp), the only units rebuilt there.
double rebuilt_secs(CorpusDb& db, const std::string& run_id) {
  auto reader = store::RunReader::open(db.path());
  EXPECT_TRUE(reader);
  auto units = (*reader)->units(run_id);
  EXPECT_TRUE(units);
  double secs = 0;
  int rebuilt = 0;
  for (const auto& u : *units) {
    if (u.fingerprint == "dirty") {
      EXPECT_TRUE(u.start && u.finish);
      secs += *u.finish - *u.start;
      ++rebuilt;
    }
  }
  EXPECT_EQ(rebuilt, 4) << run_id;
  return secs;
}

TEST(Thrash, NothingThrashesInTheCorpus) {
  // False positives on the corpus: a feature switched on and off, RUSTFLAGS set and unset and
  // an env var set once are no thrash (cargo kept both configurations, or changed once).
  CorpusDb db;
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
  db.add(k_corpus_c_run);
  v1::ThrashResponse a = thrash(db, k_ws_a);
  EXPECT_EQ(a.workspace_root(), k_ws_a);
  EXPECT_EQ(a.runs(), 10u);
  EXPECT_EQ(a.groups_size(), 0);
  EXPECT_EQ(a.time_lost_secs(), 0);
  EXPECT_NE(render::render_thrash(a, false).find("Status: no unit was rebuilt back and forth\n"),
            std::string::npos);
}

TEST(Thrash, AnEnvVarFlippedBackIsThrash) {
  CorpusDb db;
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
  add_step_9_as(db, k_back, true);
  add_step_9_as(db, k_again, false);
  v1::ThrashResponse r = thrash(db, k_ws_a);
  EXPECT_EQ(r.runs(), 12u);
  ASSERT_EQ(r.groups_size(), 1);
  const v1::ThrashGroup& g = r.groups(0);
  EXPECT_EQ(g.cause(), "env-var");
  EXPECT_EQ(g.cause_text(), "environment variable WSCORE_FLAVOR flips");
  EXPECT_NE(g.fix().find("pin the env var"), std::string::npos);
  ASSERT_EQ(g.units_size(), 1);
  const v1::ThrashingUnit& u = g.units(0);
  EXPECT_EQ(u.unit().description(), "wscore@0.1.0 build-script (run)");
  EXPECT_EQ(u.rebuilds(), 3u);
  EXPECT_EQ(u.thrashing_rebuilds(), 2u);
  EXPECT_EQ(std::vector<std::string>(u.run_ids().begin(), u.run_ids().end()),
            (std::vector<std::string>{k_back, k_again}));
  ASSERT_EQ(u.sides_size(), 2);
  EXPECT_EQ(u.sides(0).value(), "WSCORE_FLAVOR=<unset>");
  EXPECT_EQ(u.sides(1).value(), "WSCORE_FLAVOR=spicy");
  // <unset>: step 8 built it (fresh), and k_back went back to it; spicy: steps 9 and k_again.
  EXPECT_EQ(u.sides(0).run_ids_size(), 2);
  EXPECT_EQ(u.sides(0).run_ids(0), k_corpus_a_runs[7]);
  EXPECT_EQ(u.sides(1).run_ids_size(), 2);
  ASSERT_EQ(u.sides(0).commands_size(), 1);
  EXPECT_EQ(u.sides(0).commands(0), "cargo build");
  const double lost = rebuilt_secs(db, k_back) + rebuilt_secs(db, k_again);
  EXPECT_EQ(u.cascading_rebuilds(), 6u);
  EXPECT_GT(lost, 0);
  EXPECT_NEAR(u.time_lost_secs(), lost, 1e-9);
  EXPECT_NEAR(r.time_lost_secs(), lost, 1e-9);

  std::string text = render::render_thrash(r, false);
  EXPECT_NE(text.find("environment variable WSCORE_FLAVOR flips: 1 unit"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  wscore@0.1.0 build-script (run): rebuilt 3 times, 2 back to a "
                      "configuration built before (" +
                      fmt::format("{:.2f}", lost) + "s with 6 dependent units)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    WSCORE_FLAVOR=spicy: `cargo build` (2 builds)\n"), std::string::npos)
      << text;
}

TEST(Thrash, LastLimitsTheScope) {
  CorpusDb db;
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
  add_step_9_as(db, k_back, true);
  add_step_9_as(db, k_again, false);
  // The two newest: spicy -> <unset>, then back to spicy.
  v1::ThrashResponse two = thrash(db, k_ws_a, 2);
  EXPECT_EQ(two.runs(), 2u);
  ASSERT_EQ(two.groups_size(), 1);
  EXPECT_EQ(two.groups(0).units(0).thrashing_rebuilds(), 1u);
  EXPECT_EQ(two.groups(0).units(0).run_ids(0), k_again);
  // The newest alone: one change, no thrash.
  EXPECT_EQ(thrash(db, k_ws_a, 1).groups_size(), 0);
}

TEST(Thrash, UnknownWorkspaceIsNotFound) {
  CorpusDb db;
  db.add(k_corpus_a_runs[0]);
  v1::ThrashRequest req;
  req.set_workspace("/nowhere");
  auto r = db.engine().thrash(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_EQ(r.error().message, "no sessions found for workspace at `/nowhere`");
}

// Rows as recent_units() gives them, for the build script cases no corpus log has.
store::RunUnit script_run(int n, const std::string& cause_kind, double secs) {
  store::RunUnit ru;
  ru.run.run_id = "run" + std::to_string(n);
  ru.run.command_line = "cargo build";
  ru.run.start_unix_ms = n;
  store::StoredUnit& u = ru.unit;
  u.index = 2;
  u.package_id = "path+file:///ws#thr@0.1.0";
  u.name = "thr";
  u.version = "0.1.0";
  u.target_name = "build-script-build";
  u.target_kind = "build-script";
  u.mode = "run-custom-build";
  u.platform = "x86_64-unknown-linux-gnu";
  if (cause_kind.empty()) {
    u.fingerprint = "fresh";
    return ru;
  }
  u.fingerprint = "dirty";
  v1::DirtyReason reason;
  reason.set_dirty_reason(cause_kind);
  if (cause_kind == "fs-status-outdated") {
    reason.mutable_fs_status()->set_fs_status("stale-item");
    reason.mutable_fs_status()->mutable_stale_item()->set_stale_item("missing-file");
    reason.mutable_fs_status()->mutable_stale_item()->set_path("/ws/data/none.txt");
  }
  u.cause = reason.SerializeAsString();
  u.start = 1.0;
  u.finish = 1.0 + secs;
  return ru;
}

TEST(Thrash, ABuildScriptWithoutRerunIfIsReported) {
  std::vector<store::RunUnit> rows = {script_run(1, "precalculated-components-changed", 0.5),
                                      script_run(2, "", 0),
                                      script_run(3, "precalculated-components-changed", 0.25),
                                      script_run(4, "precalculated-components-changed", 0.125)};
  std::vector<store::RunConfig> runs;
  for (const auto& r : rows) {
    runs.push_back(r.run);
  }
  v1::ThrashResponse r = compute_thrash(runs, rows, "/ws");
  ASSERT_EQ(r.groups_size(), 1);
  EXPECT_EQ(r.groups(0).cause(), "build-script");
  EXPECT_NE(r.groups(0).fix().find("cargo::rerun-if-changed=build.rs"), std::string::npos);
  ASSERT_EQ(r.groups(0).units_size(), 1);
  EXPECT_EQ(r.groups(0).units(0).rebuilds(), 3u);
  EXPECT_EQ(r.groups(0).units(0).thrashing_rebuilds(), 2u);
  EXPECT_DOUBLE_EQ(r.groups(0).units(0).time_lost_secs(), 0.375);
  // Once is no pattern.
  std::vector<store::RunUnit> once(rows.begin(), rows.begin() + 2);
  EXPECT_EQ(compute_thrash(runs, once, "/ws").groups_size(), 0);
}

TEST(Thrash, ARerunIfChangedOfAMissingFileIsReportedWithThePath) {
  std::vector<store::RunUnit> rows = {script_run(1, "fs-status-outdated", 0.5),
                                      script_run(2, "fs-status-outdated", 0.5)};
  std::vector<store::RunConfig> runs = {rows[0].run, rows[1].run};
  v1::ThrashResponse r = compute_thrash(runs, rows, "/ws");
  ASSERT_EQ(r.groups_size(), 1);
  EXPECT_EQ(r.groups(0).cause(), "rerun-if-missing");
  EXPECT_EQ(r.groups(0).units(0).detail(), "file missing: data/none.txt");
}

} // namespace
} // namespace ca::query
