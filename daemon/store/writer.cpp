#include "daemon/store/writer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ca::store {

Writer::Writer(std::unique_ptr<Database> db, Options options)
    : m_db(std::move(db)), m_store(*m_db), m_options(options), m_thread([this] { run(); }) {
  // Nothing is submitted before the constructor returns, so the writer thread does not use the
  // connection yet. The hook replaces SQLite's automatic checkpoint on this connection.
  auto checkpoint_db = Database::open(m_db->path(), Database::Mode::read_write_create);
  if (!checkpoint_db) {
    spdlog::warn("store: checkpoints stay inside commits: {}", checkpoint_db.error().message);
    return;
  }
  m_checkpoint_db = std::move(*checkpoint_db);
  sqlite3_wal_hook(m_db->handle(), &Writer::on_wal_commit, this);
  m_checkpointer = std::thread([this] { checkpoint_loop(); });
}

int Writer::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  if (pages >= k_checkpoint_pages) {
    auto* w = static_cast<Writer*>(self);
    {
      std::lock_guard lock(w->m_checkpoint_mutex);
      w->m_checkpoint_wanted = true;
    }
    w->m_checkpoint_cv.notify_one();
  }
  return SQLITE_OK;
}

void Writer::checkpoint_loop() {
  std::unique_lock lock(m_checkpoint_mutex);
  for (;;) {
    m_checkpoint_cv.wait(lock, [&] { return m_checkpoint_wanted || m_checkpoint_stop; });
    if (m_checkpoint_stop) {
      return; // the last connection to close checkpoints what is left
    }
    m_checkpoint_wanted = false;
    lock.unlock();
    // PASSIVE: copies what it can without waiting for readers or blocking the writer, which
    // goes on appending to the WAL meanwhile; SQLite restarts the WAL once it was all copied.
    int rc = sqlite3_wal_checkpoint_v2(m_checkpoint_db->handle(), nullptr,
                                       SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("store: checkpoint failed: {}", sqlite3_errmsg(m_checkpoint_db->handle()));
    }
    lock.lock();
  }
}

Writer::~Writer() {
  stop();
}

void Writer::submit(Batch batch) {
  std::unique_lock lock(m_mutex);
  m_has_room.wait(lock,
                  [&] { return m_stopping || m_pending_events < m_options.max_pending_events; });
  if (m_stopping) {
    lock.unlock();
    if (batch.on_done) {
      batch.on_done(unexpected(ErrorCode::unavailable, "the daemon is shutting down"));
    }
    return;
  }
  m_pending_events += batch.events.size();
  ++m_submitted;
  m_queue.push_back(std::move(batch));
  m_has_work.notify_one();
}

bool Writer::try_submit(Batch& batch, std::function<void()> on_room) {
  std::unique_lock lock(m_mutex);
  if (m_stopping) {
    lock.unlock();
    if (batch.on_done) {
      batch.on_done(unexpected(ErrorCode::unavailable, "the daemon is shutting down"));
    }
    return true;
  }
  if (m_pending_events >= m_options.max_pending_events) {
    // Registered under the lock that commit_group() takes to make room: no wake-up is lost.
    if (m_room_waiters.empty()) {
      spdlog::debug("store: queue full ({} events waiting): sources wait for room",
                    m_pending_events);
    }
    m_room_waiters.push_back(std::move(on_room));
    return false;
  }
  m_pending_events += batch.events.size();
  ++m_submitted;
  m_queue.push_back(std::move(batch));
  m_has_work.notify_one();
  return true;
}

void Writer::wake_room_waiters() {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(m_mutex);
    waiters.swap(m_room_waiters);
  }
  for (auto& on_room : waiters) {
    try {
      on_room(); // may call try_submit() again: the lock is not held
    } catch (const std::exception& e) {
      spdlog::error("store: a source waiting for room failed: {}", e.what());
    }
  }
}

void Writer::post_task(std::function<void(Database*)> task) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_stopping) {
      m_tasks.push_back(std::move(task));
      m_has_work.notify_one();
      return;
    }
  }
  task(nullptr);
}

void Writer::run_tasks(std::deque<std::function<void(Database*)>>& tasks) {
  for (auto& task : tasks) {
    task(m_db.get());
  }
  // A task may have deleted runs the store's cache remembers.
  m_store.forget_cache();
}

void Writer::flush() {
  std::unique_lock lock(m_mutex);
  uint64_t target = m_submitted;
  m_progress.wait(lock, [&] { return m_completed >= target; });
}

void Writer::stop() {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping && !m_thread.joinable()) {
      return;
    }
    m_stopping = true;
  }
  m_has_work.notify_all();
  m_has_room.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  wake_room_waiters(); // their next try_submit() gets `unavailable`
  {
    std::lock_guard lock(m_checkpoint_mutex);
    m_checkpoint_stop = true;
  }
  m_checkpoint_cv.notify_all();
  if (m_checkpointer.joinable()) {
    m_checkpointer.join();
  }
}

