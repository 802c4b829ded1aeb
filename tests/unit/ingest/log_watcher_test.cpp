// The log-directory watcher, for real: inotify on a temp dir, a real Writer on a real SQLite
// file, real cargo logs from the corpus, and a real flock held by the test where cargo would
// hold it. Nothing sleeps blindly: every wait polls the database (or a counter) with a deadline.
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/ingest/log_watcher.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/migrations.hpp"
#include "daemon/store/raw_log.hpp"
#include "daemon/store/run_reader.hpp"
#include "daemon/store/writer.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace ca::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_corpus = "corpus/A/logs";
constexpr const char* k_clean = "20261123T062716161Z-28b99174ef2c2ad6"; // 402 lines, 81 KiB
constexpr const char* k_touch = "20261123T062733765Z-28b99174ef2c2ad6"; // 189 lines
constexpr const char* k_noop = "20261123T062731277Z-28b99174ef2c2ad6";  // 181 lines
// A run id no corpus file has, for files the test makes up.
constexpr const char* k_made_up = "20261124T101010101Z-0123456789abcdef";

std::string corpus(const std::string& run_id) {
  return test::read_file(test::fixture_path(std::string(k_corpus) + "/" + run_id + ".jsonl"));
}

// `lines` as a log, with `extra` put in after the first `after` of them.
std::string
with_line_after(const std::vector<std::string>& lines, size_t after, const std::string& extra) {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == after) {
      text += extra + "\n";
    }
    text += lines[i] + "\n";
  }
  return text;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', start)) {
    out.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// `text`'s lines with run id `from` changed to `to`, as if another run of that id wrote them.
std::string retag(const std::string& text, std::string_view from, std::string_view to) {
  std::string out;
  for (auto& line : lines_of(text)) {
    auto at = line.find(from);
    EXPECT_NE(at, std::string::npos) << line;
    out += line.replace(at, from.size(), to) + "\n";
  }
  return out;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// A log written whole, as cargo writes one: created, locked, written, unlocked, closed. Without
// `lock`, it is written on a descriptor that takes no lock (the lock may be another's).
void write_file(const fs::path& path, std::string_view data, bool lock = true) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  if (lock) {
    EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0) << path << ": " << std::strerror(errno);
  }
  write_all(fd, data);
  ::flock(fd, LOCK_UN);
  ::close(fd);
}

// What cargo's logger does to its file: create it, hold an exclusive flock while writing, and
// at the end unlock, then close.
class FakeCargo {
public:
  explicit FakeCargo(const fs::path& path) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    EXPECT_GE(m_fd, 0) << path << ": " << std::strerror(errno);
    EXPECT_EQ(::flock(m_fd, LOCK_EX), 0);
  }
  ~FakeCargo() { finish(); }
  FakeCargo(const FakeCargo&) = delete;
  FakeCargo& operator=(const FakeCargo&) = delete;

  void write(std::string_view data) { write_all(m_fd, data); }
  void finish() {
    if (m_fd >= 0) {
      ::flock(m_fd, LOCK_UN);
      ::close(m_fd);
      m_fd = -1;
    }
  }

private:
  int m_fd = -1;
};

