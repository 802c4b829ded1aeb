#include "daemon/ingest/log_watcher.hpp"

#include "daemon/ingest/batch_commit.hpp"
#include "daemon/ingest/end_probe.hpp"
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/ingest/log_file.hpp"
#include "daemon/ingest/tailed_file.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/run_id.hpp"
#include "shared/unique_fd.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace ca::ingest {

namespace asio = boost::asio;

namespace {

constexpr const char* k_counter = "watcher";
// A batch is handed to the writer after this many lines (or at EOF): big enough to amortise a
// transaction, small enough that a back-fill of a huge log shows progress and bounded memory.
constexpr size_t k_batch_lines = 4096;
constexpr size_t k_read_chunk = 256 * 1024;
// A drain reads at most this much before it lets the other files' drains run (one thread runs
// them all): one huge file delays another by one slice, a millisecond or so, not by its size.
constexpr size_t k_slice_bytes = 4 * k_read_chunk;
// After a restart in the middle of a log, the lines before the offset are counted (for error
// messages) only up to here; beyond, line numbers count from where reading resumed.
constexpr uint64_t k_max_count_lines_bytes = uint64_t{64} << 20;
// How much of a log's start is kept to notice it written over: past the first line's timestamp.
constexpr size_t k_head_bytes = 160;
// Back-fill progress is logged every this many files.
constexpr uint64_t k_progress_every = 500;
// Files drained at once by a scan: enough to keep the decoder and the writer both busy.
constexpr size_t k_backfill_parallel = 4;
// Files read at once on inotify's news; the rest wait their turn in order. Each holds an fd and a
// read buffer until the writer commits its batch, so 5,000 logs dropped at once would otherwise
// hold 5,000 of each.
constexpr size_t k_max_draining = 16;

// A batch the store could not take (a full disk, a database locked too long) is read again from
// the file after these delays, doubling up to the last: a log that cargo has finished writing
// changes no more, and would otherwise wait for the next start.
constexpr auto k_store_retry_first = std::chrono::seconds(1);
constexpr auto k_store_retry_max = std::chrono::seconds(30);

// Waits until `timer` is cancelled: a condition variable for one thread's coroutines.
asio::awaitable<void> wait_for_wake(asio::steady_timer& timer) {
  timer.expires_at(asio::steady_timer::time_point::max());
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void log_exception(std::exception_ptr e) {
  if (!e) {
    return;
  }
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("watcher: internal error: {}", x.what());
  }
}

} // namespace

// One pump's read of a file, from its committed offset to EOF, a slice at a time.
struct ReadPass {
  ReadPass(int file, const struct stat& st, bool writer_done, const TailedFile& f)
      : fd(file), size(static_cast<uint64_t>(st.st_size)), inode(static_cast<uint64_t>(st.st_ino)),
        finish(writer_done), framer(*f.framer), read_to(f.offset) {}

  // Just past the last complete line read, or past the bytes of an over-long line skipped.
  uint64_t complete_to() const { return read_to - framer.partial().size(); }

  int fd;
  uint64_t size;     // when opened
  uint64_t inode;    // of the file opened
  bool finish;       // the writer is done: the run's end goes with the last batch
  LineFramer framer; // the file's at its offset, then on; holds the line not complete yet
  uint64_t read_to;  // file offset of the next byte to read
  bool eof = false;
  bool abandoned = false; // too many bad lines in a row: not a cargo log
  std::vector<char> chunk = std::vector<char>(k_read_chunk);
};

// The files of one directory scan still being drained; `wake` is cancelled when one is done.
struct ScanState {
  explicit ScanState(asio::io_context& io) : wake(io) {}
  asio::steady_timer wake;
  size_t in_flight = 0;
};

LogWatcher::LogWatcher(Options options, store::BatchSink& sink, SourceStats& stats)
    : m_options(std::move(options)), m_sink(sink), m_stats(stats), m_source(m_io, m_options.dirs) {}

LogWatcher::~LogWatcher() {
  stop();
}