size_t Writer::waiting_for_room() const {
  std::lock_guard lock(m_mutex);
  return m_room_waiters.size();
}

WriterStats Writer::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

void Writer::run() {
  for (;;) {
    std::deque<Batch> group;
    std::deque<std::function<void(Database*)>> tasks;
    {
      std::unique_lock lock(m_mutex);
      auto has_work = [&] { return m_stopping || !m_queue.empty() || !m_tasks.empty(); };
      if (m_trim_pending && !m_has_work.wait_for(lock, k_trim_after_idle, has_work)) {
        m_trim_pending = false;
        lock.unlock();
        return_memory();
        continue;
      }
      m_has_work.wait(lock, has_work);
      if (!m_tasks.empty()) {
        tasks.swap(m_tasks); // maintenance first: it waited for the transaction before
      } else if (m_queue.empty()) {
        return; // stopping, and drained
      }
      // Take whole batches up to the transaction size: one fsync for many producers.
      size_t events = 0;
      while (tasks.empty() && !m_queue.empty() &&
             (group.empty() ||
              events + m_queue.front().events.size() <= m_options.max_events_per_transaction)) {
        events += m_queue.front().events.size();
        group.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
      }
    }
    if (!tasks.empty()) {
      run_tasks(tasks);
    } else {
      commit_group(group);
    }
    m_trim_pending = true;
  }
}

void Writer::return_memory() {
  // A back-fill or a burst of builds leaves glibc's heaps holding the memory that decoding,
  // committing and analysing it used: freed, but still resident (100 clean builds left ~60 MB).
  // Once the writer has been idle a moment, give it back to the system (a trim costs ~1 ms).
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

Result<std::vector<Result<BatchOutcome>>> Writer::apply_in_transaction(std::span<Batch> batches) {
  std::vector<Result<BatchOutcome>> outcomes;
  Transaction tx(*m_db);
  if (!tx.ok()) {
    return unexpected(tx.begin_error());
  }
  for (Batch& b : batches) {
    auto r = m_store.apply(b);
    if (!r) {
      m_store.forget_cache(); // the rollback may undo rows the cache remembers
      return unexpected(r.error());
    }
    outcomes.push_back(std::move(r));
  }
  auto committed = tx.commit();
  if (!committed) {
    m_store.forget_cache();
    return unexpected(committed.error());
  }
  return outcomes;
}

void Writer::commit_group(std::deque<Batch>& group) {
  std::vector<Batch> batches(std::make_move_iterator(group.begin()),
                             std::make_move_iterator(group.end()));
  std::vector<Result<BatchOutcome>> outcomes;
  auto all = apply_in_transaction(batches);
  if (all) {
    outcomes = std::move(*all);
  } else if (batches.size() == 1) {
    outcomes.push_back(unexpected(all.error()));
  } else {
    // One bad batch must not cost the others: retry each in a transaction of its own.
    for (Batch& b : batches) {
      auto one = apply_in_transaction(std::span<Batch>(&b, 1));
      outcomes.push_back(one ? std::move((*one)[0])
                             : Result<BatchOutcome>(unexpected(one.error())));
    }
  }

  size_t events = 0;
  {
    std::lock_guard lock(m_mutex);
    ++m_stats.transactions;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const auto& o = outcomes[i];
      if (o) {
        m_stats.events_stored += o->inserted;
        m_stats.duplicates += o->duplicates;
        m_stats.writing = true;
      } else {
        ++m_stats.failed_transactions;
        m_stats.last_error = "batch from " + batches[i].source + ": " + o.error().message;
        m_stats.last_error_at = std::chrono::system_clock::now();
        m_stats.writing = false;
      }
    }
  }
  for (size_t i = 0; i < batches.size(); ++i) {
    Batch& b = batches[i];
    events += b.events.size();
    if (!outcomes[i]) {
      spdlog::error("store: batch from {} rolled back: {}", b.source, outcomes[i].error().message);
    }
    if (b.on_done) {
      b.on_done(outcomes[i]);
    }
    if (m_observer && outcomes[i] && (outcomes[i]->inserted != 0 || !b.facts.empty())) {
      try {
        m_observer(std::move(b), *outcomes[i]);
      } catch (const std::exception& e) {
        spdlog::error("store: commit observer failed: {}", e.what()); // never stop the writer
      }
    }
  }
  {
    std::lock_guard lock(m_mutex);
    m_pending_events -= events;
    m_completed += batches.size();
  }
  m_has_room.notify_all();
  m_progress.notify_all();
  wake_room_waiters();
}

} // namespace ca::store