class LogWatcherTest : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(m_logs);
    open_writer();
  }
  void TearDown() override { stop(); }

  void open_writer() {
    auto db = store::Database::open(m_db, store::Database::Mode::read_write_create);
    ASSERT_TRUE(db) << db.error().message;
    auto m = store::migrate(**db);
    ASSERT_TRUE(m) << m.error().message;
    m_writer = std::make_unique<store::Writer>(std::move(*db));
  }

  void start(std::vector<fs::path> dirs = {}) {
    LogWatcher::Options options;
    options.dirs = dirs.empty() ? std::vector<fs::path>{m_logs} : std::move(dirs);
    options.stored_checkpoints = [db = m_db]() -> Result<std::vector<store::WatchedFile>> {
      CA_TRY_ASSIGN(auto reader, store::RunReader::open(db));
      return reader->watched_files();
    };
    options.on_new_file = m_on_new_file;
    if (m_short_retries) {
      options.lock_retry_delays = {1ms, 2ms, 5ms};
    }
    if (m_create_to_lock_delays) {
      options.create_to_lock_delays = *m_create_to_lock_delays;
    }
    m_watcher = std::make_unique<LogWatcher>(std::move(options), *m_writer, m_stats);
    auto r = m_watcher->start();
    ASSERT_TRUE(r) << r.error().message;
  }

  // The watcher stops before the writer, as in the daemon.
  void stop() {
    m_watcher.reset();
    m_writer.reset();
  }

  void restart() {
    stop();
    open_writer();
    start();
  }

  // Polls `pred` every `interval` until it holds or `timeout` passes.
  static bool eventually(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = 10s,
                         std::chrono::microseconds interval = 10ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(interval);
    }
    return true;
  }

  // A connection of the test's own, as a report would use.
  std::unique_ptr<store::Database> reader() {
    auto db = store::Database::open(m_db, store::Database::Mode::read_write_create);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  int64_t query_int(const std::string& sql) {
    auto db = reader();
    auto v = db->query_int(sql);
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : -1;
  }

  std::string state(const std::string& run_id) {
    auto db = reader();
    auto* s = *db->prepare_cached("SELECT state FROM runs WHERE run_id = ?1");
    auto g = s->bind(run_id);
    auto row = s->step();
    return row && *row ? s->column_text(0) : std::string("<no run>");
  }

  std::vector<std::string> stored_lines(const std::string& run_id) {
    auto db = reader();
    auto* s = *db->prepare_cached("SELECT id FROM runs WHERE run_id = ?1");
    auto g = s->bind(run_id);
    std::vector<std::string> out;
    if (!*s->step()) {
      return out;
    }
    store::RawBlock lines;
    EXPECT_TRUE(store::read_blocks(*db, s->column_int(0), lines));
    for (size_t i = 0; i < lines.size(); ++i) {
      out.emplace_back(lines.line(i));
    }
    return out;
  }

  int64_t events(const std::string& run_id) {
    return query_int(
        "SELECT COALESCE(SUM(b.lines), 0) FROM raw_blocks b JOIN runs r ON r.id = b.run "
        "WHERE r.run_id = '" +
        run_id + "'");
  }

  int64_t stored_offset(const fs::path& path) {
    return query_int("SELECT COALESCE((SELECT offset FROM sources WHERE path = '" + path.string() +
                     "'), -1)");
  }

  bool ended(const std::string& run_id) {
    auto s = state(run_id);
    return s != "in_progress" && s != "<no run>";
  }

  SourceCounters watcher_stats() const {
    for (const auto& c : m_stats.snapshot()) {
      if (c.name == "watcher") {
        return c;
      }
    }
    return {};
  }

  fs::path log_path(const std::string& run_id) const { return m_logs / (run_id + ".jsonl"); }

  test::TempDir m_tmp; // first: destroyed last, after the writer closed the database
  fs::path m_logs = m_tmp / "log";
  fs::path m_db = m_tmp / "db.sqlite3";
  SourceStats m_stats;
  std::function<void(const fs::path&, uint64_t)> m_on_new_file;
  std::optional<std::vector<std::chrono::milliseconds>> m_create_to_lock_delays;
  bool m_short_retries = true;
  std::unique_ptr<store::Writer> m_writer;
  std::unique_ptr<LogWatcher> m_watcher;
};

TEST_F(LogWatcherTest, BackFillStoresEveryLineOfEveryLogExactlyOnce) {
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(test::fixture_path(k_corpus))) {
    runs.push_back(e.path().stem().string());
    write_file(m_logs / e.path().filename(), test::read_file(e.path()));
  }
  ASSERT_EQ(runs.size(), 10u);
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  uint64_t lines = 0;
  for (const auto& run : runs) {
    ASSERT_TRUE(eventually([&] { return ended(run); })) << run << ": " << state(run);
    auto expected = lines_of(corpus(run));
    lines += expected.size();
    EXPECT_EQ(stored_lines(run), expected) << run;
    EXPECT_EQ(state(run), "completed") << run;
    EXPECT_EQ(stored_offset(log_path(run)), static_cast<int64_t>(corpus(run).size()));
  }
  EXPECT_EQ(query_int("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks"),
            static_cast<int64_t>(lines));
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM runs WHERE source = 'watcher'"), 10);
  auto p = m_watcher->progress();
  EXPECT_EQ(p.files_total, 10u);
  EXPECT_EQ(p.files_done, 10u);
  EXPECT_EQ(watcher_stats().lines_accepted, lines);
  EXPECT_EQ(watcher_stats().lines_rejected, 0u);
  EXPECT_EQ(m_watcher->counters().runs_ended, 10u);
}