Result<void> LogWatcher::start() {
  if (m_started.exchange(true)) {
    return {};
  }
  if (auto opened = m_source.open(); !opened) {
    m_started = false;
    return opened;
  }
  asio::co_spawn(m_io, run(), log_exception);
  m_thread = std::thread([this] {
    try {
      m_io.run();
    } catch (const std::exception& e) {
      spdlog::error("watcher: stopped by an internal error: {}", e.what());
    }
  });
  return {};
}

void LogWatcher::stop() {
  if (!m_thread.joinable()) {
    return;
  }
  asio::post(m_io, [this] {
    m_stopping = true;
    m_source.close();
    for (auto& [_, f] : m_files) {
      if (f->timer) {
        f->timer->cancel();
      }
      if (f->retry) {
        f->retry->cancel();
      }
    }
  });
  // No io_context::stop(): every coroutine ends by itself once it sees m_stopping, and a batch
  // in flight is let commit, so that no on_done is left to post into a dead io_context.
  m_thread.join();
}

WatcherProgress LogWatcher::progress() const {
  WatcherProgress p{m_files_total.load(), m_files_done.load()};
  p.finished = m_backfill_done.load() && p.files_done >= p.files_total;
  return p;
}

WatcherCounters LogWatcher::counters() const {
  const auto& c = m_counters;
  return WatcherCounters{
      c.files_seen.load(),      c.runs_ended.load(),      c.files_failed.load(),
      c.files_abandoned.load(), c.files_deleted.load(),   c.files_replaced.load(),
      c.files_rewritten.load(), c.lock_still_held.load(), c.batches.load(),
      c.queue_overflows.load(), c.files_refused.load()};
}

void LogWatcher::load_checkpoints() {
  if (!m_options.stored_checkpoints) {
    return;
  }
  auto rows = m_options.stored_checkpoints();
  if (!rows) {
    spdlog::warn("watcher: cannot read the stored read positions: {}; reading every log from its "
                 "start (lines already stored are skipped by the store)",
                 rows.error().message);
    return;
  }
  for (auto& row : *rows) {
    std::string key = row.path;
    m_stored.emplace(std::move(key), std::move(row));
  }
  spdlog::debug("watcher: {} stored read positions", m_stored.size());
}

asio::awaitable<void> LogWatcher::run() {
  load_checkpoints();
  // Watches first, then the scans: a file created in between is seen by both, never by neither.
  std::vector<size_t> fresh = m_source.watch();
  InotifySource::Handlers handlers;
  handlers.scan = [this](size_t dir) { asio::co_spawn(m_io, scan_dir(dir, false), log_exception); };
  handlers.file_event = [this](const std::filesystem::path& path, uint32_t mask) {
    on_file_event(path, mask);
  };
  handlers.overflow = [this] {
    ++m_counters.queue_overflows;
    spdlog::warn("watcher: the inotify queue overflowed (events were lost); scanning every "
                 "watched directory again");
  };
  asio::co_spawn(m_io, m_source.read(std::move(handlers)), log_exception);
  const auto t0 = m_options.clock->now();
  for (size_t dir : fresh) {
    co_await scan_dir(dir, true);
  }
  m_backfill_done = true;
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(m_options.clock->now() - t0).count();
  spdlog::info("watcher: back-fill done: {} log files in {} ms{}", m_files_done.load(), ms,
               m_stats.old_runs_skipped() == 0
                   ? std::string()
                   : fmt::format(" ({} runs older than the retention window not stored)",
                                 m_stats.old_runs_skipped()));
}

