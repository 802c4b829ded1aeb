// The trends indexes the store keeps at ingest (schema version 2): root rebuild flags and cause
// keys, whatever the batching; `unit_trends` totals, exactly once per compiled unit; and the
// migration that fills both for rows stored before them.
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/trend_index.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace ca::store {
namespace {

namespace v1 = cargo_analysis::v1;

constexpr const char* k_logs = "corpus/A/logs/";
constexpr const char* k_step4 = "20261123T062733765Z-28b99174ef2c2ad6"; // wscore changed
constexpr const char* k_step9 = "20261123T062750774Z-28b99174ef2c2ad6"; // WSCORE_FLAVOR

std::vector<v1::Event> load(const std::string& run_id) {
  std::ifstream in(test::fixture_path(std::string(k_logs) + run_id + ".jsonl"));
  codec::EventDecoder decoder;
  std::vector<v1::Event> out;
  for (std::string line; std::getline(in, line);) {
    v1::Event e;
    EXPECT_TRUE(decoder.decode(line, e));
    out.push_back(std::move(e));
  }
  EXPECT_FALSE(out.empty());
  return out;
}

std::unique_ptr<Database> open_migrated(const std::filesystem::path& path) {
  auto db = Database::open(path, Database::Mode::read_write_create);
  EXPECT_TRUE(db);
  EXPECT_TRUE(migrate(**db));
  return std::move(*db);
}

void apply(Database& db, EventStore& store, std::vector<v1::Event> events) {
  Batch b;
  b.source = "test";
  b.events = std::move(events);
  Transaction tx(db);
  auto r = store.apply(b);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(tx.commit());
}

// idx:root:key of every unit that is a root, in index order.
std::string roots(Database& db) {
  auto* s = *db.prepare_cached(
      "SELECT idx, COALESCE(cause_key, '') FROM units WHERE root = 1 ORDER BY run, idx");
  auto g = s->bind();
  std::string out;
  while (*s->step()) {
    std::string key = s->column_text(1);
    for (char& c : key) {
      c = c == '\x1f' ? '|' : c;
    }
    out += std::to_string(s->column_int(0)) + ":" + key + "\n";
  }
  return out;
}

TEST(TrendIndex, RootRebuildsDoNotDependOnHowTheRunWasBatched) {
  // Cargo logs wsapp's fingerprint (83, dirty because wsmid changed) before wscore's (84, the
  // change): with one event per batch, 83 looks like a root until 84 arrives.
  test::TempDir dir;
  auto whole = open_migrated(dir / "whole.sqlite3");
  auto split = open_migrated(dir / "split.sqlite3");
  EventStore whole_store(*whole);
  EventStore split_store(*split);
  auto events = load(k_step4);
  apply(*whole, whole_store, events);
  bool saw_false_root = false;
  for (const auto& e : events) {
    apply(*split, split_store, {e});
    saw_false_root = saw_false_root || roots(*split).find("83:") != std::string::npos;
  }
  EXPECT_TRUE(saw_false_root);
  EXPECT_EQ(roots(*whole), "84:fs-status-outdated|stale-item|changed-file|"
                           "/tmp/corpus/wsA/wscore/src/lib.rs\n");
  EXPECT_EQ(roots(*split), roots(*whole));
}

TEST(TrendIndex, NewUnitsAreRootsWithTheFreshBuildKey) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  apply(*db, store, load("20261123T062716161Z-28b99174ef2c2ad6")); // the clean build
  // Roots of a clean build are the units without dependencies.
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM units WHERE root = 1"),
            *db->query_int("SELECT COUNT(*) FROM units WHERE dependencies = ''"));
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM units WHERE root = 1 AND "
                           "cause_key != 'fresh-build'"),
            0);
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM units WHERE root = 1 AND fingerprint = 'dirty'"),
            0);
}

TEST(TrendIndex, UnitTrendsCountEachCompiledUnitOnce) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  apply(*db, store, load(k_step4));
  apply(*db, store, load(k_step9));
  apply(*db, store, load(k_step9)); // the same lines again: nothing new
  EXPECT_EQ(*db->query_int("SELECT SUM(builds) FROM unit_trends"),
            *db->query_int("SELECT COUNT(*) FROM units WHERE start IS NOT NULL "
                           "AND finish IS NOT NULL"));
  EXPECT_EQ(*db->query_int("SELECT SUM(builds) FROM unit_trends"), 3 + 4);
  EXPECT_EQ(*db->query_int("SELECT builds FROM unit_trends WHERE name = 'wscore' AND "
                           "target_kind = 'lib'"),
            2);
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM unit_trends WHERE workspace_root != "
                           "'/tmp/corpus/wsA'"),
            0);
  EXPECT_EQ(*db->query_int("SELECT ABS(SUM(total_secs) - (SELECT SUM(finish - start) FROM units "
                           "WHERE start IS NOT NULL AND finish IS NOT NULL)) < 1e-9 "
                           "FROM unit_trends"),
            1);
}