TEST_F(LogWatcherTest, LiveLogWrittenIn8KiBChunksWaitsForCutLines) {
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  const std::string text = corpus(k_clean);
  const auto path = log_path(k_clean);
  FakeCargo cargo(path);
  // Cargo's BufWriter flushes 8 KiB at a time, wherever a line happens to be cut.
  size_t written = 0;
  int cut_lines = 0;
  while (written < text.size()) {
    size_t n = std::min<size_t>(8192, text.size() - written);
    cargo.write(std::string_view(text).substr(written, n));
    written += n;
    // The watcher may store only up to the last newline written so far.
    const size_t complete = text.rfind('\n', written - 1) + 1;
    cut_lines += complete != written ? 1 : 0;
    ASSERT_TRUE(eventually([&] { return stored_offset(path) == static_cast<int64_t>(complete); }))
        << "at " << written << " bytes: offset " << stored_offset(path) << ", expected "
        << complete;
    EXPECT_EQ(events(k_clean), static_cast<int64_t>(lines_of(text.substr(0, complete)).size()));
  }
  EXPECT_GT(cut_lines, 5); // the test did cut lines
  EXPECT_EQ(state(k_clean), "in_progress");
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_clean); }));
  EXPECT_EQ(state(k_clean), "completed");
  EXPECT_EQ(stored_lines(k_clean), lines_of(text));
  EXPECT_EQ(m_writer->stats().duplicates, 0u);
}

TEST_F(LogWatcherTest, OddSizedAppendsStoreTheSameLines) {
  start();
  const std::string text = corpus(k_touch);
  FakeCargo cargo(log_path(k_touch));
  // Sizes that cut lines anywhere: 1 byte, just before and after a newline, a prime, 8 KiB + 1.
  const size_t sizes[] = {1, 4095, 8193, 7, 12289, 1, 3001};
  size_t written = 0;
  for (size_t i = 0; written < text.size(); ++i) {
    size_t n = std::min(sizes[i % std::size(sizes)], text.size() - written);
    cargo.write(std::string_view(text).substr(written, n));
    written += n;
  }
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_touch); }));
  EXPECT_EQ(stored_lines(k_touch), lines_of(text));
  EXPECT_EQ(state(k_touch), "completed");
}

TEST_F(LogWatcherTest, RestartResumesAtTheCommittedOffsetAndStoresNothingTwice) {
  start();
  const std::string text = corpus(k_clean);
  const auto path = log_path(k_clean);
  const size_t first = 30000; // mid-line
  const size_t first_complete = text.rfind('\n', first - 1) + 1;
  {
    FakeCargo cargo(path);
    cargo.write(std::string_view(text).substr(0, first));
    ASSERT_TRUE(
        eventually([&] { return stored_offset(path) == static_cast<int64_t>(first_complete); }));
    // The daemon goes down while cargo still runs; cargo writes on, then ends.
    stop();
    cargo.write(std::string_view(text).substr(first));
  }
  open_writer();
  start();
  ASSERT_TRUE(eventually([&] { return ended(k_clean); }));
  EXPECT_EQ(state(k_clean), "completed");
  EXPECT_EQ(stored_lines(k_clean), lines_of(text));
  EXPECT_EQ(stored_offset(path), static_cast<int64_t>(text.size()));
  // It resumed at the offset rather than leaning on the store's de-duplication.
  EXPECT_EQ(m_writer->stats().duplicates, 0u);
  EXPECT_EQ(m_writer->stats().events_stored, lines_of(text.substr(first_complete)).size());

  // A third start finds nothing new and submits nothing.
  restart();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  m_writer->flush();
  EXPECT_EQ(m_writer->stats().transactions, 0u);
  EXPECT_EQ(events(k_clean), static_cast<int64_t>(lines_of(text).size()));
}