void LogWatcher::on_file_event(const std::filesystem::path& path, uint32_t mask) {
  if ((mask & (IN_DELETE | IN_MOVED_FROM)) != 0) {
    forget(path, (mask & IN_DELETE) != 0 ? "deleted" : "moved away");
    return;
  }
  auto f = file(path);
  if ((mask & IN_CREATE) != 0) {
    if (m_options.on_new_file) {
      // Only a file we would read makes its run known: not a FIFO, a device or a symlink
      // elsewhere that merely has a log's name.
      LogOpen opened = open_log(path);
      if (opened.fd) {
        opened.fd.reset(); // before the callback: it looks for the processes holding the file
        m_options.on_new_file(path, static_cast<uint64_t>(opened.st.st_ino));
        f->announced_by_name(); // the correlator made its run known
      }
    }
    f->want(DrainWanted::read);
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      // A link to a file written elsewhere, like one moved in: no close will follow here.
      f->want(DrainWanted::end_after_scan);
    }
  }
  if ((mask & IN_MODIFY) != 0) {
    f->want(DrainWanted::read);
  }
  if ((mask & IN_MOVED_TO) != 0) {
    f->want(DrainWanted::end_after_scan); // written elsewhere and moved in: most likely complete
  }
  if ((mask & IN_CLOSE_WRITE) != 0) {
    f->want(DrainWanted::end_after_close);
  }
  wake(f);
}

std::shared_ptr<TailedFile> LogWatcher::file(const std::filesystem::path& path) {
  auto key = path.string();
  if (auto it = m_files.find(key); it != m_files.end()) {
    return it->second;
  }
  auto f = std::make_shared<TailedFile>(path);
  if (auto id = parse_run_id(f->name_run_id())) {
    // A log older than the retention window is not read (gc would delete its run): the
    // back-fill of months of ~/.cargo/log stores only what the policy keeps.
    const int64_t oldest = m_stats.oldest_kept_unix_ms();
    if (oldest != 0 && id->unix_ms < oldest && !m_stored.contains(key)) {
      f->skip_as_too_old();
      m_stats.skipped_old_run();
    }
  }
  // The stored position is used once: a file deleted and created again under the same name is
  // new to us.
  if (auto it = m_stored.find(key); it != m_stored.end()) {
    const store::WatchedFile& s = it->second;
    f->restore(s.inode, s.offset, s.run_id, s.run_state);
    m_stored.erase(it);
  }
  ++m_counters.files_seen;
  m_files.emplace(std::move(key), f);
  return f;
}

void LogWatcher::wake(const std::shared_ptr<TailedFile>& f) {
  if (f->draining || m_stopping) {
    return; // the running (or queued) drain loops until nothing is wanted
  }
  f->draining = true;
  if (m_draining >= k_max_draining) {
    m_drain_queue.push_back(f);
    return;
  }
  start_drain(f);
}

void LogWatcher::start_drain(std::shared_ptr<TailedFile> f) {
  ++m_draining;
  asio::co_spawn(m_io, drain_in_turn(std::move(f)), log_exception);
}

asio::awaitable<void> LogWatcher::drain_in_turn(std::shared_ptr<TailedFile> f) {
  // Gives the turn on however this drain ends, an exception included.
  struct Turn {
    LogWatcher& w;
    ~Turn() {
      --w.m_draining;
      while (!w.m_drain_queue.empty() && w.m_draining < k_max_draining) {
        auto next = std::move(w.m_drain_queue.front());
        w.m_drain_queue.pop_front();
        if (w.m_stopping || next->forgotten()) {
          next->draining = false;
          continue;
        }
        w.start_drain(std::move(next));
      }
    }
  } turn{*this};
  co_await drain(std::move(f));
}

void LogWatcher::retry_later(const std::shared_ptr<TailedFile>& f) {
  if (m_stopping || f->forgotten() || f->retry) {
    return; // one retry pending per file is enough
  }
  auto delay = std::min<std::chrono::steady_clock::duration>(
      k_store_retry_first * (1 << std::min(f->store_failures, 5)), k_store_retry_max);
  ++f->store_failures;
  f->retry = std::make_shared<asio::steady_timer>(m_io, delay);
  f->retry->async_wait([this, f](const boost::system::error_code& ec) {
    f->retry.reset();
    if (ec || m_stopping || f->forgotten()) {
      return;
    }
    f->want(DrainWanted::end_after_scan); // read it again, and its end, if it ended
    wake(f);
  });
}

