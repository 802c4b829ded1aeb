// The store: migrations, idempotent ingestion, reopen, run end states.
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <google/protobuf/arena.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <string_view>
#include <thread>

namespace ca::store {
namespace {

namespace v1 = cargo_analysis::v1;

constexpr const char* k_clean_build = "corpus/A/logs/20261123T062716161Z-28b99174ef2c2ad6.jsonl";
constexpr const char* k_touch_build = "corpus/A/logs/20261123T062733765Z-28b99174ef2c2ad6.jsonl";

std::vector<v1::Event> load_events(const std::string& fixture) {
  std::ifstream in(test::fixture_path(fixture));
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

std::unique_ptr<Database> open_migrated(const std::filesystem::path& path) {
  auto db = Database::open(path, Database::Mode::read_write_create);
  EXPECT_TRUE(db) << db.error().message;
  auto m = migrate(**db);
  EXPECT_TRUE(m) << m.error().message;
  return std::move(*db);
}

Result<BatchOutcome> apply(Database& db, EventStore& store, const Batch& batch) {
  Transaction tx(db);
  auto r = store.apply(batch);
  if (r) {
    CA_TRY(tx.commit());
  }
  return r;
}

TEST(Migrations, FromEmptyFileReachesCurrentVersion) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EXPECT_EQ(*db->query_int("PRAGMA user_version"), current_schema_version());
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                           "('runs', 'units', 'raw_blocks', 'sources')"),
            4);
  auto* mode = *db->prepare_cached("PRAGMA journal_mode");
  auto g = mode->bind();
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST(Migrations, EveryPastVersionMigratesToCurrent) {
  for (const Migration& m : migrations()) {
    test::TempDir dir;
    auto db = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate_to(**db, m.version));
    EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), m.version);
    ASSERT_TRUE(migrate(**db));
    EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), current_schema_version());
  }
}

TEST(Migrations, FromThreeThroughFourAndFiveGivesUnitsTheirFeaturesAndTheTargetIndex) {
  test::TempDir dir;
  auto db = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate_to(**db, 3));
  ASSERT_TRUE(migrate_to(**db, 4));
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 4);
  ASSERT_TRUE(migrate_to(**db, 5));
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 5);
  EXPECT_EQ(*(*db)->query_int("SELECT COUNT(*) FROM pragma_table_info('units') "
                              "WHERE name = 'features'"),
            1);
  EXPECT_EQ(*(*db)->query_int("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                              "'unit_keys_by_target'"),
            1);
}

TEST(Migrations, RefusesNewerDatabaseWithoutTouchingIt) {
  test::TempDir dir;
  {
    auto db = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec("CREATE TABLE future(x); PRAGMA user_version = 999"));
  }
  auto db = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
  ASSERT_TRUE(db);
  auto r = migrate(**db);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::failed_precondition);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 999);
  EXPECT_EQ(*(*db)->query_int("SELECT COUNT(*) FROM sqlite_master WHERE name = 'runs'"), 0);
}

TEST(EventStore, StoresRunUnitsAndCounters) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  Batch b;
  b.source = "test";
  b.events = load_events(k_clean_build);
  auto r = apply(*db, store, b);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->inserted, b.events.size());
  EXPECT_EQ(r->duplicates, 0u);
  EXPECT_EQ(*db->query_int("SELECT units_total FROM runs"), 88);
  EXPECT_EQ(*db->query_int("SELECT units_new FROM runs"), 88);
  EXPECT_EQ(*db->query_int("SELECT units_fresh FROM runs"), 0);
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM units WHERE finish IS NOT NULL"),
            *db->query_int("SELECT units_finished FROM runs"));
  EXPECT_EQ(*db->query_int("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks"),
            static_cast<int64_t>(b.events.size()));
  // Features as cargo lists them; a unit without features has none, not unknown ones.
  auto reader = RunReader::open(dir / "db.sqlite3");
  ASSERT_TRUE(reader);
  auto units = (*reader)->units("20261123T062716161Z-28b99174ef2c2ad6");
  ASSERT_TRUE(units);
  ASSERT_EQ(units->size(), 88u);
  EXPECT_EQ((*units)[0].name, "aho-corasick");
  EXPECT_TRUE((*units)[0].features_known);
  EXPECT_EQ((*units)[0].features, (std::vector<std::string>{"default", "std"}));
  EXPECT_EQ(*db->query_int("SELECT COUNT(*) FROM units WHERE features IS NULL"), 0);
}