TEST_F(LogWatcherTest, EmptyLogIsAnInterruptedRunNamedByItsFile) {
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  { FakeCargo killed(log_path(k_made_up)); } // cargo killed before its first write
  ASSERT_TRUE(eventually([&] { return ended(k_made_up); }));
  EXPECT_EQ(state(k_made_up), "interrupted");
  EXPECT_EQ(events(k_made_up), 0);
}

TEST_F(LogWatcherTest, EmptyLogFoundAtBackFillIsInterrupted) {
  write_file(log_path(k_made_up), "");
  start();
  ASSERT_TRUE(eventually([&] { return ended(k_made_up); }));
  EXPECT_EQ(state(k_made_up), "interrupted");
}

TEST_F(LogWatcherTest, CutLastLineIsAnInterruptedRunWithoutThatLine) {
  start();
  const std::string text = corpus(k_touch);
  const size_t cut = text.size() - 40; // inside the last line
  {
    FakeCargo killed(log_path(k_touch));
    killed.write(std::string_view(text).substr(0, cut));
  }
  ASSERT_TRUE(eventually([&] { return ended(k_touch); }));
  EXPECT_EQ(state(k_touch), "interrupted");
  auto lines = lines_of(text);
  lines.pop_back();
  EXPECT_EQ(stored_lines(k_touch), lines);
  EXPECT_EQ(watcher_stats().lines_rejected, 0u); // a cut line is not a bad line
}

TEST_F(LogWatcherTest, HeldLockMeansInProgressReleasedMeansCompleted) {
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); })); // watches are set
  const std::string text = corpus(k_touch);
  const auto path = log_path(k_touch);
  FakeCargo cargo(path);
  // Another descriptor writes the whole log and closes (IN_CLOSE_WRITE) while the lock stays
  // held: the watcher must not take the close for the end.
  write_file(path, text, /*lock=*/false);
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().lock_still_held >= 1; }));
  EXPECT_EQ(stored_lines(k_touch), lines_of(text));
  EXPECT_EQ(state(k_touch), "in_progress");
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_touch); }));
  EXPECT_EQ(state(k_touch), "completed");
}

TEST_F(LogWatcherTest, LogLockedAtBackFillIsInProgressUntilReleased) {
  const std::string text = corpus(k_noop);
  FakeCargo cargo(log_path(k_noop));
  cargo.write(text);
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  ASSERT_TRUE(eventually([&] { return events(k_noop) == 181; }));
  EXPECT_EQ(state(k_noop), "in_progress");
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(state(k_noop), "completed");
}

TEST_F(LogWatcherTest, RunIsKnownInProgressBeforeCargoWritesAnything) {
  start();
  FakeCargo cargo(log_path(k_noop)); // a small build: the file stays empty until the end
  ASSERT_TRUE(eventually([&] { return state(k_noop) == "in_progress"; }));
  cargo.write(corpus(k_noop));
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(events(k_noop), 181);
}

TEST_F(LogWatcherTest, DirCreatedAfterStartIsPickedUp) {
  const fs::path home = m_tmp / "cargo-home";
  const fs::path logs = home / "log";
  start({logs});
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  fs::create_directories(logs); // cargo does create_dir_all on its first logged build
  // Written at once, maybe before the watcher has its watch on the new dir: then the scan that
  // follows the new watch finds it.
  write_file(logs / (std::string(k_noop) + ".jsonl"), corpus(k_noop));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(events(k_noop), 181);
}