void LogWatcher::forget(const std::filesystem::path& path, const char* why) {
  auto it = m_files.find(path.string());
  if (it == m_files.end()) {
    return;
  }
  auto& f = it->second;
  const bool end_known = f->end_known();
  f->forget();
  if (f->timer) {
    f->timer->cancel();
  }
  ++m_counters.files_deleted;
  spdlog::info("watcher: {} was {}; stopped reading it{}", path.string(), why,
               end_known ? "" : " (its run stays as far as it was read)");
  m_files.erase(it);
}

void LogWatcher::fail(TailedFile& f, const std::string& what) {
  f.ingestor.reset(); // drop what was decoded but not committed; it is read again
  if (f.trouble == FileTrouble::unreadable) {
    spdlog::debug("watcher: {}", what);
    return;
  }
  f.trouble = FileTrouble::unreadable;
  ++m_counters.files_failed;
  spdlog::warn("watcher: {} (skipped; tried again when it changes)", what);
  m_stats.file_failed(k_counter, what);
}

asio::awaitable<void> LogWatcher::scan_dir(size_t dir, bool initial) {
  const auto& path = m_source.dir(dir);
  std::vector<std::filesystem::path> logs;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (is_log_name(it->path().filename().string()) && it->is_regular_file(type_ec)) {
      logs.push_back(it->path());
    }
  }
  if (ec) {
    spdlog::warn("watcher: cannot list {}: {}", path.string(), ec.message());
  }
  // Run ids begin with their start time: name order is start order.
  std::sort(logs.begin(), logs.end());
  m_files_total += logs.size();
  if (!logs.empty()) {
    spdlog::info("watcher: {} {} log files in {}", initial ? "back-filling" : "scanning",
                 logs.size(), path.string());
  }
  // A few files at a time: one is decoded while the writer commits another's batch.
  auto scan = std::make_shared<ScanState>(m_io);
  for (const auto& p : logs) {
    if (m_stopping) {
      break;
    }
    auto f = file(p);
    f->want(DrainWanted::end_after_scan);
    if (f->draining) {
      count_done(); // its running drain sees what is wanted
      continue;
    }
    f->draining = true;
    while (scan->in_flight >= k_backfill_parallel && !m_stopping) {
      co_await wait_for_wake(scan->wake);
    }
    ++scan->in_flight;
    asio::co_spawn(m_io, backfill_one(std::move(f), scan), log_exception);
  }
  while (scan->in_flight > 0 && !m_stopping) {
    co_await wait_for_wake(scan->wake);
  }
}

asio::awaitable<void> LogWatcher::backfill_one(std::shared_ptr<TailedFile> f,
                                               std::shared_ptr<ScanState> scan) {
  co_await drain(std::move(f));
  --scan->in_flight;
  count_done();
  scan->wake.cancel();
}

void LogWatcher::count_done() {
  uint64_t done = ++m_files_done;
  if (done % k_progress_every == 0) {
    spdlog::info("watcher: back-fill: {} of {} log files", done, m_files_total.load());
  }
}

asio::awaitable<void> LogWatcher::wait_for(std::shared_ptr<TailedFile> f,
                                           std::chrono::milliseconds delay) {
  auto timer = std::make_shared<asio::steady_timer>(m_io, delay);
  f->timer = timer;
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  f->timer.reset();
}

asio::awaitable<void> LogWatcher::drain(std::shared_ptr<TailedFile> f) {
  while (!m_stopping && !f->forgotten() && f->wanted != DrainWanted::nothing) {
    const std::optional<EndTrigger> trigger =
        end_trigger(std::exchange(f->wanted, DrainWanted::nothing));
    co_await pump(f, false); // what is there now, whatever the lock will say
    if (!trigger) {
      continue;
    }
    if (m_stopping || f->forgotten() || f->trouble == FileTrouble::refused) {
      break; // a refused file is not a log: no lock to probe, no end to record
    }
    co_await probe_end(f, *trigger);
  }
  f->draining = false;
}

