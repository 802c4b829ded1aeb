// A run's raw log as compressed blocks: byte-for-byte read-back of real cargo logs however they
// were batched, the per-run watermark (a resent prefix is skipped, a diverging line refused and
// never stored), and the migration of a schema-3 database (one row per line) to blocks.
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/raw_log.hpp"
#include "daemon/store/run_reader.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ca::store {
namespace {

namespace v1 = cargo_analysis::v1;

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(line);
  }
  return out;
}

std::vector<std::filesystem::path> corpus_logs() {
  std::vector<std::filesystem::path> out;
  for (const char* dir : {"corpus/A/logs", "corpus/C/logs"}) {
    for (const auto& e : std::filesystem::directory_iterator(test::fixture_path(dir))) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Lines [from, to) of a log, each at its line number, as a batch.
Batch batch_of(const std::vector<std::string>& lines, size_t from, size_t to) {
  codec::EventDecoder decoder;
  Batch b;
  b.source = "test";
  for (size_t i = from; i < to; ++i) {
    v1::Event e;
    EXPECT_TRUE(decoder.decode(lines[i], e));
    b.events.push_back(std::move(e));
    b.positions.push_back(i + 1);
  }
  return b;
}

class RawLogTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto db = Database::open(m_dir / "db.sqlite3", Database::Mode::read_write_create);
    ASSERT_TRUE(db) << db.error().message;
    m_db = std::move(*db);
    ASSERT_TRUE(migrate(*m_db));
    m_store = std::make_unique<EventStore>(*m_db);
  }

  BatchOutcome apply(const Batch& b) {
    Transaction tx(*m_db);
    auto r = m_store->apply(b);
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(tx.commit());
    return r ? *r : BatchOutcome{};
  }

  void end(const std::string& run_id) {
    Batch b;
    RunFacts f;
    f.run_id = run_id;
    f.ended = true;
    b.facts.push_back(f);
    apply(b);
  }

  std::vector<std::string> stored(const std::string& run_id) {
    auto reader = RunReader::open(m_dir / "db.sqlite3");
    EXPECT_TRUE(reader);
    auto lines = (*reader)->raw_lines(run_id);
    EXPECT_TRUE(lines) << lines.error().message;
    std::vector<std::string> out;
    for (size_t i = 0; i < lines->size(); ++i) {
      out.emplace_back(lines->line(i));
    }
    return out;
  }

  int64_t blocks(const std::string& run_id) {
    return *m_db->query_int("SELECT COUNT(*) FROM raw_blocks b JOIN runs r ON r.id = b.run "
                            "WHERE r.run_id = '" +
                            run_id + "'");
  }

  test::TempDir m_dir;
  std::unique_ptr<Database> m_db;
  std::unique_ptr<EventStore> m_store;
};

std::string run_of(const std::filesystem::path& log) {
  return log.stem().string();
}

TEST_F(RawLogTest, EveryCorpusLogReadsBackByteForByteHoweverItWasBatched) {
  size_t step = 1;
  for (const auto& log : corpus_logs()) {
    auto lines = read_lines(log);
    ASSERT_FALSE(lines.empty());
    // Batches of 1, 7, 49, ... lines: one block per batch while the run streams in.
    step = step * 7 % 400 + 1;
    for (size_t at = 0; at < lines.size(); at += step) {
      auto r = apply(batch_of(lines, at, std::min(lines.size(), at + step)));
      EXPECT_EQ(r.inserted, std::min(lines.size(), at + step) - at);
    }
    EXPECT_EQ(stored(run_of(log)), lines) << log;
    // Once the run ends its blocks become one, and still read back the same.
    end(run_of(log));
    EXPECT_EQ(blocks(run_of(log)), 1) << log;
    EXPECT_EQ(stored(run_of(log)), lines) << log;
    // The watermark: every line taken, and the rolling hash of exactly these lines.
    uint64_t hash = k_roll_hash_seed;
    for (const auto& l : lines) {
      hash = roll_hash(hash, l);
    }
    EXPECT_EQ(*m_db->query_int("SELECT raw_last FROM runs WHERE run_id = '" + run_of(log) + "'"),
              static_cast<int64_t>(lines.size()));
    EXPECT_EQ(static_cast<uint64_t>(*m_db->query_int("SELECT raw_hash FROM runs WHERE run_id = '" +
                                                     run_of(log) + "'")),
              hash);
  }
}

