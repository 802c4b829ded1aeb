// Why new units were new (`report rebuilds`' `new_unit_origin`) on real cargo logs (corpus A)
// stored through the EventStore, on replays of them with one thing changed, and on the pure
// comparison of two unit rows.
#include "daemon/query/unit_origin.hpp"
#include "shared/render/rebuilds_text.hpp"
#include "tests/unit/query/corpus_db.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace v1 = cargo_analysis::v1;
using test::CorpusDb;
using test::k_corpus_a_runs;

v1::RunRebuilds rebuilds(CorpusDb& db, const std::string& id) {
  auto r = db.engine().get_rebuilds(test::request<v1::GetRebuildsRequest>(id));
  EXPECT_TRUE(r) << r.error().message;
  if (!r || r->runs_size() != 1) {
    ADD_FAILURE() << "no single run for " << id;
    return {};
  }
  return r->runs(0);
}

// Corpus A step `step` (1-based) stored under `as`, with `from` replaced by `to` in every line.
void add_changed(
    CorpusDb& db, int step, const std::string& as, const std::string& from, const std::string& to) {
  const std::string id = k_corpus_a_runs[step - 1];
  auto lines = test::replayed(test::corpus_lines(id), id, as);
  lines = test::replayed(lines, from, to);
  db.apply(test::decode_all(lines));
  db.end(as);
}

const v1::RootRebuild* root_named(const v1::RunRebuilds& r, const std::string& description) {
  for (const v1::RootRebuild& root : r.root_rebuilds()) {
    if (root.unit().description() == description) {
      return &root;
    }
  }
  ADD_FAILURE() << "no root " << description;
  return nullptr;
}

TEST(UnitOrigin, CleanBuildHasNoEarlierBuild) {
  CorpusDb db;
  db.add(k_corpus_a_runs[0]);
  v1::RunRebuilds r = rebuilds(db, k_corpus_a_runs[0]);
  ASSERT_GT(r.root_rebuilds_size(), 0);
  for (const v1::RootRebuild& root : r.root_rebuilds()) {
    ASSERT_TRUE(root.has_new_unit_origin()) << root.unit().description();
    EXPECT_FALSE(root.new_unit_origin().found());
    EXPECT_EQ(root.new_unit_origin().text(), "no earlier build in this workspace");
  }
}

TEST(UnitOrigin, FeatureUnificationExplainsTheNewBuildScript) {
  // Step 5 (`--features wsmid/fancy`) turns on wscore's `extra`: wscore's build script is
  // new because of it; getrandom and ppv-lite86 were never built before.
  CorpusDb db;
  for (int step = 1; step <= 5; ++step) {
    db.add(k_corpus_a_runs[step - 1]);
  }
  v1::RunRebuilds r = rebuilds(db, k_corpus_a_runs[4]);
  ASSERT_EQ(r.root_rebuilds_size(), 3);
  const v1::RootRebuild* script = root_named(r, "wscore@0.1.0 build-script");
  ASSERT_NE(script, nullptr);
  const v1::NewUnitOrigin& o = script->new_unit_origin();
  EXPECT_TRUE(o.found());
  EXPECT_EQ(o.previous_run_id(), k_corpus_a_runs[3]);
  EXPECT_EQ(o.previous_command_line(), "cargo build");
  ASSERT_EQ(o.changes_size(), 1);
  EXPECT_EQ(o.changes(0).kind(), "features");
  EXPECT_EQ(o.changes(0).text(), "features added: extra");
  ASSERT_EQ(o.changes(0).added_size(), 1);
  EXPECT_EQ(o.changes(0).added(0), "extra");
  EXPECT_EQ(o.text(), "features added: extra");
  for (const char* fresh : {"getrandom@0.2.8", "ppv-lite86@0.2.16"}) {
    const v1::RootRebuild* root = root_named(r, fresh);
    ASSERT_NE(root, nullptr);
    EXPECT_FALSE(root->new_unit_origin().found()) << fresh;
  }
}

TEST(UnitOrigin, RustflagsNameNoLoggedDifferenceAndNoFalseChange) {
  // Step 7 (`RUSTFLAGS=--cfg ws_extra_cfg`) makes all 88 units new. Cargo does not log
  // rustflags: no difference may be named (a named one would be a false positive).
  CorpusDb db;
  for (const char* id : k_corpus_a_runs) {
    db.add(id);
  }
  v1::RunRebuilds r = rebuilds(db, k_corpus_a_runs[6]);
  ASSERT_GT(r.root_rebuilds_size(), 0);
  int false_positives = 0;
  for (const v1::RootRebuild& root : r.root_rebuilds()) {
    const v1::NewUnitOrigin& o = root.new_unit_origin();
    EXPECT_TRUE(o.found()) << root.unit().description();
    EXPECT_EQ(o.previous_run_id(), k_corpus_a_runs[5]) << root.unit().description();
    false_positives += o.changes_size();
    EXPECT_EQ(o.text(), "no logged difference from the earlier build (rustflags changed, or "
                        "the target dir was cleaned)");
  }
  EXPECT_EQ(false_positives, 0);
  // Dirty roots are no new units: nothing added (step 9's build script is dirty).
  v1::RunRebuilds dirty = rebuilds(db, k_corpus_a_runs[8]);
  ASSERT_EQ(dirty.root_rebuilds_size(), 1);
  EXPECT_FALSE(dirty.root_rebuilds(0).has_new_unit_origin());
}

