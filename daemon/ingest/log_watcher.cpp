#include "daemon/ingest/log_watcher.hpp"

#include "daemon/ingest/batch_commit.hpp"
#include "daemon/ingest/flock_probe.hpp"
#include "daemon/ingest/line_ingestor.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/run_id.hpp"
#include "shared/run_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fcntl.h>
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
constexpr std::string_view k_suffix = ".jsonl";
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

// How sure we are that a file's writer is done, in increasing order.
enum class EndCheck {
  none,
  backfill, // seen by a scan or moved in: one probe decides
  closed,   // IN_CLOSE_WRITE: the writer closed it; re-probe a while if the lock looks held
};

// An empty file whose inode changed within the last `k_just_created`: most likely a log cargo
// has created and not locked yet.
constexpr auto k_just_created = std::chrono::seconds(2);

bool empty_and_just_created(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size != 0) {
    return false;
  }
  const auto changed = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_ctim.tv_sec) + std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
  return std::chrono::system_clock::now() - changed < k_just_created;
}

bool is_log_name(std::string_view name) {
  return name.size() > k_suffix.size() && name.substr(name.size() - k_suffix.size()) == k_suffix;
}

// What a path named like a log turned out to be (see open_log).
struct LogOpen {
  int fd = -1;         // open for reading, a regular file; -1 otherwise
  struct stat st {};   // of `fd`
  bool gone = false;   // no such file (any more)
  std::string refused; // why it is not read at all: not a regular file of the log dir
  std::string error;   // an error opening it (permission denied, ...)
};

// Opens a file named like a log under the watcher's rules, never blocking:
// - a regular file is opened with O_NOFOLLOW | O_NONBLOCK and checked again with fstat (it may
//   have been replaced since it was looked at);
// - a symlink is followed only to a regular file directly inside the same log directory that is
//   not itself named like a log (that one is read under its own name; reading it twice would
//   store its run twice over): a symlink out of the log dir would let a file name choose what we
//   read (`/etc/passwd`), and one to a FIFO, device or directory would hang or feed garbage;
// - anything else (FIFO, socket, device, directory) is refused without being opened, so a FIFO's
//   writer is neither released nor sent SIGPIPE by us.
LogOpen open_log(const std::filesystem::path& path) {
  LogOpen out;
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    out.gone = errno == ENOENT;
    out.error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return out;
  }
  std::filesystem::path target = path;
  if (S_ISLNK(lst.st_mode)) {
    std::error_code ec;
    std::error_code dir_ec;
    auto resolved = std::filesystem::canonical(path, ec);
    auto dir = std::filesystem::canonical(path.parent_path(), dir_ec);
    struct stat tst {};
    if (ec || dir_ec || resolved.parent_path() != dir || ::stat(resolved.c_str(), &tst) != 0 ||
        !S_ISREG(tst.st_mode) || is_log_name(resolved.filename().string())) {
      out.refused = "a symlink that does not lead to a regular file of the log directory (only "
                    "such a link is followed)";
      return out;
    }
    target = resolved;
  } else if (!S_ISREG(lst.st_mode)) {
    out.refused = S_ISFIFO(lst.st_mode)   ? "a FIFO, not a regular file"
                  : S_ISDIR(lst.st_mode)  ? "a directory, not a regular file"
                  : S_ISSOCK(lst.st_mode) ? "a socket, not a regular file"
                                          : "a device, not a regular file";
    return out;
  }
  out.fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
  if (out.fd < 0) {
    out.gone = errno == ENOENT;
    out.error = "cannot open " + path.string() + ": " + std::strerror(errno);
    if (errno == ELOOP) { // replaced by a symlink since the lstat: looked at again next time
      out.gone = false;
      out.error.clear();
      out.refused = "replaced by a symlink while being opened";
    }
    return out;
  }
  if (::fstat(out.fd, &out.st) != 0 || !S_ISREG(out.st.st_mode)) {
    ::close(out.fd);
    out.fd = -1;
    out.refused = "not a regular file";
  }
  return out;
}

class UniqueFd {
public:
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }

private:
  int m_fd;
};