// A back-fill of thousands of logs must not keep a cached row per run: an ended run's is dropped,
// and a line that still comes for it reads the row again (and is deduplicated against it).
TEST_F(RawLogTest, AnEndedRunLeavesTheWritersCacheAndAResendIsStillSkipped) {
  const auto log = corpus_logs().front();
  const auto lines = read_lines(log);
  apply(batch_of(lines, 0, lines.size()));
  EXPECT_EQ(m_store->cached_runs(), 1u);
  end(run_of(log));
  EXPECT_EQ(m_store->cached_runs(), 0u);
  auto again = apply(batch_of(lines, 0, 10));
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(stored(run_of(log)), lines);
}

TEST_F(RawLogTest, AResentPrefixIsSkippedAndTheRestIsTaken) {
  auto log = corpus_logs().back();
  auto lines = read_lines(log);
  ASSERT_GT(lines.size(), 100u);
  auto first = apply(batch_of(lines, 0, 100));
  EXPECT_EQ(first.inserted, 100u);
  // The producer starts over from line 1 (a resend after a reconnect): only the new lines count.
  auto again = apply(batch_of(lines, 0, lines.size()));
  EXPECT_EQ(again.inserted, lines.size() - 100);
  EXPECT_EQ(again.duplicates, 100u);
  EXPECT_EQ(again.diverged, 0u);
  // And once more, all of it, after the run ended: nothing new, nothing counted twice.
  end(run_of(log));
  auto third = apply(batch_of(lines, 0, lines.size()));
  EXPECT_EQ(third.inserted, 0u);
  EXPECT_EQ(third.duplicates, lines.size());
  EXPECT_EQ(stored(run_of(log)), lines);
  EXPECT_EQ(*m_db->query_int("SELECT events FROM runs"), static_cast<int64_t>(lines.size()));
}

TEST_F(RawLogTest, ALineThatDiffersFromWhatIsStoredAtItsPositionIsRefusedAndNamed) {
  auto log = corpus_logs().front();
  auto lines = read_lines(log);
  apply(batch_of(lines, 0, lines.size()));
  // Line 3 again with other bytes (another cargo's line under the same run id and position).
  auto forged = lines;
  forged[2].insert(forged[2].size() - 1, ",\"extra\":1");
  auto r = apply(batch_of(forged, 0, 5));
  EXPECT_EQ(r.inserted, 0u);
  EXPECT_EQ(r.duplicates, 4u);
  EXPECT_EQ(r.diverged, 1u);
  ASSERT_EQ(r.divergences.size(), 1u);
  EXPECT_EQ(r.divergences[0].position, 3u);
  EXPECT_EQ(r.divergences[0].message,
            "run " + run_of(log) + " line 3: differs from the line stored at that position; " +
                "not stored (the run has lines up to " + std::to_string(lines.size()) + ")");
  EXPECT_EQ(stored(run_of(log)), lines);
}

TEST_F(RawLogTest, PositionsMaySkipRejectedLinesAndStillRoundTrip) {
  auto lines = read_lines(corpus_logs().front());
  // Every third line "rejected" by the producer: its number is skipped.
  Batch b = batch_of(lines, 0, lines.size());
  Batch kept;
  std::vector<std::string> expected;
  for (size_t i = 0; i < b.events.size(); ++i) {
    if (i % 3 != 1) {
      kept.events.push_back(b.events[i]);
      kept.positions.push_back(b.positions[i]);
      expected.push_back(lines[i]);
    }
  }
  EXPECT_EQ(apply(kept).inserted, expected.size());
  EXPECT_EQ(stored(run_of(corpus_logs().front())), expected);
  // A line at a skipped position is not taken later: that place was decided.
  Batch late = batch_of(lines, 1, 2);
  auto r = apply(late);
  EXPECT_EQ(r.inserted, 0u);
  EXPECT_EQ(r.diverged, 1u);
}

TEST_F(RawLogTest, LinesWithoutPositionsAreDeduplicatedByContent) {
  auto lines = read_lines(corpus_logs().front());
  Batch b = batch_of(lines, 0, lines.size());
  b.positions.clear();
  EXPECT_EQ(apply(b).inserted, lines.size());
  auto again = apply(b);
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(again.duplicates, lines.size());
  EXPECT_EQ(stored(run_of(corpus_logs().front())), lines);
}