TEST(UnitOrigin, ProfileChangeIsNamed) {
  CorpusDb db;
  db.add(k_corpus_a_runs[0]);
  const std::string release = "20261123T070000000Z-28b99174ef2c2ad6";
  add_changed(db, 1, release, "\"profile\":\"dev\"", "\"profile\":\"release\"");
  v1::RunRebuilds r = rebuilds(db, release);
  ASSERT_GT(r.root_rebuilds_size(), 0);
  for (const v1::RootRebuild& root : r.root_rebuilds()) {
    const v1::NewUnitOrigin& o = root.new_unit_origin();
    EXPECT_TRUE(o.found());
    EXPECT_EQ(o.previous_run_id(), k_corpus_a_runs[0]);
    EXPECT_EQ(o.text(), "profile changed: dev -> release") << root.unit().description();
  }
  // The text report shows it under the root, and every difference with -v.
  std::string text = render::render_rebuilds(r, render::Verbosity::verbose, false);
  EXPECT_NE(text.find("     new: profile changed: dev -> release\n"), std::string::npos) << text;
  EXPECT_NE(
      text.find("     compared with: `cargo build` (" + std::string(k_corpus_a_runs[0]) + ")\n"),
      std::string::npos)
      << text;
}

TEST(UnitOrigin, OtherWorkspacesAreNotEarlierBuilds) {
  CorpusDb db;
  db.add(k_corpus_a_runs[0]);
  const std::string moved = "20261123T070000000Z-0000000000000000";
  add_changed(db, 1, moved, "/tmp/corpus/wsA", "/tmp/corpus/wsB");
  v1::RunRebuilds r = rebuilds(db, moved);
  ASSERT_GT(r.root_rebuilds_size(), 0);
  for (const v1::RootRebuild& root : r.root_rebuilds()) {
    EXPECT_FALSE(root.new_unit_origin().found()) << root.unit().description();
  }
}

store::StoredUnit unit(uint32_t index,
                       const std::string& name,
                       const std::string& version,
                       std::vector<uint32_t> deps = {}) {
  store::StoredUnit u;
  u.index = index;
  u.package_id = "path+file:///ws/" + name + "#" + version;
  u.name = name;
  u.version = version;
  u.target_name = name;
  u.target_kind = "lib";
  u.mode = "build";
  u.platform = "x86_64-unknown-linux-gnu";
  u.dependencies = std::move(deps);
  u.features_known = true;
  return u;
}

TEST(UnitOrigin, DependencyBumpModeAndFeaturesAreNamedInOrder) {
  // Then: app 0.1.0 (check, features a) on dep 1.0.0; now: app (build, features b) on
  // dep 1.1.0 and a new dependency extra 0.3.0.
  std::vector<store::StoredUnit> then_units = {unit(0, "app", "0.1.0", {1}),
                                               unit(1, "dep", "1.0.0")};
  then_units[0].mode = "check";
  then_units[0].features = {"a"};
  std::vector<store::StoredUnit> now_units = {unit(0, "app", "0.1.0", {1, 2}),
                                              unit(1, "dep", "1.1.0"), unit(2, "extra", "0.3.0")};
  now_units[0].features = {"b"};
  store::RunConfig then_run{"r1", "r1",  "",           "cargo check --features a",
                            1,    "dev", "/ws/target", "1.95.0"};
  store::RunConfig now_run{"r2", "r2",  "",           "cargo build --features b",
                           2,    "dev", "/ws/target", "1.95.0"};
  std::vector<store::RunUnit> candidates = {{then_run, then_units[0]}};
  v1::NewUnitOrigin o =
      compare_with_earlier(now_run, now_units[0], now_units, candidates, then_units);
  ASSERT_TRUE(o.found());
  std::vector<std::string> texts;
  for (const auto& c : o.changes()) {
    texts.push_back(c.text());
  }
  EXPECT_EQ(texts, (std::vector<std::string>{"mode changed: check -> build",
                                             "features changed: added b; removed a",
                                             "dependency version changed: dep 1.0.0 -> 1.1.0",
                                             "dependency added: extra 0.3.0"}));
  EXPECT_EQ(o.previous_command_line(), "cargo check --features a");
}

TEST(UnitOrigin, TheClosestUnitOfTheEarlierRunIsTheMatch) {
  // The earlier run checked and built the lib: the build matches a build.
  std::vector<store::StoredUnit> then_units = {unit(0, "app", "0.1.0"), unit(1, "app", "0.1.0")};
  then_units[0].mode = "check";
  store::RunConfig run{"r1", "r1", "", "cargo build", 1, "dev", "/t", "1.95.0"};
  store::RunConfig now_run{"r2", "r2", "", "cargo build", 2, "dev", "/t", "1.95.0"};
  std::vector<store::RunUnit> candidates = {{run, then_units[0]}, {run, then_units[1]}};
  std::vector<store::StoredUnit> now_units = {unit(0, "app", "0.1.0")};
  v1::NewUnitOrigin o =
      compare_with_earlier(now_run, now_units[0], now_units, candidates, then_units);
  EXPECT_EQ(o.previous_unit().index(), 1u);
  EXPECT_EQ(o.changes_size(), 0);
}

} // namespace
} // namespace ca::query