asio::awaitable<void> LogWatcher::probe_end(std::shared_ptr<TailedFile> f, EndTrigger trigger) {
  // The probe's rules are in end_probe.hpp; here the waits between probes are timers.
  EndProbe probe(trigger,
                 trigger == EndTrigger::closed ? m_options.lock_retry_delays
                                               : m_options.create_to_lock_delays,
                 *m_options.clock);
  auto lock = probe_writer_lock(f->path());
  const auto empty_since = [&] { return empty_file_changed_at(f->path()); };
  while (auto delay = probe.retry_after(lock, empty_since)) {
    co_await wait_for(f, *delay);
    if (m_stopping || f->forgotten()) {
      co_return;
    }
    lock = probe_writer_lock(f->path());
  }
  switch (EndProbe::verdict(lock)) {
  case EndVerdict::gone:
    forget(f->path(), "deleted");
    break;
  case EndVerdict::unreadable:
    fail(*f, lock.error().message);
    break;
  case EndVerdict::ended:
    co_await pump(f, true); // the rest, and the end
    break;
  case EndVerdict::in_progress:
    if (trigger == EndTrigger::closed) {
      ++m_counters.lock_still_held;
      spdlog::debug("watcher: {} was closed but its lock is still held; its run stays in "
                    "progress",
                    f->path().string());
    }
    break;
  }
}

// Cargo names a log after its run id: a hash of the workspace root and the start time to the
// millisecond. Two builds of one workspace started within the same millisecond share it; the
// second waits for the first's lock, then writes its own lines over the first's from byte 0
// (cargo opens without truncating). Read on from the old offset, that is the middle of another
// run's line under the first run's id. What was read is checked to still be there: the first
// bytes as read (they hold the first line's nanosecond timestamp, which differs), or after a
// restart, when those were not kept, the newline that must end the last line read.
bool LogWatcher::rewritten_in_place(int fd, TailedFile& f) {
  if (f.offset == 0 || (f.framer && f.framer->in_long_line()) || f.checkpoint_run_id().empty()) {
    return false; // nothing read yet, or a file that never was a cargo log
  }
  const bool known = !f.head.empty();
  std::string now(known ? f.head.size() : std::min<uint64_t>(f.offset, k_head_bytes), '\0');
  ssize_t n = ::pread(fd, now.data(), now.size(), 0);
  if (n != static_cast<ssize_t>(now.size())) {
    return false; // a read error shows in the read that follows
  }
  if (known) {
    return now != f.head;
  }
  char last = 0;
  if (::pread(fd, &last, 1, static_cast<off_t>(f.offset - 1)) != 1) {
    return false;
  }
  if (last != '\n') {
    return true;
  }
  f.head = std::move(now);
  return false;
}

