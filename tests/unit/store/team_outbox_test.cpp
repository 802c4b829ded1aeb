// Migration 6: the team outbox is filled by the trigger in the transaction that ends a run, and
// only while team export is switched on.
#include "daemon/store/database.hpp"
#include "daemon/store/migrations.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace ca::store {
namespace {

std::unique_ptr<Database> open_migrated(const std::filesystem::path& path) {
  auto db = Database::open(path, Database::Mode::read_write_create);
  EXPECT_TRUE(db) << db.error().message;
  auto m = migrate(**db);
  EXPECT_TRUE(m) << m.error().message;
  return std::move(*db);
}

void add_run(Database& db, const std::string& id) {
  auto r = db.exec("INSERT INTO runs(run_id, session_id, workspace_hash, start_unix_ms) VALUES ('" +
                   id + "', '" + id + "', 'h', 1)");
  ASSERT_TRUE(r) << r.error().message;
}

void end_run(Database& db, const std::string& id) {
  auto r =
      db.exec("UPDATE runs SET state = 'completed', end_unix_ms = 2 WHERE run_id = '" + id + "'");
  ASSERT_TRUE(r) << r.error().message;
}

TEST(TeamOutbox, AnEndedRunIsQueuedOnlyWhileExportIsOn) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  add_run(*db, "off");
  end_run(*db, "off");
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox"), 0);

  ASSERT_TRUE(db->exec("INSERT INTO team_export(id, since_ms) VALUES (1, 0)"));
  add_run(*db, "on");
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox"), 0); // not ended yet
  end_run(*db, "on");
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox WHERE run_id = 'on'"), 1);
  end_run(*db, "on"); // ended again (an exit code learned later): still one entry
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox"), 1);

  // A rolled-back end queues nothing: the entry belongs to the end's transaction.
  add_run(*db, "rolled-back");
  {
    Transaction tx(*db);
    end_run(*db, "rolled-back");
  }
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox WHERE run_id = 'rolled-back'"), 0);

  ASSERT_TRUE(db->exec("DELETE FROM team_export"));
  add_run(*db, "off-again");
  end_run(*db, "off-again");
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM team_outbox"), 1);
}

} // namespace
} // namespace ca::store