// Calls `fn(wd, mask, name)` for each event in what one read(2) of an inotify fd returned.
// (Not inline in the coroutine: a struct with a flexible array member cannot live in its frame.)
template <class Fn> void for_each_event(const char* buf, size_t n, Fn&& fn) {
  for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
    inotify_event ev{};
    std::memcpy(&ev, buf + off, sizeof ev);
    std::string_view name;
    if (ev.len > 0) {
      const char* p = buf + off + sizeof(inotify_event);
      name = std::string_view(p, ::strnlen(p, ev.len));
    }
    fn(ev.wd, ev.mask, name);
    off += sizeof(inotify_event) + ev.len;
  }
}

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

// One log file, as far as we have read it. Owned by the watcher thread.
struct TailedFile {
  std::filesystem::path path;
  std::string name_run_id; // the run id its name spells, if it is one
  uint64_t inode = 0;      // of the file the offset belongs to; 0 until first opened
  uint64_t offset = 0;     // committed: just past the last complete line handed to the store
  uint64_t line_no = 0;    // lines before `offset`, for error messages
  bool line_no_known = true;
  std::string run_id; // from its lines, else from the store
  std::unique_ptr<LineIngestor> ingestor;
  EndCheck end_check = EndCheck::none;
  std::shared_ptr<asio::steady_timer> timer; // while waiting to re-probe the lock
  std::shared_ptr<asio::steady_timer> retry; // while waiting to offer the store a batch again
  int store_failures = 0;                    // in a row, for the back-off

  bool busy = false;               // a drain runs for it
  bool dirty = false;              // bytes may have arrived since the drain last read
  bool forgotten = false;          // deleted or moved away
  bool failed = false;             // could not be opened or read; counted once
  bool abandoned = false;          // not a cargo log
  bool skipping_long_line = false; // inside a line over the size limit
  uint64_t long_line_bytes = 0;    // of that line, skipped so far
  uint64_t long_line_rejected = 0; // bytes of it already counted as rejected lines
  bool refused = false;            // not a regular file of the log dir (see open_log)
  bool end_known = false;          // the store has its end and no event came after it
  bool rewritten = false;          // written over in place by another writer; read no more
  std::string head;                // its first bytes as read, to notice them overwritten
  bool announced = false;          // its run row exists (created from the name if need be)

  const std::string& checkpoint_run_id() const { return run_id.empty() ? name_run_id : run_id; }
};

// The files of one directory scan still being drained; `wake` is cancelled when one is done.
struct ScanState {
  explicit ScanState(asio::io_context& io) : wake(io) {}
  asio::steady_timer wake;
  size_t in_flight = 0;
};

LogWatcher::LogWatcher(Options options, store::BatchSink& sink, SourceStats& stats)
    : m_options(std::move(options)), m_sink(sink), m_stats(stats) {}

LogWatcher::~LogWatcher() {
  stop();
}

Result<void> LogWatcher::start() {
  if (m_started.exchange(true)) {
    return {};
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    m_started = false;
    return unexpected(ErrorCode::io, std::string("cannot create an inotify instance: ") +
                                         std::strerror(errno) +
                                         " (raise fs.inotify.max_user_instances)");
  }
  m_inotify.assign(fd);
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
    boost::system::error_code ec;
    m_inotify.close(ec);
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
  m_watches = std::make_unique<DirWatchSet>(m_inotify.native_handle(), m_options.dirs);
  // Watches first, then the scans: a file created in between is seen by both, never by neither.
  std::vector<size_t> fresh = m_watches->refresh();
  asio::co_spawn(m_io, read_events(), log_exception);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t dir : fresh) {
    co_await scan_dir(dir, true);
  }
  m_backfill_done = true;
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  spdlog::info("watcher: back-fill done: {} log files in {} ms{}", m_files_done.load(), ms,
               m_stats.old_runs_skipped() == 0
                   ? std::string()
                   : fmt::format(" ({} runs older than the retention window not stored)",
                                 m_stats.old_runs_skipped()));
}

asio::awaitable<void> LogWatcher::read_events() {
  // Room for many events at once; each is an inotify_event plus its NUL-padded name.
  std::vector<char> buf(64 * 1024);
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await m_inotify.async_read_some(asio::buffer(buf),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec || m_stopping) {
      if (!m_stopping && ec != asio::error::operation_aborted) {
        spdlog::error("watcher: reading inotify events failed: {}; no longer watching",
                      ec.message());
      }
      co_return;
    }
    for_each_event(buf.data(), n, [this](int wd, uint32_t mask, std::string_view name) {
      handle_event(wd, mask, name);
    });
  }
}