// Cargo creates its log, then locks it. A scan between the two (the scan of a log dir cargo has
// just created, on its first logged build) finds an empty file nobody holds; the run must not be
// called over with nothing in it.
TEST_F(LogWatcherTest, EmptyLogJustCreatedIsGivenTimeToBeLocked) {
  const auto path = log_path(k_noop);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644); // created, not locked yet
  ASSERT_GE(fd, 0) << std::strerror(errno);
  m_create_to_lock_delays = {{5ms, 20ms, 75ms, 200ms, 700ms, 2s, 5s}};
  start();
  // The scan makes the run known from the file's name, then probes the lock.
  ASSERT_TRUE(eventually([&] { return state(k_noop) == "in_progress"; }, 10s, 1ms));
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  EXPECT_EQ(state(k_noop), "in_progress");
  EXPECT_EQ(m_watcher->counters().runs_ended, 0u);
  write_all(fd, corpus(k_noop));
  ::flock(fd, LOCK_UN);
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(events(k_noop), 181);
  // Counted once the commit is back, a moment after readers can see it.
  EXPECT_TRUE(eventually([&] { return m_watcher->counters().runs_ended == 1; }));
}

TEST_F(LogWatcherTest, LogDirReplacedBySymlinkIsFollowed) {
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  const fs::path target = m_tmp / "elsewhere";
  fs::create_directories(target);
  write_file(target / (std::string(k_noop) + ".jsonl"), corpus(k_noop));
  fs::rename(m_logs, m_tmp / "log.old");
  fs::create_directory_symlink(target, m_logs);
  ASSERT_TRUE(eventually([&] { return ended(k_noop); })); // found by the scan of the target
  write_file(target / (std::string(k_touch) + ".jsonl"), corpus(k_touch));
  ASSERT_TRUE(eventually([&] { return ended(k_touch); })); // and live events in it
  EXPECT_EQ(state(k_touch), "completed");
  EXPECT_EQ(stored_offset(m_logs / (std::string(k_touch) + ".jsonl")),
            static_cast<int64_t>(corpus(k_touch).size()));
}

TEST_F(LogWatcherTest, FileThatIsNotACargoLogIsCutOffAndOthersGoOn) {
  start();
  std::string garbage;
  for (int i = 0; i < 250; ++i) {
    garbage += "this is not json, line " + std::to_string(i) + "\n";
  }
  write_file(m_logs / "notes.jsonl", garbage);
  write_file(log_path(k_noop), corpus(k_noop));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_abandoned == 1; }));
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(events(k_noop), 181);
  auto s = watcher_stats();
  EXPECT_EQ(s.lines_rejected, k_max_consecutive_rejects); // then it stopped reading
  EXPECT_EQ(s.producers_disconnected, 1u);
  EXPECT_NE(s.last_error.find("notes.jsonl:"), std::string::npos) << s.last_error;
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM runs"), 1);
  // Skipped to its end for good: a restart does not read it again.
  restart();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  EXPECT_EQ(watcher_stats().lines_rejected, k_max_consecutive_rejects);
}

TEST_F(LogWatcherTest, BadLinesInACargoLogAreCountedAndTheRestIsStored) {
  start();
  auto lines = lines_of(corpus(k_noop));
  write_file(
      log_path(k_noop),
      with_line_after(lines, 11, "{\"run_id\": \"not a run id\", \"reason\": \"build-started\"}"));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(stored_lines(k_noop), lines);
  EXPECT_EQ(watcher_stats().lines_rejected, 1u);
  EXPECT_NE(watcher_stats().last_error.find(":12: "), std::string::npos)
      << watcher_stats().last_error;
}

// The watcher frames lines with the socket's LineFramer: a line over the limit costs one
// rejection per MiB it runs on, is never held in memory whole, and the lines after it are stored.
TEST_F(LogWatcherTest, LineOverTheLimitIsRejectedPerMiBAndTheLinesAfterItAreStored) {
  start();
  auto lines = lines_of(corpus(k_noop));
  // Line 12, 2.5 MiB.
  write_file(log_path(k_noop),
             with_line_after(lines, 11, std::string(codec::k_max_line_bytes * 5 / 2, 'x')));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(stored_lines(k_noop), lines);
  EXPECT_EQ(watcher_stats().lines_rejected, 2u);
  EXPECT_NE(watcher_stats().last_error.find(":12: line is over the 1048576-byte limit ("),
            std::string::npos)
      << watcher_stats().last_error;

  // Nothing is read twice after a restart: the checkpoint is past the long line.
  restart();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  EXPECT_EQ(stored_lines(k_noop), lines);
  EXPECT_EQ(watcher_stats().lines_rejected, 2u);
}