TEST(RawBlocks, PositionsEncodeAndDecode) {
  std::vector<uint64_t> p{5, 6, 7, 200, 201, 100000, 100001};
  auto decoded = decode_positions(encode_positions(p), p.front());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, p);
  EXPECT_FALSE(decode_positions("\x80", 1)); // a varint cut short
}

TEST(RawBlocks, ACorruptBlockIsAnErrorThatNamesIt) {
  auto r = zstd_decompress("not zstd", "raw block at line 1 of run row 7");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("raw block at line 1 of run row 7"), std::string::npos);
  auto frame = zstd_compress("a line\n", 1);
  auto ok = zstd_decompress(frame, "x");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "a line\n");
}

// A database as schema version 3 left it: a row per line in `events`, reports uncompressed.
TEST(RawLogMigration, FromSchemaThreeKeepsEveryLineByteForByteAndEveryReport) {
  test::TempDir dir;
  auto opened = Database::open(dir / "db.sqlite3", Database::Mode::read_write_create);
  ASSERT_TRUE(opened);
  auto& db = **opened;
  ASSERT_TRUE(migrate_to(db, 3));
  std::map<std::string, std::vector<std::string>> logs;
  int64_t id = 0;
  for (const auto& log : corpus_logs()) {
    auto lines = read_lines(log);
    logs[run_of(log)] = lines;
    ++id;
    // As version 3's EventStore wrote them (runs row, then one `events` row per line).
    ASSERT_TRUE(db.exec("INSERT INTO runs(id, run_id, session_id, workspace_hash, start_unix_ms, "
                        "events, state) VALUES (" +
                        std::to_string(id) + ", '" + run_of(log) + "', '" + run_of(log) +
                        "', 'h', 0, " + std::to_string(lines.size()) + ", 'completed')"));
    auto* ins = *db.prepare_cached("INSERT INTO events(run, seq, line_hash, reason, unix_ns, raw) "
                                   "VALUES (?1, ?2, ?3, 'r', 0, ?4)");
    for (size_t i = 0; i < lines.size(); ++i) {
      auto g = ins->bind(id, static_cast<int64_t>(i), static_cast<int64_t>(i * 7919), lines[i]);
      ASSERT_TRUE(ins->run());
    }
    auto* rep = *db.prepare_cached("INSERT INTO run_reports(run, kind, format, events, state, "
                                   "body) VALUES (?1, 1, 1, ?2, 'completed', ?3)");
    std::string body = "report of " + run_of(log) + std::string(1000, '\x01');
    auto g = rep->bind(id, static_cast<int64_t>(lines.size()), Blob{body});
    ASSERT_TRUE(rep->run());
  }
  ASSERT_TRUE(db.exec("INSERT INTO sources(path, inode, offset, run_id, updated_ms) VALUES "
                      "('/l/x.jsonl', 1, 10, '" +
                      logs.begin()->first + "', 0)"));

  auto m = migrate(db);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*db.query_int("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events'"), 0);
  EXPECT_EQ(*db.query_int("SELECT line FROM sources"),
            static_cast<int64_t>(logs.begin()->second.size()));
  auto reader = RunReader::open(dir / "db.sqlite3");
  ASSERT_TRUE(reader);
  for (const auto& [run_id, lines] : logs) {
    auto raw = (*reader)->raw_lines(run_id);
    ASSERT_TRUE(raw) << raw.error().message;
    std::vector<std::string> got;
    for (size_t i = 0; i < raw->size(); ++i) {
      got.emplace_back(raw->line(i));
    }
    EXPECT_EQ(got, lines) << run_id;
    auto runs = (*reader)->session_runs(run_id);
    ASSERT_TRUE(runs);
    ASSERT_EQ(runs->size(), 1u);
    auto report = (*reader)->stored_report(runs->front(), 1, 1);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_TRUE(report->has_value()) << run_id;
    EXPECT_EQ(**report, "report of " + run_id + std::string(1000, '\x01'));
  }
  // A migrated run takes its resent lines as duplicates.
  EventStore store(db);
  const auto& [first_run, first_lines] = *logs.begin();
  Transaction tx(db);
  auto r = store.apply(batch_of(first_lines, 0, first_lines.size()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->inserted, 0u);
  EXPECT_EQ(r->duplicates, first_lines.size());
}

} // namespace
} // namespace ca::store