asio::awaitable<void> LogWatcher::pump(std::shared_ptr<TailedFile> f, bool finish) {
  std::optional<LogOpen> opened = open_for_pump(*f);
  if (!opened) {
    co_return;
  }
  check_replaced(*f, static_cast<uint64_t>(opened->st.st_ino),
                 static_cast<uint64_t>(opened->st.st_size));
  if (!f->readable()) {
    co_return; // abandoned or written over: read no more unless replaced
  }
  if (rewritten_in_place(opened->fd.get(), *f)) {
    co_await end_rewritten(f);
    co_return;
  }
  if (!f->ingestor) {
    f->ingestor = std::make_unique<LineIngestor>(f->path().string(), k_counter, m_stats);
  }
  if (!f->framer && !co_await count_lines_before(f, opened->fd.get())) {
    co_return;
  }
  ReadPass pass(opened->fd.get(), opened->st, finish, *f);
  while (!pass.eof && !m_stopping && !f->forgotten()) {
    if (!read_slice(*f, pass)) {
      co_return;
    }
    // An abandoned file is skipped to its end for good.
    const uint64_t new_offset =
        pass.abandoned ? std::max(pass.read_to, pass.size) : pass.complete_to();
    const bool ending = pass.finish && pass.eof && !pass.abandoned;
    store::Batch batch = take_batch(*f, pass, new_offset, ending);
    // Only bytes of an over-long line skipped: no transaction for that (its offset is committed
    // with the next line, the end or the abandonment), just the other files' turn.
    const bool only_skipped = batch.events.empty() && batch.facts.empty() &&
                              pass.framer.in_long_line() && !pass.eof && !pass.abandoned;
    if ((batch.events.empty() && batch.facts.empty() && new_offset == f->offset) || only_skipped) {
      if (pass.abandoned) {
        co_return;
      }
      if (!pass.eof) {
        co_await asio::post(m_io, asio::use_awaitable); // the other files' turn
      }
      continue;
    }
    // A second cargo of the same run id may have begun writing over the file from byte 0 while
    // this read it (the check at the top of pump() came before): what was read past the old
    // offset could be the second run's bytes. Its writes reach the head first, so the head is
    // checked again now; if it changed, nothing read is kept and the next pump handles the
    // rewrite.
    if (f->offset > 0 && !pass.abandoned && rewritten_in_place(pass.fd, *f)) {
      f->ingestor.reset();
      f->want(DrainWanted::read);
      co_return;
    }
    if (!co_await commit_batch(f, pass, new_offset, ending, std::move(batch))) {
      co_return; // the run ended, the file was abandoned, or the store refused the batch
    }
  }
  if (f->end_known()) {
    f->ingestor.reset(); // a back-filled log that had nothing new: keep no decoder for it
  }
}

std::optional<LogOpen> LogWatcher::open_for_pump(TailedFile& f) {
  LogOpen opened = open_log(f.path());
  if (!opened.refused.empty()) {
    if (f.trouble != FileTrouble::refused) {
      f.trouble = FileTrouble::refused;
      ++m_counters.files_refused;
      spdlog::info("watcher: {} is not read: {}", f.path().string(), opened.refused);
    }
    return std::nullopt;
  }
  if (!opened.fd) {
    if (opened.gone) {
      forget(f.path(), "deleted");
    } else {
      fail(f, opened.error);
    }
    return std::nullopt;
  }
  if (f.trouble == FileTrouble::unreadable) {
    spdlog::info("watcher: {} can be read now", f.path().string());
  }
  f.trouble = FileTrouble::none;
  return opened;
}

void LogWatcher::check_replaced(TailedFile& f, uint64_t inode, uint64_t size) {
  if (f.inode != 0 && (f.inode != inode || size < f.offset)) {
    if (f.inode != inode) {
      spdlog::info("watcher: {} was replaced (inode {} -> {}); reading it from the start",
                   f.path().string(), f.inode, inode);
    } else {
      spdlog::info("watcher: {} shrank from {} to {} bytes; reading it from the start",
                   f.path().string(), f.offset, size);
    }
    ++m_counters.files_replaced;
    f.replaced();
  }
  f.inode = inode;
}

asio::awaitable<void> LogWatcher::end_rewritten(std::shared_ptr<TailedFile> f) {
  const bool end_known = f->end_known();
  f->mark_rewritten();
  f->ingestor.reset();
  ++m_counters.files_rewritten;
  spdlog::warn("watcher: {} was written over from its first byte after {} lines had been "
               "read; another cargo of the same workspace got the same run id `{}` (it started "
               "in the same millisecond) and reused the file. The run stored is the first; "
               "the file is not read further",
               f->path().string(), f->lines_before(), f->checkpoint_run_id());
  if (end_known) {
    co_return;
  }
  // The second cargo got the file when the first let go of it: the first had ended, maybe
  // before its end was seen.
  store::Batch batch;
  batch.source = k_counter;
  store::RunFacts facts;
  facts.run_id = f->checkpoint_run_id();
  facts.ended = true;
  batch.facts.push_back(std::move(facts));
  batch.checkpoint = store::FileCheckpoint{f->path().string(), f->inode, f->offset,
                                           f->lines_before(), f->checkpoint_run_id()};
  auto r = co_await commit(m_sink, std::move(batch));
  if (!r) {
    spdlog::error("watcher: could not store the end of {}: {}; tried again later",
                  f->path().string(), r.error().message);
    retry_later(f);
    co_return;
  }
  f->store_failures = 0;
  ++m_counters.runs_ended;
}