TEST_F(LogWatcherTest, UnreadableFileIsSkippedAndCounted) {
  if (::geteuid() == 0) {
    // root bypasses file permissions (CAP_DAC_OVERRIDE): chmod 000 cannot make open() fail.
    GTEST_SKIP() << "running as root, which reads any file whatever its mode";
  }
  write_file(log_path(k_touch), corpus(k_touch));
  ::chmod(log_path(k_touch).c_str(), 0);
  write_file(log_path(k_noop), corpus(k_noop));
  start();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  EXPECT_EQ(m_watcher->counters().files_failed, 1u);
  EXPECT_EQ(watcher_stats().files_failed, 1u);
  EXPECT_NE(watcher_stats().last_error.find("Permission denied"), std::string::npos);
  EXPECT_EQ(state(k_touch), "<no run>");
}

TEST_F(LogWatcherTest, FileDeletedWhileTailedIsForgotten) {
  start();
  const std::string text = corpus(k_clean);
  const auto path = log_path(k_clean);
  {
    FakeCargo cargo(path);
    cargo.write(std::string_view(text).substr(0, 20000));
    ASSERT_TRUE(eventually([&] { return events(k_clean) > 0; }));
    fs::remove(path);
    ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_deleted == 1; }));
    cargo.write(std::string_view(text).substr(20000));
  }
  // It goes on with other files.
  write_file(log_path(k_noop), corpus(k_noop));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  EXPECT_EQ(state(k_clean), "in_progress"); // as far as it was read
}

TEST_F(LogWatcherTest, FileReplacedUnderItsNameIsReadFromTheStart) {
  start();
  const auto path = log_path(k_made_up);
  // Two logs of the same (made-up) run id, the second renamed over the first.
  const std::string first = retag(corpus(k_noop), k_noop, k_made_up);
  const std::string second = retag(corpus(k_touch), k_touch, k_made_up);
  write_file(path, first);
  ASSERT_TRUE(eventually([&] { return ended(k_made_up); }));
  EXPECT_EQ(events(k_made_up), 181);
  write_file(m_tmp / "tmp.jsonl", second);
  fs::rename(m_tmp / "tmp.jsonl", path);
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_replaced == 1; }));
  ASSERT_TRUE(
      eventually([&] { return stored_offset(path) == static_cast<int64_t>(second.size()); }));
  // The new file is read from its start. A run's lines are kept once, by position: where the
  // second log has the first's bytes they are duplicates; where it differs it is refused
  // (reported as rejected), so the run stored is the first log, byte for byte, plus the lines
  // of the second beyond the first's end.
  auto stored = stored_lines(k_made_up);
  auto a = lines_of(first);
  auto b = lines_of(second);
  ASSERT_EQ(stored.size(), std::max(a.size(), b.size()));
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i], i < a.size() ? a[i] : b[i]) << "line " << i + 1;
  }
  size_t differing = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    differing += a[i] != b[i] ? 1 : 0;
  }
  ASSERT_GT(differing, 0u);
  // Counted by the watcher once the writer has answered, a moment after the checkpoint that the
  // wait above saw was committed.
  EXPECT_TRUE(eventually([&] { return m_stats.total_rejected() >= differing; }))
      << m_stats.total_rejected() << " rejected, " << differing << " lines differ";
}

TEST_F(LogWatcherTest, FileReplacedWhileStoppedIsReadFromTheStartAtBackFill) {
  start();
  const auto path = log_path(k_touch);
  write_file(path, corpus(k_touch).substr(0, 20000));
  ASSERT_TRUE(eventually([&] { return stored_offset(path) > 0; }));
  stop();
  // Replace it with a log whose first 20000 bytes are different. Renamed over it, so the new
  // file has another inode for sure (the old one is still in use while the new one is made).
  write_file(m_tmp / "new.jsonl", corpus(k_clean));
  fs::rename(m_tmp / "new.jsonl", path);
  open_writer();
  start();
  ASSERT_TRUE(eventually(
      [&] { return stored_offset(path) == static_cast<int64_t>(corpus(k_clean).size()); }));
  EXPECT_EQ(stored_lines(k_clean), lines_of(corpus(k_clean)));
}