TEST(EventStore, SameLinesTwiceChangeNothing) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  Batch b;
  b.events = load_events(k_touch_build);
  ASSERT_TRUE(apply(*db, store, b));
  auto before =
      *db->query_int("SELECT units_total + units_dirty * 1000 + events * 100000 FROM runs");
  // Again through a fresh EventStore (as after a restart) and through the same one.
  EventStore other(*db);
  auto again = apply(*db, other, b);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->inserted, 0u);
  EXPECT_EQ(again->duplicates, b.events.size());
  ASSERT_TRUE(apply(*db, store, b));
  EXPECT_EQ(*db->query_int("SELECT units_total + units_dirty * 1000 + events * 100000 FROM runs"),
            before);
  EXPECT_EQ(*db->query_int("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks"),
            static_cast<int64_t>(b.events.size()));
}

TEST(EventStore, ReopenedDatabaseKeepsEverything) {
  test::TempDir dir;
  auto events = load_events(k_touch_build);
  {
    auto db = open_migrated(dir / "db.sqlite3");
    EventStore store(*db);
    Batch b;
    b.events = events;
    ASSERT_TRUE(apply(*db, store, b));
  }
  auto reader = RunReader::open(dir / "db.sqlite3");
  ASSERT_TRUE(reader);
  auto run = (*reader)->run("20261123T062733765Z-28b99174ef2c2ad6");
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->workspace_root(), "/tmp/corpus/wsA");
  EXPECT_EQ(run->command_line(), "cargo build");
  EXPECT_EQ(run->units_dirty(), 3u);
  EXPECT_EQ(run->units_fresh(), 85u);
  auto stored = (*reader)->events(run->run_id());
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ((*stored)[i].raw(), events[i].raw());
  }
}

TEST(EventStore, ArenaReadDecodesOnlyTheReasonsAskedAndCountsEveryLine) {
  test::TempDir dir;
  auto events = load_events(k_touch_build);
  {
    auto db = open_migrated(dir / "db.sqlite3");
    EventStore store(*db);
    Batch b;
    b.events = events;
    ASSERT_TRUE(apply(*db, store, b));
  }
  auto reader = RunReader::open(dir / "db.sqlite3");
  ASSERT_TRUE(reader);
  const std::string run_id = "20261123T062733765Z-28b99174ef2c2ad6";
  auto run = (*reader)->run(run_id);
  ASSERT_TRUE(run) << run.error().message;

  google::protobuf::Arena arena;
  auto all = (*reader)->events(run_id, arena);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->stored, events.size());
  EXPECT_EQ(all->stored, run->events());
  ASSERT_EQ(all->events.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(all->events[i]->GetArena(), &arena);
    EXPECT_EQ(all->events[i]->raw(), events[i].raw());
    EXPECT_EQ(all->events[i]->SerializeAsString(), events[i].SerializeAsString());
  }

  constexpr std::string_view k_reasons[] = {"unit-fingerprint", "build-started"};
  auto some = (*reader)->events(run_id, arena, k_reasons);
  ASSERT_TRUE(some) << some.error().message;
  EXPECT_EQ(some->stored, events.size());
  std::vector<const v1::Event*> expected;
  for (const v1::Event& e : events) {
    if (e.reason() == "unit-fingerprint" || e.reason() == "build-started") {
      expected.push_back(&e);
    }
  }
  ASSERT_EQ(some->events.size(), expected.size());
  ASSERT_GT(expected.size(), 1U);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(some->events[i]->raw(), expected[i]->raw());
  }

  auto none = (*reader)->events("20261123T000000000Z-0000000000000000", arena);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->stored, 0U);
  EXPECT_TRUE(none->events.empty());
}

TEST(EventStore, FactsDecideTheEndState) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  auto events = load_events(k_touch_build);
  // Drop the last unit-finished: a unit started and never finished.
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (it->has_unit_finished()) {
      events.erase(std::next(it).base());
      break;
    }
  }
  Batch b;
  b.events = events;
  RunFacts f;
  f.run_id = events.front().run_id();
  f.ended = true;
  b.facts.push_back(f);
  ASSERT_TRUE(apply(*db, store, b));
  auto reader = RunReader::open(dir / "db.sqlite3");
  EXPECT_EQ((*reader)->run(f.run_id)->state(), "failed");
}

