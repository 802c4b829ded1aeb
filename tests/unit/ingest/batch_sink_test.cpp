// Ingest reaches the store through store::BatchSink alone: these tests give it a sink of their
// own (no Writer, no SQLite) and check that commit() and the log watcher need nothing more, and
// that the watcher resumes where the checkpoints it is handed say.
#include "daemon/ingest/batch_commit.hpp"
#include "daemon/ingest/log_watcher.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/store/batch_sink.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ca::ingest {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_run = "20261123T062716161Z-28b99174ef2c2ad6"; // 402 lines

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// A sink that commits every batch at once, on a thread of its own as the writer does, and
// records what it was given. `fail_with` makes every batch fail instead.
class RecordingSink final : public store::BatchSink {
public:
  ~RecordingSink() override { flush(); }

  void submit(store::Batch batch) override {
    std::lock_guard lock(m_mutex);
    m_threads.emplace_back(
        [this, batch = std::move(batch)]() mutable { commit(std::move(batch)); });
  }

  // Never full: every batch is taken.
  bool try_submit(store::Batch& batch, std::function<void()> /*on_room*/) override {
    submit(std::move(batch));
    return true;
  }

  void flush() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(m_mutex);
      threads.swap(m_threads);
    }
    for (auto& t : threads) {
      t.join();
    }
  }

  std::vector<std::string> raw_lines() const {
    std::lock_guard lock(m_mutex);
    return m_raw;
  }
  bool ended(const std::string& run_id) const {
    std::lock_guard lock(m_mutex);
    return std::find(m_ended.begin(), m_ended.end(), run_id) != m_ended.end();
  }
  std::optional<store::FileCheckpoint> last_checkpoint() const {
    std::lock_guard lock(m_mutex);
    return m_checkpoint;
  }
  std::thread::id on_done_thread() const {
    std::lock_guard lock(m_mutex);
    return m_on_done_thread;
  }

  std::optional<Error> fail_with;

private:
  void commit(store::Batch batch) {
    if (fail_with) {
      batch.on_done(unexpected(*fail_with));
      return;
    }
    store::BatchOutcome outcome;
    {
      std::lock_guard lock(m_mutex);
      for (const auto& e : batch.events) {
        m_raw.push_back(e.raw());
      }
      for (const auto& f : batch.facts) {
        if (f.ended) {
          m_ended.push_back(f.run_id);
        }
      }
      if (batch.checkpoint) {
        m_checkpoint = batch.checkpoint;
      }
      m_on_done_thread = std::this_thread::get_id();
    }
    outcome.inserted = batch.events.size();
    outcome.event_inserted.assign(batch.events.size(), true);
    if (batch.on_done) {
      batch.on_done(outcome);
    }
  }

  mutable std::mutex m_mutex;
  std::vector<std::thread> m_threads;
  std::vector<std::string> m_raw;
  std::vector<std::string> m_ended;
  std::optional<store::FileCheckpoint> m_checkpoint;
  std::thread::id m_on_done_thread;
};

store::Batch batch_of(size_t events) {
  store::Batch batch;
  batch.source = "test";
  for (size_t i = 0; i < events; ++i) {
    batch.events.emplace_back().set_raw("line " + std::to_string(i));
  }
  return batch;
}

// Runs commit(`batch`) on an io_context of its own; returns its result and the thread it
// resumed on.
std::pair<Result<store::BatchOutcome>, std::thread::id> run_commit(store::BatchSink& sink,
                                                                   store::Batch batch) {
  asio::io_context io;
  std::optional<Result<store::BatchOutcome>> result;
  std::thread::id resumed_on;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await commit(sink, std::move(batch));
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  io.run();
  // The sink's thread may still hold the batch, whose on_done holds a timer of `io`: let it
  // finish before `io` goes (ASan saw the timer destroyed after its service).
  sink.flush();
  return {result.value_or(unexpected(ErrorCode::internal, "commit never resumed")), resumed_on};
}

TEST(BatchCommit, ResumesOnTheIoThreadWithTheSinksOutcome) {
  RecordingSink sink;
  auto [result, resumed_on] = run_commit(sink, batch_of(3));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->inserted, 3u);
  EXPECT_EQ(sink.raw_lines(), (std::vector<std::string>{"line 0", "line 1", "line 2"}));
  // The sink answered on its own thread; the coroutine went on on the io thread (this one).
  EXPECT_NE(sink.on_done_thread(), std::this_thread::get_id());
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(BatchCommit, GivesTheSinksErrorBack) {
  RecordingSink sink;
  sink.fail_with = Error{ErrorCode::unavailable, "the daemon is shutting down"};
  auto [result, resumed_on] = run_commit(sink, batch_of(1));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::unavailable);
  EXPECT_EQ(result.error().message, "the daemon is shutting down");
}

class WatcherWithASink : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(m_logs);
    m_text = test::read_file(test::fixture_path(std::string("corpus/A/logs/") + k_run + ".jsonl"));
    std::ofstream(m_path, std::ios::binary) << m_text;
  }
  void TearDown() override {
    m_watcher.reset();
    m_sink.flush();
  }

  void start(std::function<Result<std::vector<store::WatchedFile>>()> stored) {
    LogWatcher::Options options;
    options.dirs = {m_logs};
    options.stored_checkpoints = std::move(stored);
    m_watcher = std::make_unique<LogWatcher>(std::move(options), m_sink, m_stats);
    auto r = m_watcher->start();
    ASSERT_TRUE(r) << r.error().message;
  }

  // Waits (up to 10 s) until the sink saw the run end.
  bool run_ended() {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms)) {
      if (m_sink.ended(k_run)) {
        return true;
      }
    }
    return false;
  }

  uint64_t inode() const {
    struct stat st {};
    EXPECT_EQ(::stat(m_path.c_str(), &st), 0);
    return st.st_ino;
  }

  test::TempDir m_tmp;
  fs::path m_logs = m_tmp / "log";
  fs::path m_path = m_logs / (std::string(k_run) + ".jsonl");
  std::string m_text;
  RecordingSink m_sink;
  SourceStats m_stats;
  std::unique_ptr<LogWatcher> m_watcher;
};

TEST_F(WatcherWithASink, ReadsOnFromTheStoredCheckpoint) {
  const auto all = lines_of(m_text);
  const size_t skipped = 100;
  uint64_t offset = 0;
  for (size_t i = 0; i < skipped; ++i) {
    offset += all[i].size() + 1;
  }
  start([&]() -> Result<std::vector<store::WatchedFile>> {
    return std::vector<store::WatchedFile>{
        {m_path.string(), inode(), offset, skipped, k_run, "in_progress"}};
  });
  ASSERT_TRUE(run_ended());
  EXPECT_EQ(m_sink.raw_lines(), std::vector<std::string>(all.begin() + skipped, all.end()));
  auto checkpoint = m_sink.last_checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->path, m_path.string());
  EXPECT_EQ(checkpoint->offset, m_text.size());
}

TEST_F(WatcherWithASink, ReadsFromTheStartWhenTheCheckpointsCannotBeRead) {
  start([]() -> Result<std::vector<store::WatchedFile>> {
    return unexpected(ErrorCode::io, "database is locked");
  });
  ASSERT_TRUE(run_ended());
  EXPECT_EQ(m_sink.raw_lines(), lines_of(m_text));
}

} // namespace
} // namespace ca::ingest