asio::awaitable<bool> LogWatcher::count_lines_before(std::shared_ptr<TailedFile> f, int fd) {
  // Resuming mid-file after a restart: count the lines before the offset, once, so errors
  // name the right line (a slice at a time; not at all in a huge file).
  std::vector<char> chunk(k_read_chunk);
  uint64_t lines = 0;
  for (uint64_t at = 0, slice = 0; at < f->offset && f->offset <= k_max_count_lines_bytes;) {
    if (slice >= k_slice_bytes) {
      slice = 0;
      co_await asio::post(m_io, asio::use_awaitable);
      if (m_stopping || f->forgotten()) {
        co_return false;
      }
    }
    ssize_t n = ::pread(fd, chunk.data(), std::min<uint64_t>(chunk.size(), f->offset - at),
                        static_cast<off_t>(at));
    if (n <= 0) {
      break;
    }
    lines += static_cast<uint64_t>(std::count(chunk.data(), chunk.data() + n, '\n'));
    at += static_cast<uint64_t>(n);
    slice += static_cast<uint64_t>(n);
  }
  f->framer.emplace(codec::k_max_line_bytes, lines);
  co_return true;
}

bool LogWatcher::read_slice(TailedFile& f, ReadPass& pass) {
  // An over-long line counts as one rejected line per k_max_line_bytes of it (LineFramer), so
  // that an endless line (a huge file of zeros) is abandoned like any other file that is not a
  // log. Once abandoned, the rest of what was read is not looked at.
  auto on_line = [&](std::string_view line, uint64_t line_no) {
    if (!pass.abandoned) {
      f.ingestor->add_line(line, line_no);
      pass.abandoned = f.ingestor->should_disconnect();
    }
  };
  auto on_oversize = [&](uint64_t line_no, uint64_t bytes) {
    if (!pass.abandoned) {
      f.ingestor->reject(line_no, LineFramer::oversize_reason(bytes));
      pass.abandoned = f.ingestor->should_disconnect();
    }
  };
  // Read until EOF, a batch worth of lines or a slice worth of bytes.
  for (size_t slice = 0;
       f.ingestor->pending() < k_batch_lines && !pass.abandoned && slice < k_slice_bytes;) {
    ssize_t n =
        ::pread(pass.fd, pass.chunk.data(), pass.chunk.size(), static_cast<off_t>(pass.read_to));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fail(f, "cannot read " + f.path().string() + ": " + std::strerror(errno));
      return false;
    }
    if (n == 0) {
      pass.eof = true;
      break;
    }
    const auto got = static_cast<size_t>(n);
    if (pass.read_to == 0) {
      f.head.assign(pass.chunk.data(), std::min(got, k_head_bytes));
    }
    slice += got;
    pass.read_to += got;
    pass.framer.feed(std::string_view(pass.chunk.data(), got), on_line, on_oversize);
  }
  return true;
}

store::Batch
LogWatcher::take_batch(TailedFile& f, const ReadPass& pass, uint64_t new_offset, bool ending) {
  store::Batch batch = f.ingestor->take_batch();
  batch.source = k_counter;
  if (f.run_id.empty() && !f.ingestor->last_run().empty()) {
    f.run_id = f.ingestor->last_run();
  }
  add_run_facts(f, pass, new_offset, ending, batch); // before abandon(): it asks the state before
  if (pass.abandoned) {
    ++m_counters.files_abandoned;
    m_stats.disconnected(k_counter);
    spdlog::warn("watcher: stopped reading {}: {} bad lines in a row, it is not a cargo "
                 "build-analysis log (last: {})",
                 f.path().string(), k_max_consecutive_rejects, f.ingestor->last_error());
    f.abandon();
  }
  return batch;
}