TEST(FinalState, Rules) {
  EXPECT_EQ(final_state(false, 10, 3, 3, std::nullopt), "completed");
  EXPECT_EQ(final_state(false, 10, 3, 2, std::nullopt), "failed");
  EXPECT_EQ(final_state(false, 10, 3, 3, 101), "failed");
  EXPECT_EQ(final_state(true, 10, 3, 3, 0), "interrupted");
  EXPECT_EQ(final_state(false, 0, 0, 0, std::nullopt), "interrupted");
}

TEST(Writer, CommitsBatchesAndCallsBack) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  Writer writer(std::move(db));
  auto events = load_events(k_clean_build);
  std::atomic<uint64_t> inserted{0};
  for (size_t start = 0; start < events.size(); start += 50) {
    Batch b;
    b.events.assign(events.begin() + static_cast<long>(start),
                    events.begin() + static_cast<long>(std::min(start + 50, events.size())));
    b.on_done = [&](const Result<BatchOutcome>& r) {
      ASSERT_TRUE(r);
      inserted += r->inserted;
    };
    writer.submit(std::move(b));
  }
  writer.flush();
  EXPECT_EQ(inserted.load(), events.size());
  EXPECT_EQ(writer.stats().events_stored, events.size());
}

TEST(Writer, BadRunIdFailsOnlyItsBatch) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  Writer writer(std::move(db));
  Batch bad;
  bad.events.emplace_back().set_run_id("not-a-run-id");
  std::optional<bool> bad_ok;
  bad.on_done = [&](const Result<BatchOutcome>& r) { bad_ok = r.has_value(); };
  Batch good;
  good.events = load_events(k_touch_build);
  std::optional<bool> good_ok;
  good.on_done = [&](const Result<BatchOutcome>& r) { good_ok = r.has_value(); };
  writer.submit(std::move(bad));
  writer.submit(std::move(good));
  writer.flush();
  EXPECT_EQ(bad_ok, std::optional<bool>(false));
  EXPECT_EQ(good_ok, std::optional<bool>(true));
}

// A gate that holds the writer thread in a maintenance task until opened.
class WriterGate {
public:
  explicit WriterGate(Writer& writer) {
    (void)writer.run_exclusive<int>([f = m_open.get_future().share()](Database&) -> Result<int> {
      f.wait();
      return 0;
    });
  }
  void open() { m_open.set_value(); }

private:
  std::promise<void> m_open;
};

TEST(Writer, TrySubmitRefusesAFullQueueWithoutBlockingAndCallsBackOnceThereIsRoom) {
  test::TempDir dir;
  Writer writer(open_migrated(dir / "db.sqlite3"), Writer::Options{1, 50000});
  auto events = load_events(k_clean_build);
  WriterGate gate(writer); // nothing commits until it opens: the queue stays full
  Batch first;
  first.events.assign(events.begin(), events.begin() + 10);
  EXPECT_TRUE(writer.try_submit(first, [] { FAIL() << "no wait when there is room"; }));

  Batch second;
  second.events.assign(events.begin() + 10, events.end());
  std::promise<void> room;
  EXPECT_FALSE(writer.try_submit(second, [&] { room.set_value(); })); // returns at once
  EXPECT_EQ(second.events.size(), events.size() - 10);                // left as it was

  gate.open();
  room.get_future().wait(); // the first batch committed
  std::optional<bool> stored;
  second.on_done = [&](const Result<BatchOutcome>& r) { stored = r.has_value(); };
  EXPECT_TRUE(writer.try_submit(second, [] {}));
  writer.flush();
  EXPECT_EQ(stored, std::optional<bool>(true));
  EXPECT_EQ(writer.stats().events_stored, events.size());
}