// Two cargos of one workspace started in the same millisecond share a run id, so a log file: the
// second waits for the first's lock and writes its own lines over the first's from byte 0.
TEST_F(LogWatcherTest, LogWrittenOverBySecondCargoOfTheSameRunIdKeepsTheFirstRunWhole) {
  start();
  const auto path = log_path(k_noop);
  const std::string first = corpus(k_noop);
  const std::string second = retag(corpus(k_touch), k_touch, k_noop);
  ASSERT_GT(second.size(), first.size()); // so that there is more to read past the first
  {
    FakeCargo cargo(path);
    cargo.write(first);
  }
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  const auto stored = stored_lines(k_noop);
  ASSERT_EQ(stored, lines_of(first));
  {
    FakeCargo cargo(path); // opens without truncating, as cargo does
    cargo.write(second);
  }
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_rewritten == 1; }));
  // Another log after it, stored in order, shows the watcher went on and is done with the first.
  write_file(log_path(k_clean), corpus(k_clean));
  ASSERT_TRUE(eventually([&] { return ended(k_clean); }));
  EXPECT_EQ(stored_lines(k_noop), stored); // no fragment, no line of the second run mixed in
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(watcher_stats().lines_rejected, 0u);
}

// The same, when the second cargo takes the lock before the watcher saw the first end: the first
// closes while the second holds the lock, so the watcher cannot tell them apart until the second
// writes. The first run still ends.
TEST_F(LogWatcherTest, LogWrittenOverBeforeTheFirstRunsEndWasSeenEndsThatRun) {
  start();
  const auto path = log_path(k_noop);
  const std::string first = corpus(k_noop);
  const std::string second = retag(corpus(k_touch), k_touch, k_noop);
  int x = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(x, 0) << std::strerror(errno);
  ASSERT_EQ(::flock(x, LOCK_EX), 0);
  write_all(x, first);
  ASSERT_TRUE(eventually([&] { return events(k_noop) == 181; }));
  int y = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(y, 0) << std::strerror(errno);
  ASSERT_EQ(::flock(x, LOCK_UN), 0);
  ASSERT_EQ(::flock(y, LOCK_EX), 0);
  ::close(x);
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().lock_still_held == 1; }));
  EXPECT_EQ(state(k_noop), "in_progress");
  write_all(y, second);
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_rewritten == 1; }));
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  ::flock(y, LOCK_UN);
  ::close(y);
  EXPECT_EQ(state(k_noop), "completed");
  EXPECT_EQ(stored_lines(k_noop), lines_of(first));
  EXPECT_EQ(watcher_stats().lines_rejected, 0u);
}

TEST_F(LogWatcherTest, LogWrittenOverWhileStoppedIsNoticedAtBackFill) {
  start();
  const auto path = log_path(k_noop);
  const std::string first = corpus(k_noop);
  const std::string second = retag(corpus(k_touch), k_touch, k_noop);
  // After a restart the first bytes read are not known; the line before the offset must end it.
  ASSERT_NE(second[first.size() - 1], '\n');
  write_file(path, first);
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  stop();
  {
    FakeCargo cargo(path);
    cargo.write(second);
  }
  open_writer();
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->counters().files_rewritten == 1; }));
  EXPECT_EQ(stored_lines(k_noop), lines_of(first));
  EXPECT_EQ(watcher_stats().lines_rejected, 0u);
}

TEST_F(LogWatcherTest, NewFileHookGetsPathAndInodeOnCreate) {
  std::mutex mutex;
  std::vector<std::pair<fs::path, uint64_t>> calls;
  m_on_new_file = [&](const fs::path& p, uint64_t inode) {
    std::lock_guard lock(mutex);
    calls.emplace_back(p, inode);
  };
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  FakeCargo cargo(log_path(k_noop));
  write_file(m_logs / "not-a-log.txt", "hello\n");
  struct stat st {};
  ASSERT_EQ(::stat(log_path(k_noop).c_str(), &st), 0);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !calls.empty();
  }));
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].first, log_path(k_noop));
  EXPECT_EQ(calls[0].second, static_cast<uint64_t>(st.st_ino));
}