void LogWatcher::handle_event(int wd, uint32_t mask, std::string_view name) {
  if ((mask & IN_Q_OVERFLOW) != 0) {
    ++m_counters.queue_overflows;
    spdlog::warn("watcher: the inotify queue overflowed (events were lost); scanning every "
                 "watched directory again");
    refresh_watches();
    for (size_t i = 0; i < m_watches->size(); ++i) {
      if (m_watches->watching(i)) {
        asio::co_spawn(m_io, scan_dir(i, false), log_exception);
      }
    }
    return;
  }
  if ((mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) != 0) {
    refresh_watches(); // a watched dir went away (or was moved): re-resolve the paths
    return;
  }
  if (!name.empty() && (mask & (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM)) != 0 &&
      m_watches->affects_dirs(wd, name)) {
    refresh_watches();
  }
  size_t dir = m_watches->log_dir_of(wd);
  if (dir == DirWatchSet::k_none || name.empty() || (mask & IN_ISDIR) != 0 || !is_log_name(name)) {
    return;
  }
  auto path = m_watches->dir(dir) / std::string(name);
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
      if (opened.fd >= 0) {
        ::close(opened.fd); // before the callback: it looks for the processes holding the file
        m_options.on_new_file(path, static_cast<uint64_t>(opened.st.st_ino));
        f->announced = !f->name_run_id.empty(); // the correlator made its run known
      }
    }
    f->dirty = true;
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      // A link to a file written elsewhere, like one moved in: no close will follow here.
      f->end_check = std::max(f->end_check, EndCheck::backfill);
    }
  }
  if ((mask & IN_MODIFY) != 0) {
    f->dirty = true;
  }
  if ((mask & IN_MOVED_TO) != 0) {
    f->dirty = true; // written elsewhere and moved in: most likely complete
    f->end_check = std::max(f->end_check, EndCheck::backfill);
  }
  if ((mask & IN_CLOSE_WRITE) != 0) {
    f->end_check = EndCheck::closed;
  }
  wake(f);
}

void LogWatcher::refresh_watches() {
  for (size_t dir : m_watches->refresh()) {
    asio::co_spawn(m_io, scan_dir(dir, false), log_exception);
  }
}

std::shared_ptr<TailedFile> LogWatcher::file(const std::filesystem::path& path) {
  auto key = path.string();
  if (auto it = m_files.find(key); it != m_files.end()) {
    return it->second;
  }
  auto f = std::make_shared<TailedFile>();
  f->path = path;
  std::string stem = path.stem().string();
  if (auto id = parse_run_id(stem)) {
    f->name_run_id = std::move(stem);
    // A log older than the retention window is not read (gc would delete its run): the
    // back-fill of months of ~/.cargo/log stores only what the policy keeps.
    const int64_t oldest = m_stats.oldest_kept_unix_ms();
    if (oldest != 0 && id->unix_ms < oldest && !m_stored.contains(path.string())) {
      f->abandoned = true;
      f->end_known = f->announced = true;
      m_stats.skipped_old_run();
    }
  }
  // The stored position is used once: a file deleted and created again under the same name is
  // new to us.
  if (auto it = m_stored.find(key); it != m_stored.end()) {
    const store::WatchedFile& s = it->second;
    f->inode = s.inode;
    f->offset = s.offset;
    f->line_no_known = s.offset == 0;
    f->run_id = s.run_id;
    // A position naming a run the store no longer has: retention deleted that run (it was over).
    // It stays deleted: no end fact or announcement may bring its row back, empty.
    const bool collected = !s.run_id.empty() && s.run_state.empty();
    f->end_known = collected || is_ended(s.run_state);
    f->announced = collected || !s.run_state.empty();
    m_stored.erase(it);
  }
  ++m_counters.files_seen;
  m_files.emplace(std::move(key), f);
  return f;
}

void LogWatcher::wake(const std::shared_ptr<TailedFile>& f) {
  if (f->busy || m_stopping) {
    return; // the running (or queued) drain loops until the flags are clear
  }
  f->busy = true;
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
        if (w.m_stopping || next->forgotten) {
          next->busy = false;
          continue;
        }
        w.start_drain(std::move(next));
      }
    }
  } turn{*this};
  co_await drain(std::move(f));
}