void LogWatcher::add_run_facts(
    TailedFile& f, const ReadPass& pass, uint64_t new_offset, bool ending, store::Batch& batch) {
  if (ending && !(f.end_known() && batch.events.empty())) {
    // The writer is done: a line left without its newline is one it never finished.
    const bool truncated = pass.size == 0 || !pass.framer.partial().empty();
    std::set<std::string> runs = f.ingestor->runs_seen();
    if (!f.run_id.empty()) {
      runs.insert(f.run_id);
    }
    if (runs.empty() && new_offset == 0 && !f.name_run_id().empty()) {
      runs.insert(f.name_run_id()); // empty or cut before its first newline: the name tells
    }
    const std::string& last =
        f.ingestor->last_run().empty() ? f.checkpoint_run_id() : f.ingestor->last_run();
    for (const auto& run : runs) {
      store::RunFacts facts;
      facts.run_id = run;
      facts.ended = true;
      facts.log_truncated = truncated && (run == last || runs.size() == 1);
      batch.facts.push_back(std::move(facts));
    }
  } else if (pass.abandoned && f.state() == TailState::announced && f.run_id.empty() &&
             !f.name_run_id().empty()) {
    // Named like a log and made known from its name, but not a log at all (no line of it was
    // taken): its run is over, interrupted, rather than in progress for ever.
    store::RunFacts facts;
    facts.run_id = f.name_run_id();
    facts.ended = true;
    facts.log_truncated = true;
    batch.facts.push_back(std::move(facts));
  } else if (!f.announced() && f.run_id.empty() && new_offset == 0 && !f.name_run_id().empty() &&
             !pass.abandoned) {
    // Nothing to read yet (cargo buffers its log until the end): make the run known, in
    // progress, from the file name.
    store::RunFacts facts;
    facts.run_id = f.name_run_id();
    batch.facts.push_back(std::move(facts));
  }
}

asio::awaitable<bool> LogWatcher::commit_batch(std::shared_ptr<TailedFile> f,
                                               ReadPass& pass,
                                               uint64_t new_offset,
                                               bool ending,
                                               store::Batch batch) {
  const size_t events = batch.events.size();
  const bool ends_run = ending && !batch.facts.empty();
  const bool has_facts = !batch.facts.empty();
  batch.checkpoint = store::FileCheckpoint{f->path().string(), pass.inode, new_offset,
                                           pass.framer.lines(), f->checkpoint_run_id()};
  auto r = co_await commit(m_sink, std::move(batch));
  if (!r) {
    spdlog::error("watcher: could not store {} from byte {}: {}; it is read again later",
                  f->path().string(), f->offset, r.error().message);
    f->ingestor.reset();
    retry_later(f);
    co_return false;
  }
  f->store_failures = 0;
  ++m_counters.batches;
  if (r->diverged > 0) {
    // Another log of the same run id (replaced under its name): the run stored is the first.
    spdlog::warn("watcher: {}: {} lines not stored, their place in run {} holds other lines "
                 "(first: {})",
                 f->path().string(), r->diverged, r->divergences.front().run_id,
                 r->divergences.front().message);
    for (uint64_t i = 0; i < r->diverged; ++i) { // counted each; the first few named
      const auto& d = r->divergences[std::min<size_t>(i, r->divergences.size() - 1)];
      m_stats.rejected(k_counter,
                       f->path().string() + ":" + std::to_string(d.position) + ": " + d.message);
    }
  }
  f->committed(new_offset, pass.framer, events, has_facts, ends_run);
  if (ends_run) {
    ++m_counters.runs_ended;
    spdlog::debug("watcher: {} ended ({} lines{})", f->path().string(), f->lines_before(),
                  pass.size == 0 ? ", empty"
                                 : (!pass.framer.partial().empty() ? ", last line cut" : ""));
    f->ingestor.reset(); // nothing more is expected; a new one is made if it grows
    co_return false;
  }
  if (pass.abandoned) {
    f->ingestor.reset();
    co_return false;
  }
  co_return true;
}

} // namespace ca::ingest