// The correlator finds a log's writer among the processes holding it open: when the hook runs,
// the watcher (this process) must hold no descriptor of the file, only cargo does.
TEST_F(LogWatcherTest, NewFileHookRunsWhileTheWatcherHoldsNoDescriptorOfTheFile) {
  std::atomic<int> held{-1};
  m_on_new_file = [&](const fs::path& p, uint64_t /*inode*/) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      n += fs::read_symlink(e.path(), ec) == p ? 1 : 0;
    }
    held = n;
  };
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  FakeCargo cargo(log_path(k_noop)); // one descriptor, cargo's (in this process too)
  ASSERT_TRUE(eventually([&] { return held.load() != -1; }));
  EXPECT_EQ(held.load(), 1);
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
}

// A FIFO named like a log is not a log: the hook (which makes its run known) is not called for
// it, and the watcher neither blocks on it nor reads it.
TEST_F(LogWatcherTest, FifoNamedLikeALogIsNeitherAnnouncedNorRead) {
  std::mutex mutex;
  std::vector<fs::path> calls;
  m_on_new_file = [&](const fs::path& p, uint64_t /*inode*/) {
    std::lock_guard lock(mutex);
    calls.push_back(p);
  };
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  ASSERT_EQ(::mkfifo(log_path(k_made_up).c_str(), 0600), 0);
  FakeCargo cargo(log_path(k_noop)); // created after the FIFO: its hook comes after the FIFO's
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !calls.empty();
  }));
  cargo.finish();
  ASSERT_TRUE(eventually([&] { return ended(k_noop); }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], log_path(k_noop));
  EXPECT_EQ(m_watcher->counters().files_refused, 1u);
  EXPECT_EQ(watcher_stats().lines_rejected, 0u);
}

TEST_F(LogWatcherTest, CloseToQueryableLatency) {
  // How soon after cargo closes its log a report can see the run ended: 20 small builds, each
  // written whole at its end (as a no-op build's 46 KiB log is, in 8 KiB flushes).
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }));
  const std::string text = corpus(k_noop);
  auto db = reader();
  auto* q = *db->prepare_cached("SELECT state FROM runs WHERE run_id = ?1");
  std::vector<double> ms;
  for (int i = 0; i < 20; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "20261124T121212%03dZ-28b99174ef2c2ad6", i);
    const std::string log = retag(text, k_noop, id);
    FakeCargo cargo(log_path(id));
    cargo.write(log);
    auto closed = std::chrono::steady_clock::now();
    cargo.finish();
    ASSERT_TRUE(eventually(
        [&] {
          auto g = q->bind(std::string(id));
          auto row = q->step();
          return row && *row && q->column_text(0) == "completed";
        },
        10s, 200us));
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - closed)
            .count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("[ measure  ] close -> run `completed` in the database: median %.2f ms, max %.2f ms "
              "(20 runs of 181 lines)\n",
              ms[ms.size() / 2], ms.back());
}

TEST_F(LogWatcherTest, ManyLogsBackFillWithProgress) {
  // 200 copies of a real log under distinct run ids: how long a back-fill of a busy history
  // takes, and that progress adds up.
  const std::string text = corpus(k_noop);
  std::vector<std::string> runs;
  for (int i = 0; i < 200; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "20261124T1010%02d%03dZ-28b99174ef2c2ad6", i / 100, i % 100);
    write_file(log_path(id), retag(text, k_noop, id));
    runs.push_back(id);
  }
  auto t0 = std::chrono::steady_clock::now();
  start();
  ASSERT_TRUE(eventually([&] { return m_watcher->backfill_done(); }, 60s));
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  std::printf("[ measure  ] back-fill of 200 logs (36200 lines, 9 MiB): %.0f ms\n", ms.count());
  EXPECT_EQ(m_watcher->progress().files_total, 200u);
  EXPECT_EQ(m_watcher->progress().files_done, 200u);
  EXPECT_EQ(query_int("SELECT COUNT(*) FROM runs WHERE state = 'completed'"), 200);
  EXPECT_EQ(query_int("SELECT COALESCE(SUM(lines), 0) FROM raw_blocks"), 200 * 181);
}

} // namespace
} // namespace ca::ingest