void LogWatcher::retry_later(const std::shared_ptr<TailedFile>& f) {
  if (m_stopping || f->forgotten || f->retry) {
    return; // one retry pending per file is enough
  }
  auto delay = std::min<std::chrono::steady_clock::duration>(
      k_store_retry_first * (1 << std::min(f->store_failures, 5)), k_store_retry_max);
  ++f->store_failures;
  f->retry = std::make_shared<asio::steady_timer>(m_io, delay);
  f->retry->async_wait([this, f](const boost::system::error_code& ec) {
    f->retry.reset();
    if (ec || m_stopping || f->forgotten) {
      return;
    }
    f->dirty = true;
    f->end_check = std::max(f->end_check, EndCheck::backfill); // and its end, if it ended
    wake(f);
  });
}

void LogWatcher::forget(const std::filesystem::path& path, const char* why) {
  auto it = m_files.find(path.string());
  if (it == m_files.end()) {
    return;
  }
  auto& f = it->second;
  f->forgotten = true;
  if (f->timer) {
    f->timer->cancel();
  }
  ++m_counters.files_deleted;
  spdlog::info("watcher: {} was {}; stopped reading it{}", path.string(), why,
               f->end_known ? "" : " (its run stays as far as it was read)");
  m_files.erase(it);
}

void LogWatcher::fail(TailedFile& f, const std::string& what) {
  f.ingestor.reset(); // drop what was decoded but not committed; it is read again
  if (f.failed) {
    spdlog::debug("watcher: {}", what);
    return;
  }
  f.failed = true;
  ++m_counters.files_failed;
  spdlog::warn("watcher: {} (skipped; tried again when it changes)", what);
  m_stats.file_failed(k_counter, what);
}

asio::awaitable<void> LogWatcher::scan_dir(size_t dir, bool initial) {
  const auto& path = m_watches->dir(dir);
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
    f->dirty = true;
    f->end_check = std::max(f->end_check, EndCheck::backfill);
    if (f->busy) {
      count_done(); // its running drain sees the flags
      continue;
    }
    f->busy = true;
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
  while (!m_stopping && !f->forgotten && (f->dirty || f->end_check != EndCheck::none)) {
    if (f->end_check == EndCheck::none) {
      f->dirty = false;
      co_await pump(f, false);
      continue;
    }
    const EndCheck check = std::exchange(f->end_check, EndCheck::none);
    f->dirty = false;
    co_await pump(f, false); // what is there now, whatever the lock will say
    if (m_stopping || f->forgotten || f->refused) {
      break; // a refused file is not a log: no lock to probe, no end to record
    }
    // A first probe can be a moment early, and is asked again while that may be so:
    // - after IN_CLOSE_WRITE, a held lock: cargo unlocks right before it closes, and a lock that
    //   stays held belongs to a writer that is not done;
    // - at a scan, an empty, free log just created: cargo takes its lock a moment after creating
    //   the file, and a scan in between (of a log dir cargo has just created, on its first
    //   logged build) would call the run over with nothing in it until the file's close
    //   corrected that.
    auto lock = probe_writer_lock(f->path);
    const auto may_be_early = [&] {
      return lock && (check == EndCheck::closed
                          ? *lock == LockState::held
                          : *lock == LockState::free && empty_and_just_created(f->path));
    };
    const auto& delays =
        check == EndCheck::closed ? m_options.lock_retry_delays : m_options.create_to_lock_delays;
    for (size_t attempt = 0; attempt < delays.size() && may_be_early(); ++attempt) {
      co_await wait_for(f, delays[attempt]);
      if (m_stopping || f->forgotten) {
        break;
      }
      lock = probe_writer_lock(f->path);
    }
    if (m_stopping || f->forgotten) {
      break;
    }
    if (!lock) {
      fail(*f, lock.error().message);
      continue;
    }
    if (*lock == LockState::gone) {
      forget(f->path, "deleted");
      break;
    }
    if (*lock == LockState::free) {
      co_await pump(f, true); // the rest, and the end
    } else if (check == EndCheck::closed) {
      ++m_counters.lock_still_held;
      spdlog::debug("watcher: {} was closed but its lock is still held; its run stays in "
                    "progress",
                    f->path.string());
    }
  }
  f->busy = false;
}

