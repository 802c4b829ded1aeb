// The one writer: a thread that owns the read-write connection and applies batches from a
// queue, many batches to a transaction (group commit).
//
// Sources call submit() from any thread; it blocks while more than `max_pending_events` events
// wait (back-pressure reaches the producer's socket instead of growing our memory). Event-loop
// threads (the io thread, gRPC's callback threads) must never block: they call try_submit(),
// which refuses a batch while the queue is full and calls back once there is room, so the
// source waits asynchronously (the NDJSON socket) or defers its acknowledgements (Publish). A
// batch's `on_done` runs on the writer thread after its transaction committed: that is the moment a
// source may acknowledge or advance. On a failed transaction every batch in it gets the error
// and nothing of them is stored; the writer goes on with the next batches.
//
// Maintenance (retention, VACUUM) runs on the writer thread too, through run_exclusive(): between
// two transactions, so it never interleaves with a batch and needs no lock of its own.
//
// WAL checkpoints run on a thread of their own, on a connection of their own, so a commit never
// waits for one. (SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past
// 1000 pages; its fsync, ~5 ms on this machine, landed on about 1% of the acknowledgements of a
// build streamed event by event: the whole p99 of Ingest.Publish and of Live.Watch.)
#pragma once

#include "daemon/store/batch.hpp"
#include "daemon/store/batch_sink.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/event_store.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace ca::store {

struct WriterStats {
  uint64_t events_stored = 0;
  uint64_t duplicates = 0;
  uint64_t transactions = 0;
  uint64_t failed_transactions = 0;
  // The last batch that could not be stored (a full disk, a damaged page), and when.
  std::string last_error;
  std::chrono::system_clock::time_point last_error_at{};
  // Whether the last transaction committed: false while writes fail (e.g. the disk is full).
  bool writing = true;
};

class Writer final : public BatchSink {
public:
  struct Options {
    size_t max_pending_events = 200000;
    size_t max_events_per_transaction = 50000;
  };

  Writer(std::unique_ptr<Database> db, Options options);
  explicit Writer(std::unique_ptr<Database> db) : Writer(std::move(db), Options{}) {}
  ~Writer() override; // stop()s
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues a batch. Blocks while the queue is full. After stop(), the batch's on_done gets an
  // `unavailable` error at once.
  void submit(Batch batch) override;

  // Queues `batch` if the queue has room and returns true; never blocks. If it is full, leaves
  // `batch` as it was, returns false and calls `on_room` once, on the writer thread, after the
  // next commit makes room (or when the writer stops); the caller then tries again (another
  // source may have taken the room). After stop(), behaves as submit(): on_done gets
  // `unavailable` at once and the batch counts as taken (true).
  bool try_submit(Batch& batch, std::function<void()> on_room) override;

  // Blocks until everything submitted before this call is committed.
  void flush() override;

  // Drains the queue, commits, and joins the thread. Idempotent.
  void stop();

  WriterStats stats() const;

  // How many try_submit() callers wait for room now.
  size_t waiting_for_room() const;

  // Runs `task` on the writer thread with the writer's connection, after the transaction under
  // way (if any) and before the batches queued behind it, and returns its result through the
  // future. The task owns the connection while it runs (it may begin its own transactions or
  // VACUUM) and holds up every source meanwhile: keep it to maintenance. A task that throws
  // gives an `internal` error; one submitted after stop() gives `unavailable` at once. Tasks
  // queued before stop() still run.
  template <class T>
  std::future<Result<T>> run_exclusive(std::function<Result<T>(Database&)> task) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto future = promise->get_future();
    post_task([promise, task = std::move(task)](Database* db) {
      if (db == nullptr) {
        promise->set_value(unexpected(ErrorCode::unavailable, "the daemon is shutting down"));
        return;
      }
      try {
        promise->set_value(task(*db));
      } catch (const std::exception& e) {
        promise->set_value(unexpected(ErrorCode::internal, e.what()));
      }
    });
    return future;
  }

  // Called on the writer thread after a batch committed (after its on_done), for every batch
  // that stored a new event or carried facts. The observer may move from `batch`: the writer
  // is done with it. It must be quick and must not block (hand the work to another thread):
  // every source waits for the writer. Set it before the first submit().
  using CommitObserver = std::function<void(Batch&& batch, const BatchOutcome& outcome)>;
  void set_commit_observer(CommitObserver observer) { m_observer = std::move(observer); }

  // The WAL size in pages past which the checkpointer is woken (SQLite's own default).
  static constexpr int k_checkpoint_pages = 1000;

private:
  // Queues a task for the writer thread; runs it at once with a null connection if stopping.
  void post_task(std::function<void(Database*)> task);
  // Calls (outside the lock) every try_submit() caller waiting for room.
  void wake_room_waiters();
  void run_tasks(std::deque<std::function<void(Database*)>>& tasks);
  void run();
  void return_memory();
  void checkpoint_loop();
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  void commit_group(std::deque<Batch>& group);
  Result<std::vector<Result<BatchOutcome>>> apply_in_transaction(std::span<Batch> batches);

  std::unique_ptr<Database> m_db;
  EventStore m_store;
  Options m_options;
  CommitObserver m_observer;

  mutable std::mutex m_mutex;
  std::condition_variable m_has_work;
  std::condition_variable m_has_room;
  std::condition_variable m_progress;
  std::deque<Batch> m_queue;
  std::deque<std::function<void(Database*)>> m_tasks; // run_exclusive(), before m_queue
  std::vector<std::function<void()>> m_room_waiters;  // try_submit() refused, waiting for room
  size_t m_pending_events = 0;
  uint64_t m_submitted = 0; // batches ever queued
  uint64_t m_completed = 0; // batches ever done
  bool m_stopping = false;
  WriterStats m_stats;
  // Work was committed since the heap was last trimmed (writer thread only; see return_memory()).
  // Declared before m_thread: members are initialised in this order, and the thread reads it.
  bool m_trim_pending = false;
  static constexpr auto k_trim_after_idle = std::chrono::milliseconds(500);
  std::thread m_thread;

  // The checkpointer (null if its connection could not be opened: then SQLite checkpoints
  // inside commits, as by default).
  std::unique_ptr<Database> m_checkpoint_db;
  std::mutex m_checkpoint_mutex;
  std::condition_variable m_checkpoint_cv;
  bool m_checkpoint_wanted = false;
  bool m_checkpoint_stop = false;
  std::thread m_checkpointer;
};

} // namespace ca::store
