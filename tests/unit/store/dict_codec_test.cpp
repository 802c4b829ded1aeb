// Compression against a workspace's dictionary (daemon/store/dict_codec.hpp): a run like an
// earlier one of its workspace costs only what changed; every frame reads back byte for byte; a
// missing dictionary is an error that names it; the garbage collection drops only dictionaries
// that nothing uses any more.
#include "daemon/store/database.hpp"
#include "daemon/store/dict_codec.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/raw_log.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace ca::store {
namespace {

std::string corpus_c_log() {
  for (const auto& e : std::filesystem::directory_iterator(test::fixture_path("corpus/C/logs"))) {
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return {};
}

// The same build logged again under another run id: every line differs from the first log.
std::string replayed(std::string log, const std::string& new_id) {
  const std::string old_id = log.substr(log.find("\"run_id\":\"") + 10, new_id.size());
  for (size_t at = log.find(old_id); at != std::string::npos; at = log.find(old_id, at)) {
    log.replace(at, old_id.size(), new_id);
  }
  return log;
}

// 64 KiB that neither compress well nor look like a cargo log.
std::string unlike_any_log() {
  std::string out;
  uint64_t x = 88172645463325252ULL;
  while (out.size() < 64 * 1024) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += std::to_string(x) + (x % 5 == 0 ? "\n" : " ");
  }
  return out;
}

class DictCodecTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto db = Database::open(m_dir / "db.sqlite3", Database::Mode::read_write_create);
    ASSERT_TRUE(db) << db.error().message;
    m_db = std::move(*db);
    ASSERT_TRUE(migrate(*m_db));
    m_log = corpus_c_log();
    ASSERT_GT(m_log.size(), 100'000u);
  }

  // What a second connection reads back (its own dictionary cache, empty).
  std::string read_back(const Packed& p) {
    auto other = Database::open(m_dir / "db.sqlite3", Database::Mode::read_only);
    EXPECT_TRUE(other);
    auto bytes = unpack(**other, p.dict, p.data, "test frame");
    EXPECT_TRUE(bytes) << bytes.error().message;
    return bytes ? *bytes : std::string();
  }

  test::TempDir m_dir;
  std::unique_ptr<Database> m_db;
  std::string m_log;
};

TEST_F(DictCodecTest, ALaterRunOfTheWorkspaceCostsOnlyWhatChanged) {
  const size_t plain = zstd_compress(m_log, k_compact_level).size();
  auto first = pack(*m_db, raw_scope("/ws"), m_log, k_compact_level);
  ASSERT_TRUE(first) << first.error().message;
  // The first run becomes the dictionary, kept once beside its own (near-empty) frame.
  EXPECT_NE(first->dict, 0);
  EXPECT_LT(first->data.size(), 1000u);
  EXPECT_EQ(read_back(*first), m_log);

  const std::string second_log = replayed(m_log, "20261201T000000000Z-0123456789abcdef");
  auto second = pack(*m_db, raw_scope("/ws"), second_log, k_compact_level);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->dict, first->dict);
  EXPECT_LT(second->data.size() * 4, plain) << "plain " << plain;
  EXPECT_EQ(read_back(*second), second_log);
  std::printf("corpus C log: %zu bytes, plain zstd %zu, against the workspace's dictionary %zu\n",
              m_log.size(), plain, second->data.size());

  // Another workspace gets its own dictionary.
  auto elsewhere = pack(*m_db, raw_scope("/other"), second_log, k_compact_level);
  ASSERT_TRUE(elsewhere);
  EXPECT_NE(elsewhere->dict, first->dict);
  EXPECT_EQ(read_back(*elsewhere), second_log);
}

TEST_F(DictCodecTest, BytesUnlikeEveryDictionaryMakeANewOneAndSmallOnesNever) {
  auto first = pack(*m_db, raw_scope("/ws"), m_log, k_compact_level);
  ASSERT_TRUE(first);
  // Small bytes never become a dictionary: plain when the dictionary does not help.
  auto small = pack(*m_db, raw_scope("/ws"), std::string(100, 'x'), k_compact_level);
  ASSERT_TRUE(small);
  EXPECT_EQ(*m_db->query_int("SELECT COUNT(*) FROM zstd_dicts"), 1);
  EXPECT_EQ(read_back(*small), std::string(100, 'x'));
  // A large text unlike the log: a new dictionary of the same scope.
  const std::string other = unlike_any_log();
  auto unlike = pack(*m_db, raw_scope("/ws"), other, k_compact_level);
  ASSERT_TRUE(unlike);
  EXPECT_GT(unlike->dict, first->dict);
  EXPECT_EQ(read_back(*unlike), other);
  // The log again: its old dictionary is still tried, and still fits.
  auto again = pack(*m_db, raw_scope("/ws"), m_log, k_compact_level);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->dict, first->dict);
}

TEST_F(DictCodecTest, AMissingDictionaryIsAnErrorThatNamesIt) {
  auto first = pack(*m_db, raw_scope("/ws"), m_log, k_compact_level);
  ASSERT_TRUE(first);
  ASSERT_TRUE(m_db->exec("DELETE FROM zstd_dicts"));
  auto other = Database::open(m_dir / "db.sqlite3", Database::Mode::read_only);
  ASSERT_TRUE(other);
  auto bytes = unpack(**other, first->dict, first->data, "raw block of run 7");
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("dictionary " + std::to_string(first->dict) + " is missing"),
            std::string::npos)
      << bytes.error().message;
  // A frame that is not zstd names what it was.
  auto garbage = unpack(*m_db, 0, "not zstd", "raw block of run 7");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("raw block of run 7"), std::string::npos);
}

TEST_F(DictCodecTest, GarbageCollectionKeepsTheNewestOfEachScopeAndEveryOneInUse) {
  const std::string other = unlike_any_log();
  auto a = pack(*m_db, raw_scope("/ws"), m_log, k_compact_level);       // dict 1, used below
  auto b = pack(*m_db, raw_scope("/ws"), other, k_compact_level);       // dict 2, newest
  auto c = pack(*m_db, report_scope(2, "/ws"), other, k_compact_level); // dict 3, newest
  auto d = pack(*m_db, report_scope(2, "/ws"), m_log, k_compact_level); // dict 4, unused, newest
  ASSERT_TRUE(a && b && c && d);
  ASSERT_EQ(*m_db->query_int("SELECT COUNT(*) FROM zstd_dicts"), 4);
  ASSERT_TRUE(m_db->exec("INSERT INTO runs(run_id, session_id, workspace_hash, start_unix_ms) "
                         "VALUES ('r', 's', 'h', 1)"));
  ASSERT_TRUE(m_db->exec("INSERT INTO raw_blocks(run, first_line, last_line, lines, raw_bytes, "
                         "data, dict) SELECT id, 1, 1, 1, 1, x'00', " +
                         std::to_string(a->dict) + " FROM runs"));
  auto deleted = delete_unused_dicts(*m_db);
  ASSERT_TRUE(deleted) << deleted.error().message;
  // Dict 3 is neither used nor the newest of its scope; the others stay.
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ(
      *m_db->query_int("SELECT COUNT(*) FROM zstd_dicts WHERE id = " + std::to_string(c->dict)), 0);
  EXPECT_EQ(read_back(*a), m_log);
}

} // namespace
} // namespace ca::store