// Cargo names a log after its run id: a hash of the workspace root and the start time to the
// millisecond. Two builds of one workspace started within the same millisecond share it; the
// second waits for the first's lock, then writes its own lines over the first's from byte 0
// (cargo opens without truncating). Read on from the old offset, that is the middle of another
// run's line under the first run's id. What was read is checked to still be there: the first
// bytes as read (they hold the first line's nanosecond timestamp, which differs), or after a
// restart, when those were not kept, the newline that must end the last line read.
bool LogWatcher::rewritten_in_place(int fd, TailedFile& f) {
  if (f.offset == 0 || f.skipping_long_line || f.checkpoint_run_id().empty()) {
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
  LogOpen opened = open_log(f->path);
  UniqueFd fd(opened.fd);
  if (!opened.refused.empty()) {
    if (!f->refused) {
      f->refused = true;
      ++m_counters.files_refused;
      spdlog::info("watcher: {} is not read: {}", f->path.string(), opened.refused);
    }
    co_return;
  }
  f->refused = false;
  if (!fd) {
    if (opened.gone) {
      forget(f->path, "deleted");
    } else {
      fail(*f, opened.error);
    }
    co_return;
  }
  const struct stat& st = opened.st;
  if (f->failed) {
    f->failed = false;
    spdlog::info("watcher: {} can be read now", f->path.string());
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  const auto inode = static_cast<uint64_t>(st.st_ino);
  if (f->inode != 0 && (f->inode != inode || size < f->offset)) {
    if (f->inode != inode) {
      spdlog::info("watcher: {} was replaced (inode {} -> {}); reading it from the start",
                   f->path.string(), f->inode, inode);
    } else {
      spdlog::info("watcher: {} shrank from {} to {} bytes; reading it from the start",
                   f->path.string(), f->offset, size);
    }
    ++m_counters.files_replaced;
    f->offset = 0;
    f->line_no = 0;
    f->line_no_known = true;
    f->run_id.clear();
    f->ingestor.reset();
    f->abandoned = f->skipping_long_line = f->end_known = f->announced = f->rewritten = false;
    f->long_line_bytes = f->long_line_rejected = 0;
    f->head.clear();
  }
  f->inode = inode;
  if (f->abandoned || f->rewritten) {
    co_return;
  }
  if (rewritten_in_place(fd.get(), *f)) {
    f->rewritten = true;
    f->ingestor.reset();
    ++m_counters.files_rewritten;
    spdlog::warn("watcher: {} was written over from its first byte after {} lines had been "
                 "read; another cargo of the same workspace got the same run id `{}` (it started "
                 "in the same millisecond) and reused the file. The run stored is the first; "
                 "the file is not read further",
                 f->path.string(), f->line_no, f->checkpoint_run_id());
    if (!f->end_known) {
      // The second cargo got the file when the first let go of it: the first had ended, maybe
      // before its end was seen.
      store::Batch batch;
      batch.source = k_counter;
      store::RunFacts facts;
      facts.run_id = f->checkpoint_run_id();
      facts.ended = true;
      batch.facts.push_back(std::move(facts));
      batch.checkpoint = store::FileCheckpoint{f->path.string(), inode, f->offset, f->line_no,
                                               f->checkpoint_run_id()};
      auto r = co_await commit(m_sink, std::move(batch));
      if (!r) {
        spdlog::error("watcher: could not store the end of {}: {}; tried again later",
                      f->path.string(), r.error().message);
        retry_later(f);
        co_return;
      }
      f->store_failures = 0;
      f->end_known = true;
      ++m_counters.runs_ended;
    }
    co_return;
  }
  if (!f->ingestor) {
    f->ingestor = std::make_unique<LineIngestor>(f->path.string(), k_counter, m_stats);
  }

  std::vector<char> chunk(k_read_chunk);
  if (!f->line_no_known) {
    // Resuming mid-file after a restart: count the lines before the offset, once, so errors
    // name the right line (a slice at a time; not at all in a huge file).
    uint64_t lines = 0;
    for (uint64_t at = 0, slice = 0; at < f->offset && f->offset <= k_max_count_lines_bytes;) {
      if (slice >= k_slice_bytes) {
        slice = 0;
        co_await asio::post(m_io, asio::use_awaitable);
        if (m_stopping || f->forgotten) {
          co_return;
        }
      }
      ssize_t n = ::pread(fd.get(), chunk.data(), std::min<uint64_t>(chunk.size(), f->offset - at),
                          static_cast<off_t>(at));
      if (n <= 0) {
        break;
      }
      lines += static_cast<uint64_t>(std::count(chunk.data(), chunk.data() + n, '\n'));
      at += static_cast<uint64_t>(n);
      slice += static_cast<uint64_t>(n);
    }
    f->line_no = lines;
    f->line_no_known = true;
  }

  std::string buf;          // bytes from `pos` on that are not a complete line yet
  uint64_t pos = f->offset; // file offset of buf[0]
  uint64_t line_no = f->line_no;
  bool eof = false;
  while (!eof && !m_stopping && !f->forgotten) {
    // Read until EOF, a batch worth of lines or a slice worth of bytes.
    for (size_t slice = 0;
         f->ingestor->pending() < k_batch_lines && !f->abandoned && slice < k_slice_bytes;) {
      ssize_t n =
          ::pread(fd.get(), chunk.data(), chunk.size(), static_cast<off_t>(pos + buf.size()));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        fail(*f, "cannot read " + f->path.string() + ": " + std::strerror(errno));
        co_return;
      }
      if (n == 0) {
        eof = true;
        break;
      }
      slice += static_cast<size_t>(n);
      if (pos + buf.size() == 0) {
        f->head.assign(chunk.data(), std::min<size_t>(static_cast<size_t>(n), k_head_bytes));
      }
      buf.append(chunk.data(), static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n', start)) {
        std::string_view line(buf.data() + start, nl - start);
        start = nl + 1;
        ++line_no;
        if (f->skipping_long_line) {
          f->skipping_long_line = false; // the end of a line rejected for its length
          f->long_line_bytes = f->long_line_rejected = 0;
          continue;
        }
        f->ingestor->add_line(line, line_no);
        if (f->ingestor->should_disconnect()) {
          f->abandoned = true;
          break;
        }
      }
      buf.erase(0, start);
      pos += start;
      if (!f->abandoned && !f->skipping_long_line && buf.size() > codec::k_max_line_bytes) {
        f->skipping_long_line = true;
      }
      if (f->skipping_long_line && !f->abandoned) {
        // Inside the over-long line: drop what we have of it, and count one rejected line per
        // k_max_line_bytes of it, so that an endless line (a huge file of zeros) is abandoned
        // like any other file that is not a log.
        f->long_line_bytes += buf.size();
        pos += buf.size();
        buf.clear();
        while (f->long_line_bytes > f->long_line_rejected + codec::k_max_line_bytes &&
               !f->abandoned) {
          f->long_line_rejected += codec::k_max_line_bytes;
          std::string why =
              "line is over the " + std::to_string(codec::k_max_line_bytes) + "-byte limit";
          if (f->long_line_rejected > codec::k_max_line_bytes) {
            why += " (" + std::to_string(f->long_line_bytes) + " bytes so far)";
          }
          f->ingestor->reject(line_no + 1, why);
          f->abandoned = f->ingestor->should_disconnect();
        }
      }
    }
    if (f->abandoned) {
      ++m_counters.files_abandoned;
      m_stats.disconnected(k_counter);
      spdlog::warn("watcher: stopped reading {}: {} bad lines in a row, it is not a cargo "
                   "build-analysis log (last: {})",
                   f->path.string(), k_max_consecutive_rejects, f->ingestor->last_error());
    }

    store::Batch batch = f->ingestor->take_batch();
    batch.source = k_counter;
    if (f->run_id.empty() && !f->ingestor->last_run().empty()) {
      f->run_id = f->ingestor->last_run();
    }
    // An abandoned file is skipped to its end for good.
    const uint64_t new_offset = f->abandoned ? std::max(pos + buf.size(), size) : pos;
    const bool ending = finish && eof && !f->abandoned;
    if (ending && !(f->end_known && batch.events.empty())) {
      // The writer is done: what is left in `buf` is a line it never finished.
      const bool truncated = size == 0 || !buf.empty();
      std::set<std::string> runs = f->ingestor->runs_seen();
      if (!f->run_id.empty()) {
        runs.insert(f->run_id);
      }
      if (runs.empty() && new_offset == 0 && !f->name_run_id.empty()) {
        runs.insert(f->name_run_id); // empty or cut before its first newline: the name tells
      }
      const std::string& last =
          f->ingestor->last_run().empty() ? f->checkpoint_run_id() : f->ingestor->last_run();
      for (const auto& run : runs) {
        store::RunFacts facts;
        facts.run_id = run;
        facts.ended = true;
        facts.log_truncated = truncated && (run == last || runs.size() == 1);
        batch.facts.push_back(std::move(facts));
      }
    } else if (f->abandoned && f->announced && f->run_id.empty() && !f->end_known &&
               !f->name_run_id.empty()) {
      // Named like a log and made known from its name, but not a log at all (no line of it was
      // taken): its run is over, interrupted, rather than in progress for ever.
      store::RunFacts facts;
      facts.run_id = f->name_run_id;
      facts.ended = true;
      facts.log_truncated = true;
      batch.facts.push_back(std::move(facts));
      f->end_known = true;
    } else if (!f->announced && f->run_id.empty() && new_offset == 0 && !f->name_run_id.empty() &&
               !f->abandoned) {
      // Nothing to read yet (cargo buffers its log until the end): make the run known, in
      // progress, from the file name.
      store::RunFacts facts;
      facts.run_id = f->name_run_id;
      batch.facts.push_back(std::move(facts));
    }
    // Only bytes of an over-long line skipped: no transaction for that (its offset is committed
    // with the next line, the end or the abandonment), just the other files' turn.
    const bool only_skipped = batch.events.empty() && batch.facts.empty() &&
                              f->skipping_long_line && !eof && !f->abandoned;
    if ((batch.events.empty() && batch.facts.empty() && new_offset == f->offset) || only_skipped) {
      if (f->abandoned) {
        co_return;
      }
      if (!eof) {
        co_await asio::post(m_io, asio::use_awaitable); // the other files' turn
      }
      continue;
    }
    // A second cargo of the same run id may have begun writing over the file from byte 0 while
    // this read it (the check at the top of pump() came before): what was read past the old
    // offset could be the second run's bytes. Its writes reach the head first, so the head is
    // checked again now; if it changed, nothing read is kept and the next pump handles the
    // rewrite.
    if (f->offset > 0 && !f->abandoned && rewritten_in_place(fd.get(), *f)) {
      f->ingestor.reset();
      f->dirty = true;
      co_return;
    }
    const size_t events = batch.events.size();
    const bool ends_run = ending && !batch.facts.empty();
    const bool has_facts = !batch.facts.empty();
    batch.checkpoint =
        store::FileCheckpoint{f->path.string(), inode, new_offset, line_no, f->checkpoint_run_id()};
    auto r = co_await commit(m_sink, std::move(batch));
    if (!r) {
      spdlog::error("watcher: could not store {} from byte {}: {}; it is read again later",
                    f->path.string(), f->offset, r.error().message);
      f->ingestor.reset();
      retry_later(f);
      co_return;
    }
    f->store_failures = 0;
    ++m_counters.batches;
    if (r->diverged > 0) {
      // Another log of the same run id (replaced under its name): the run stored is the first.
      spdlog::warn("watcher: {}: {} lines not stored, their place in run {} holds other lines "
                   "(first: {})",
                   f->path.string(), r->diverged, r->divergences.front().run_id,
                   r->divergences.front().message);
      for (uint64_t i = 0; i < r->diverged; ++i) { // counted each; the first few named
        const auto& d = r->divergences[std::min<size_t>(i, r->divergences.size() - 1)];
        m_stats.rejected(k_counter,
                         f->path.string() + ":" + std::to_string(d.position) + ": " + d.message);
      }
    }
    f->offset = new_offset;
    f->line_no = line_no;
    if (events > 0) {
      f->end_known = false;
      f->announced = true;
    }
    if (has_facts) {
      f->announced = true;
    }
    if (ends_run) {
      f->end_known = true;
      ++m_counters.runs_ended;
      spdlog::debug("watcher: {} ended ({} lines{})", f->path.string(), f->line_no,
                    size == 0 ? ", empty" : (!buf.empty() ? ", last line cut" : ""));
      f->ingestor.reset(); // nothing more is expected; a new one is made if it grows
      co_return;
    }
    if (f->abandoned) {
      f->ingestor.reset();
      co_return;
    }
  }
  if (f->end_known) {
    f->ingestor.reset(); // a back-filled log that had nothing new: keep no decoder for it
  }
}

} // namespace ca::ingest