TEST(TrendIndex, MigrationToVersion2FillsTheIndexesOfStoredRows) {
  test::TempDir dir;
  auto opened = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
  ASSERT_TRUE(opened);
  Database& db = **opened;
  ASSERT_TRUE(migrate_to(db, 1));
  // A run as version 1 stored it: 0 <- 1 <- 2 (2 depends on 1, 1 on 0), 3 alone; 1 dirty
  // (so 2, dirty too, is no root), 3 new.
  ASSERT_TRUE(db.exec(R"sql(
INSERT INTO runs(id, run_id, session_id, workspace_hash, start_unix_ms, workspace_root)
  VALUES (1, '20261123T062716161Z-28b99174ef2c2ad6', 's', '28b99174ef2c2ad6', 0, '/ws');
INSERT INTO units(run, idx, package_id, name, version, target_name, target_kind, mode,
                  dependencies, fingerprint, cause_kind, start, finish) VALUES
  (1, 0, 'p#a@1.0.0', 'a', '1.0.0', 'a', 'lib', 'build', '', 'fresh', NULL, NULL, NULL),
  (1, 1, 'p#b@1.0.0', 'b', '1.0.0', 'b', 'lib', 'build', '0', 'dirty', 'env-var-changed', 1.0,
   3.5),
  (1, 2, 'p#c@1.0.0', 'c', '1.0.0', 'c', 'bin', 'build', '1', 'dirty', 'fs-status-outdated', 3.5,
   4.0),
  (1, 3, 'p#d@1.0.0', 'd', '1.0.0', 'd', 'lib', 'build', '', 'new', NULL, 0.5, 0.75);
)sql"));
  ASSERT_TRUE(migrate_to(db, 2));
  EXPECT_EQ(*db.query_int("PRAGMA user_version"), 2);
  EXPECT_EQ(roots(db), "1:env-var-changed\n3:fresh-build\n");
  EXPECT_EQ(*db.query_int("SELECT COUNT(*) FROM unit_trends"), 3);
  EXPECT_EQ(*db.query_int("SELECT builds * 1000 + CAST(total_secs * 100 AS INTEGER) FROM "
                          "unit_trends WHERE name = 'b'"),
            1250);
  EXPECT_EQ(*db.query_int("SELECT COUNT(*) FROM unit_trends WHERE workspace_root = '/ws' AND "
                          "package_id LIKE 'p#%' AND version = '1.0.0' AND last_run = 1"),
            3);
}

TEST(TrendIndex, CauseKeysKeepWhatChangedAndDropWhatVaries) {
  v1::DirtyReason env;
  env.set_dirty_reason("env-var-changed");
  env.mutable_env_var()->set_name("WSCORE_FLAVOR");
  env.mutable_env_var()->set_new_value("spicy");
  v1::DirtyReason env2 = env;
  env2.mutable_env_var()->set_old_value("spicy");
  env2.mutable_env_var()->set_new_value("mild");
  EXPECT_EQ(rebuild_cause_key(env), rebuild_cause_key(env2));
  EXPECT_EQ(rebuild_cause_key(env), "env-var-changed\x1fWSCORE_FLAVOR");

  v1::DirtyReason file;
  file.set_dirty_reason("fs-status-outdated");
  auto* item = file.mutable_fs_status()->mutable_stale_item();
  file.mutable_fs_status()->set_fs_status("stale-item");
  item->set_stale_item("changed-file");
  item->set_stale("/ws/src/main.rs");
  item->set_stale_mtime(1);
  item->set_reference("/ws/target/dep-info");
  v1::DirtyReason later = file;
  later.mutable_fs_status()->mutable_stale_item()->set_stale_mtime(2);
  EXPECT_EQ(rebuild_cause_key(file), rebuild_cause_key(later));
  later.mutable_fs_status()->mutable_stale_item()->set_stale("/ws/src/lib.rs");
  EXPECT_NE(rebuild_cause_key(file), rebuild_cause_key(later));

  v1::DirtyReason flags;
  flags.set_dirty_reason("rustflags-changed");
  flags.mutable_list_change()->add_new_("--cfg");
  flags.mutable_list_change()->add_new_("x");
  v1::DirtyReason other_flags = flags;
  other_flags.mutable_list_change()->set_new_(1, "y");
  EXPECT_NE(rebuild_cause_key(flags), rebuild_cause_key(other_flags));
}

} // namespace
} // namespace ca::store