TEST(Writer, TrySubmitWaitersAreWokenByStopAndTheirBatchIsRefused) {
  test::TempDir dir;
  Writer writer(open_migrated(dir / "db.sqlite3"), Writer::Options{1, 50000});
  auto events = load_events(k_clean_build);
  WriterGate gate(writer);
  Batch first;
  first.events.assign(events.begin(), events.begin() + 10);
  ASSERT_TRUE(writer.try_submit(first, [] {}));
  Batch second;
  second.events.push_back(events[10]);
  bool woken = false;
  ASSERT_FALSE(writer.try_submit(second, [&] { woken = true; }));
  std::thread stopper([&] { writer.stop(); });
  gate.open();
  stopper.join();
  EXPECT_TRUE(woken);
  std::optional<ErrorCode> refused;
  second.on_done = [&](const Result<BatchOutcome>& r) {
    refused = r ? std::nullopt : std::optional(r.error().code);
  };
  EXPECT_TRUE(writer.try_submit(second, [] { FAIL() << "never waits after stop"; }));
  EXPECT_EQ(refused, std::optional(ErrorCode::unavailable));
}

} // namespace
} // namespace ca::store

namespace ca::store {
namespace {

TEST(Sessions, ChildSeenBeforeItsParentJoinsTheParentsSessionWhenItArrives) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  const std::string parent = "20261123T062716161Z-28b99174ef2c2ad6";
  const std::string child = "20261123T062716500Z-1111111111111111";
  const std::string grandchild = "20261123T062716600Z-2222222222222222";
  Batch first;
  first.facts.push_back(RunFacts{.run_id = grandchild, .parent_run_id = child, .link = "ancestry"});
  first.facts.push_back(RunFacts{.run_id = child, .parent_run_id = parent, .link = "ancestry"});
  ASSERT_TRUE(apply(*db, store, first));
  Batch second;
  second.facts.push_back(
      RunFacts{.run_id = parent, .session_id = "S-outer", .link = "environment"});
  ASSERT_TRUE(apply(*db, store, second));
  auto reader = RunReader::open(dir / "db.sqlite3");
  auto runs = (*reader)->session_runs("S-outer");
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*reader)->run(grandchild)->session_id(), "S-outer");
  EXPECT_EQ((*reader)->run(grandchild)->parent_run_id(), child);
  EXPECT_EQ((*reader)->run(child)->link(), "ancestry");
}

TEST(Sessions, KnownParentDecidesTheSession) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  const std::string parent = "20261123T062716161Z-28b99174ef2c2ad6";
  const std::string child = "20261123T062716500Z-1111111111111111";
  Batch b;
  b.facts.push_back(RunFacts{.run_id = parent, .session_id = "S1"});
  b.facts.push_back(RunFacts{.run_id = child, .session_id = child, .parent_run_id = parent});
  ASSERT_TRUE(apply(*db, store, b));
  auto reader = RunReader::open(dir / "db.sqlite3");
  EXPECT_EQ((*reader)->run(child)->session_id(), "S1");
  // A run is never its own parent.
  Batch self;
  self.facts.push_back(RunFacts{.run_id = parent, .parent_run_id = parent});
  ASSERT_TRUE(apply(*db, store, self));
  EXPECT_EQ((*reader)->run(parent)->parent_run_id(), "");
}

TEST(Sessions, LateExitCodeRefinesAnEndedRun) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  Batch b;
  b.events = load_events(k_touch_build);
  b.facts.push_back(RunFacts{.run_id = b.events.front().run_id(), .ended = true});
  ASSERT_TRUE(apply(*db, store, b));
  auto reader = RunReader::open(dir / "db.sqlite3");
  const std::string id = b.events.front().run_id();
  EXPECT_EQ((*reader)->run(id)->state(), "completed");
  Batch late;
  late.facts.push_back(RunFacts{.run_id = id, .exit_code = 101});
  ASSERT_TRUE(apply(*db, store, late));
  EXPECT_EQ((*reader)->run(id)->state(), "failed");
  EXPECT_EQ((*reader)->run(id)->exit_code(), 101);
}

TEST(Sessions, LateExitCodeKeepsACutLogInterrupted) {
  test::TempDir dir;
  auto db = open_migrated(dir / "db.sqlite3");
  EventStore store(*db);
  Batch b;
  b.events = load_events(k_touch_build);
  const std::string id = b.events.front().run_id();
  b.facts.push_back(RunFacts{.run_id = id, .ended = true, .log_truncated = true});
  ASSERT_TRUE(apply(*db, store, b));
  Batch late;
  late.facts.push_back(RunFacts{.run_id = id, .exit_code = 0});
  ASSERT_TRUE(apply(*db, store, late));
  auto reader = RunReader::open(dir / "db.sqlite3");
  EXPECT_EQ((*reader)->run(id)->state(), "interrupted");
}

} // namespace
} // namespace ca::store
