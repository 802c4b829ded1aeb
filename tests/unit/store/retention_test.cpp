// Retention: which sessions collect_garbage() deletes (age, count, size), what it keeps (runs in
// progress, the watcher's read positions, everything about the runs left), and dry runs.
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/retention.hpp"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ca::store {
namespace {

namespace v1 = cargo_analysis::v1;

constexpr int64_t k_day_ms = 24LL * 3600 * 1000;
// "Now" for every test: the age limit must not depend on the clock.
constexpr int64_t k_now_ms = 1'800'000'000'000;

// The ten runs of corpus A, oldest first.
std::vector<std::filesystem::path> corpus_logs() {
  std::vector<std::filesystem::path> logs;
  for (const auto& e : std::filesystem::directory_iterator(test::fixture_path("corpus/A/logs"))) {
    logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

std::vector<v1::Event> load_events(const std::filesystem::path& path) {
  std::ifstream in(path);
  codec::EventDecoder decoder;
  std::vector<v1::Event> out;
  std::string line;
  while (std::getline(in, line)) {
    v1::Event e;
    auto r = decoder.decode(line, e);
    EXPECT_TRUE(r) << r.error().message;
    out.push_back(std::move(e));
  }
  return out;
}

RetentionPolicy no_limits() {
  RetentionPolicy p;
  p.max_age = std::chrono::milliseconds(0);
  p.max_sessions = 0;
  p.max_bytes = 0;
  p.stale_after = std::chrono::milliseconds(0);
  p.now_unix_ms = k_now_ms;
  return p;
}

// A database holding corpus A's ten runs (ended) as five sessions of two runs, s0 (oldest) to
// s4 (newest), whose runs started 200, 100, 30, 10 and 1 days before k_now_ms (the second run of
// a session a minute after the first), and a watcher read position for each run's log.
class Retention : public ::testing::Test {
protected:
  void SetUp() override {
    auto opened = Database::open(m_path, Database::Mode::read_write_create);
    ASSERT_TRUE(opened) << opened.error().message;
    m_db = std::move(*opened);
    ASSERT_TRUE(migrate(*m_db));
    EventStore store(*m_db);
    const int64_t ages_days[] = {200, 100, 30, 10, 1};
    auto logs = corpus_logs();
    ASSERT_EQ(logs.size(), 10u);
    for (size_t i = 0; i < logs.size(); ++i) {
      Batch b;
      b.source = "test";
      b.events = load_events(logs[i]);
      ASSERT_FALSE(b.events.empty());
      const std::string run_id = b.events.front().run_id();
      RunFacts end;
      end.run_id = run_id;
      end.ended = true;
      b.facts.push_back(end);
      b.checkpoint = FileCheckpoint{logs[i].string(), 1000 + i, std::filesystem::file_size(logs[i]),
                                    0, run_id};
      b.reports.push_back(StoredReport{run_id, 1, 1, b.events.size(), "completed", "report"});
      {
        Transaction tx(*m_db);
        auto r = store.apply(b);
        ASSERT_TRUE(r) << r.error().message;
        ASSERT_TRUE(tx.commit());
      }
      const size_t session = i / 2;
      m_session_of[run_id] = "s" + std::to_string(session);
      m_run_ids.push_back(run_id);
      auto* s = *m_db->prepare_cached(
          "UPDATE runs SET session_id = ?2, start_unix_ms = ?3 WHERE run_id = ?1");
      auto g =
          s->bind(run_id, m_session_of[run_id],
                  k_now_ms - ages_days[session] * k_day_ms + static_cast<int64_t>(i % 2) * 60000);
      ASSERT_TRUE(s->run());
    }
  }

  std::set<std::string> sessions() {
    std::set<std::string> out;
    auto* s = *m_db->prepare_cached("SELECT DISTINCT session_id FROM runs");
    auto g = s->bind();
    while (*s->step()) {
      out.insert(s->column_text(0));
    }
    return out;
  }

  int64_t count(const char* sql) { return *m_db->query_int(sql); }

  // Events of the runs of the given sessions, from the table.
  int64_t events_of(const std::set<std::string>& of) {
    int64_t n = 0;
    for (const auto& id : of) {
      auto* s = *m_db->prepare_cached(
          "SELECT COALESCE(SUM(b.lines), 0) FROM raw_blocks b JOIN runs r ON r.id = b.run "
          "WHERE r.session_id = ?1");
      auto g = s->bind(id);
      EXPECT_TRUE(*s->step());
      n += s->column_int(0);
    }
    return n;
  }

  // No unit or event left without its run.
  void expect_no_orphans() {
    EXPECT_EQ(count("SELECT COUNT(*) FROM units WHERE run NOT IN (SELECT id FROM runs)"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM raw_blocks WHERE run NOT IN (SELECT id FROM runs)"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM run_reports WHERE run NOT IN (SELECT id FROM runs)"), 0);
  }

  GcOutcome collect(const RetentionPolicy& p) {
    auto r = collect_garbage(*m_db, p);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : GcOutcome{};
  }

  test::TempDir m_dir;
  std::filesystem::path m_path = m_dir / "db.sqlite3";
  std::unique_ptr<Database> m_db;
  std::vector<std::string> m_run_ids; // oldest first
  std::map<std::string, std::string> m_session_of;
};

TEST_F(Retention, NoLimitsDeleteNothing) {
  auto o = collect(no_limits());
  EXPECT_EQ(o.sessions_deleted, 0u);
  EXPECT_EQ(o.sessions_kept, 5u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 10);
}

TEST_F(Retention, AgeLimitDeletesSessionsOlderThanItWhole) {
  const int64_t doomed_events = events_of({"s0", "s1"});
  auto p = no_limits();
  p.max_age = std::chrono::hours(24 * 90);
  auto o = collect(p);
  EXPECT_EQ(o.sessions_deleted, 2u);
  EXPECT_EQ(o.runs_deleted, 4u);
  EXPECT_EQ(o.events_deleted, static_cast<uint64_t>(doomed_events));
  EXPECT_EQ(o.sessions_kept, 3u);
  EXPECT_EQ(sessions(), (std::set<std::string>{"s2", "s3", "s4"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs"), 6);
  EXPECT_EQ(count("SELECT COUNT(*) FROM run_reports"), 6);
  expect_no_orphans();
}

TEST_F(Retention, AgeIsThatOfTheSessionsNewestRun) {
  // s1's second run is recent: the whole session stays, its old first run included.
  auto* s = *m_db->prepare_cached("UPDATE runs SET start_unix_ms = ?2 WHERE run_id = ?1");
  {
    auto g = s->bind(m_run_ids[3], k_now_ms - 5 * k_day_ms);
    ASSERT_TRUE(s->run());
  }
  auto p = no_limits();
  p.max_age = std::chrono::hours(24 * 90);
  auto o = collect(p);
  EXPECT_EQ(o.sessions_deleted, 1u);
  EXPECT_EQ(sessions(), (std::set<std::string>{"s1", "s2", "s3", "s4"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE session_id = 's1'"), 2);
}

TEST_F(Retention, CountLimitKeepsTheNewestSessions) {
  auto p = no_limits();
  p.max_sessions = 2;
  auto o = collect(p);
  EXPECT_EQ(o.sessions_deleted, 3u);
  EXPECT_EQ(o.runs_deleted, 6u);
  EXPECT_EQ(sessions(), (std::set<std::string>{"s3", "s4"}));
  expect_no_orphans();
}

// Bytes in use by a database with the schema and no data: every table and index has a page.
int64_t empty_database_bytes(const std::filesystem::path& dir) {
  auto db = Database::open(dir / "empty.sqlite3", Database::Mode::read_write_create);
  EXPECT_TRUE(db && migrate(**db));
  return (*(*db)->query_int("PRAGMA page_count") - *(*db)->query_int("PRAGMA freelist_count")) *
         *(*db)->query_int("PRAGMA page_size");
}

TEST_F(Retention, SizeLimitDeletesTheOldestSessionsUntilTheDataFits) {
  const int64_t in_use =
      (count("PRAGMA page_count") - count("PRAGMA freelist_count")) * count("PRAGMA page_size");
  // A limit that leaves room for about half of the data beyond the empty schema's pages.
  const int64_t empty = empty_database_bytes(m_dir.path());
  ASSERT_LT(empty, in_use);
  const int64_t limit = empty + (in_use - empty) / 2;
  auto p = no_limits();
  p.max_bytes = static_cast<uint64_t>(limit);
  auto o = collect(p);
  // Oldest first, and only as many as needed: the newest sessions stay.
  ASSERT_GE(o.sessions_deleted, 1u);
  ASSERT_LE(o.sessions_deleted, 4u);
  std::set<std::string> expected;
  for (size_t k = o.sessions_deleted; k < 5; ++k) {
    expected.insert("s" + std::to_string(k));
  }
  EXPECT_EQ(sessions(), expected);
  expect_no_orphans();
  // What is left fits the limit once its free pages are given back.
  p.vacuum = true;
  auto again = collect(p);
  EXPECT_EQ(again.sessions_deleted, 0u);
  EXPECT_TRUE(again.vacuumed);
  EXPECT_LE((count("PRAGMA page_count") - count("PRAGMA freelist_count")) *
                count("PRAGMA page_size"),
            limit);
}

TEST_F(Retention, SizeLimitUnderTheDataSizeDeletesNothing) {
  auto p = no_limits();
  p.max_bytes = uint64_t{1} << 40;
  EXPECT_EQ(collect(p).sessions_deleted, 0u);
}

TEST_F(Retention, SessionsWithARunInProgressAreKept) {
  ASSERT_TRUE(
      m_db->exec("UPDATE runs SET state = 'in_progress' WHERE run_id = '" + m_run_ids[1] + "'"));
  auto p = no_limits();
  p.max_age = std::chrono::hours(24 * 90);
  p.max_sessions = 1;
  auto o = collect(p);
  // s0 is old and beyond the newest one, but builds: kept whole, its finished run included.
  EXPECT_EQ(sessions(), (std::set<std::string>{"s0", "s4"}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE session_id = 's0'"), 2);
  EXPECT_EQ(o.sessions_deleted, 3u);
}

// A run left in progress with no sign of life for longer than stale_after (its writer gone, or a
// file named like a log that never held one) is ended as interrupted, and its session then goes
// by the usual rules; a run in progress that is recent enough is left alone.
TEST_F(Retention, RunsInProgressSilentForTooLongAreEndedAndCollected) {
  // s0's second run: no event at all, started 200 days ago. s4's first: in progress, 1 day old.
  ASSERT_TRUE(m_db->exec("UPDATE runs SET state = 'in_progress', last_event_ns = 0, "
                         "end_unix_ms = NULL WHERE run_id IN ('" +
                         m_run_ids[1] + "', '" + m_run_ids[8] + "')"));
  auto p = no_limits();
  p.max_age = std::chrono::hours(24 * 90);
  p.stale_after = std::chrono::hours(24 * 7);
  p.dry_run = true;
  EXPECT_EQ(collect(p).runs_ended_stale, 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE state = 'in_progress'"), 2); // dry: untouched
  p.dry_run = false;
  auto o = collect(p);
  EXPECT_EQ(o.runs_ended_stale, 1u);
  // s0 and s1 are past the age limit: s0 goes now that its run has ended.
  EXPECT_EQ(sessions(), (std::set<std::string>{"s2", "s3", "s4"}));
  auto* s = *m_db->prepare_cached("SELECT state, end_unix_ms FROM runs WHERE run_id = ?1");
  auto g = s->bind(m_run_ids[8]);
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->column_text(0), "in_progress");
  // Off: nothing is ended.
  ASSERT_TRUE(m_db->exec("UPDATE runs SET last_event_ns = 0, start_unix_ms = 0 WHERE run_id = '" +
                         m_run_ids[8] + "'"));
  EXPECT_EQ(collect(no_limits()).runs_ended_stale, 0u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM runs WHERE state = 'in_progress'"), 1);
}

TEST_F(Retention, WatcherReadPositionsAreKept) {
  auto p = no_limits();
  p.max_sessions = 1;
  collect(p);
  EXPECT_EQ(count("SELECT COUNT(*) FROM sources"), 10);
  auto* s = *m_db->prepare_cached("SELECT offset FROM sources WHERE run_id = ?1");
  auto g = s->bind(m_run_ids[0]);
  ASSERT_TRUE(*s->step());
  EXPECT_GT(s->column_int(0), 0);
}

TEST_F(Retention, DryRunReportsWithoutDeleting) {
  const int64_t doomed_events = events_of({"s0", "s1", "s2"});
  const int64_t events = count("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks");
  const int64_t units = count("SELECT COUNT(*) FROM units");
  const int64_t trends = count("SELECT COUNT(*) FROM unit_trends");
  auto p = no_limits();
  p.max_sessions = 2;
  p.dry_run = true;
  auto o = collect(p);
  EXPECT_TRUE(o.dry_run);
  EXPECT_EQ(o.sessions_deleted, 3u);
  EXPECT_EQ(o.runs_deleted, 6u);
  EXPECT_EQ(o.events_deleted, static_cast<uint64_t>(doomed_events));
  EXPECT_FALSE(o.vacuumed);
  EXPECT_LT(o.bytes_after, o.bytes_before);
  EXPECT_EQ(sessions().size(), 5u);
  EXPECT_EQ(count("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks"), events);
  EXPECT_EQ(count("SELECT COUNT(*) FROM units"), units);
  EXPECT_EQ(count("SELECT COUNT(*) FROM unit_trends"), trends);
}

// Everything a report reads about a run: its summary, its units and its events.
std::string run_snapshot(RunReader& reader, const std::string& run_id) {
  std::string out;
  auto run = reader.run(run_id);
  EXPECT_TRUE(run) << run.error().message;
  out += run->SerializeAsString();
  auto events = reader.events(run_id);
  EXPECT_TRUE(events);
  for (const auto& e : *events) {
    out += e.SerializeAsString();
  }
  auto units = reader.units(run_id);
  EXPECT_TRUE(units);
  out += std::to_string(units->size());
  return out;
}

// unit_trends as rows of text, ordered.
std::vector<std::string> trend_rows(Database& db) {
  std::vector<std::string> out;
  auto* s = *db.prepare_cached(
      "SELECT workspace_root || '|' || name || '|' || target_name || '|' || target_kind || '|' || "
      "mode || '|' || package_id || '|' || version || '|' || builds || '|' || "
      "printf('%.6f', total_secs) || '|' || printf('%.6f', max_secs) || '|' || last_run "
      "FROM unit_trends ORDER BY 1");
  auto g = s->bind();
  while (*s->step()) {
    out.push_back(s->column_text(0));
  }
  return out;
}

TEST_F(Retention, KeptRunsReadTheSameAfterwardsAndTrendsCountOnlyThem) {
  std::map<std::string, std::string> before;
  {
    auto reader = RunReader::open(m_path);
    ASSERT_TRUE(reader);
    for (size_t i = 6; i < 10; ++i) {
      before[m_run_ids[i]] = run_snapshot(**reader, m_run_ids[i]);
    }
  }
  auto p = no_limits();
  p.max_sessions = 2;
  p.vacuum = true;
  auto o = collect(p);
  ASSERT_EQ(o.sessions_deleted, 3u);
  EXPECT_TRUE(o.vacuumed);

  auto reader = RunReader::open(m_path);
  ASSERT_TRUE(reader);
  for (const auto& [run_id, snapshot] : before) {
    EXPECT_EQ(run_snapshot(**reader, run_id), snapshot) << run_id;
  }
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_FALSE((*reader)->run(m_run_ids[i])) << m_run_ids[i];
  }

  // The running totals equal those rebuilt from the units left (migration 2's way).
  auto kept = trend_rows(*m_db);
  EXPECT_FALSE(kept.empty());
  ASSERT_TRUE(m_db->exec("DELETE FROM unit_trends"));
  ASSERT_TRUE(m_db->exec(
      "INSERT INTO unit_trends SELECT COALESCE(r.workspace_root, ''), u.name, u.target_name, "
      "u.target_kind, u.mode, u.package_id, u.version, COUNT(*), SUM(u.finish - u.start), "
      "MAX(u.finish - u.start), MAX(u.run) FROM units u JOIN runs r ON r.id = u.run "
      "WHERE u.start IS NOT NULL AND u.finish IS NOT NULL GROUP BY 1, 2, 3, 4, 5;"
      "UPDATE unit_trends SET (package_id, version) = (SELECT u.package_id, u.version "
      "FROM units u WHERE u.run = unit_trends.last_run AND u.name = unit_trends.name "
      "AND u.target_name = unit_trends.target_name AND u.target_kind = unit_trends.target_kind "
      "AND u.mode = unit_trends.mode LIMIT 1);"));
  EXPECT_EQ(trend_rows(*m_db), kept);
}

TEST_F(Retention, VacuumShrinksTheFile) {
  auto p = no_limits();
  p.max_sessions = 1;
  p.vacuum = true;
  auto o = collect(p);
  EXPECT_TRUE(o.vacuumed);
  EXPECT_LT(o.bytes_after, o.bytes_before);
  EXPECT_EQ(o.bytes_after, database_file_bytes(*m_db));
  EXPECT_EQ(count("PRAGMA freelist_count"), 0);
}

TEST(WriterExclusive, RunsTheTaskOnTheWriterBetweenBatches) {
  test::TempDir dir;
  auto path = dir / "db.sqlite3";
  {
    auto db = Database::open(path, Database::Mode::read_write_create);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(**db));
  }
  auto db = Database::open(path, Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  Writer writer(std::move(*db));
  auto logs = corpus_logs();
  for (size_t i = 0; i < 2; ++i) {
    Batch b;
    b.source = "test";
    b.events = load_events(logs[i]);
    RunFacts end;
    end.run_id = b.events.front().run_id();
    end.ended = true;
    b.facts.push_back(end);
    writer.submit(std::move(b));
  }
  // A task runs before the batches still queued: flush first, so that it sees both runs.
  writer.flush();
  auto p = no_limits();
  p.max_sessions = 1;
  auto done = writer.run_exclusive<GcOutcome>([p](Database& d) { return collect_garbage(d, p); });
  auto o = done.get();
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(o->sessions_deleted, 1u);
  EXPECT_EQ(o->sessions_kept, 1u);

  // The writer goes on storing, also for the deleted run (its cache forgot it).
  Batch again;
  again.source = "test";
  again.events = load_events(logs[0]);
  writer.submit(std::move(again));
  writer.flush();
  auto count = writer.run_exclusive<int64_t>(
      [](Database& d) { return d.query_int("SELECT COUNT(*) FROM runs"); });
  EXPECT_EQ(*count.get(), 2);

  writer.stop();
  auto late = writer.run_exclusive<int64_t>([](Database&) -> Result<int64_t> { return 1; });
  auto r = late.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
}

} // namespace
} // namespace ca::store
