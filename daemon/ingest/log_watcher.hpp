// The log-directory watcher: zero-configuration capture of every cargo build that logs.
//
// The problem. Cargo 1.95 with build analysis on writes one file per invocation,
// `$CARGO_HOME/log/<run_id>.jsonl`, created at build start and held under an exclusive flock
// until cargo exits. Writes go through an 8 KiB BufWriter: a small build's file stays empty until
// the very end (its whole life, IN_CREATE to IN_CLOSE_WRITE, can be 2-11 ms), a large one grows
// in 8 KiB chunks that may end in the middle of a line. A killed cargo leaves an empty or cut
// file; a failed build's log just stops. The daemon may be down while builds run, and may crash
// at any moment. We must store every line of every log exactly once, and say how each run ended.
//
// The algorithm.
// 1. Watches. InotifySource (inotify_source.hpp) reads the events; its DirWatchSet keeps an
//    inotify watch on each configured dir (following a symlink) and on its nearest existing
//    ancestor, so a dir that does not exist yet, is deleted, or is replaced by a symlink is picked
//    up when it (re)appears; each newly watched dir is scanned.
// 2. Tailing. Each known `*.jsonl` is a TailedFile (tailed_file.hpp: one state, explicit
//    transitions) whose `offset` is the end of the last complete line the store has committed.
//    An inotify event asks the file's drain to read; one drain coroutine per file (never two)
//    reads from `offset` to EOF with pread, splits lines with the LineFramer the socket uses too,
//    feeds complete lines to a LineIngestor (the shared decode path) and leaves a partial last
//    line for the next read: a line cut at an 8 KiB boundary is simply read again, whole, once
//    its end arrives.
//    Each batch goes to the writer with FileCheckpoint{path, inode, new offset, run_id}, so the
//    offset is committed in the same transaction as the events it covers; the drain waits for
//    that commit before it reads on. A crash loses neither (both or none were committed) and a
//    restart repeats nothing (it resumes at the committed offset; the store's per-run line hash
//    would drop a repeat anyway).
// 3. Ends. IN_CLOSE_WRITE (or, at back-fill, any file) triggers a probe (EndProbe,
//    end_probe.hpp): a non-blocking shared flock on a descriptor of our own. Cargo unlocks just
//    before it closes, but we re-probe a few times over ~1 s before believing a lock that is
//    still held. When the lock is free, the file is read to EOF and RunFacts{ended,
//    log_truncated = empty file or cut last line} go in the same batch as the last events; the
//    store turns them into completed, failed or interrupted.
//    A cut last line is not ingested. An empty file names its run only in its file name, which
//    is used then (a valid run id makes the store create the run, interrupted). The name also
//    makes a run known, in progress, as soon as its log appears, long before cargo's first
//    flush.
// 4. Back-fill. At start, the checkpoints of the `sources` table are loaded (read-only
//    connection) and every existing log is drained from its stored offset (from 0 if its inode
//    changed: the file was replaced), a few files at a time in name (= start) order, so that one
//    is decoded while another's batch commits, with progress in progress() and in
//    the log. A file that has nothing new and whose run already ended is not touched again.
//
// Odd files. Only regular files are read (open_log in log_file.hpp: O_NOFOLLOW | O_NONBLOCK,
// checked with fstat; a symlink is followed only to a regular file of the same log dir not itself
// named like a log); a FIFO, device, directory or symlink elsewhere with a log's name is refused
// without being opened (files_refused), makes no run known and is never probed for a lock. A
// run is made known from a file's name only for a regular file: that is how cargo's own logs
// look until their end (see 3.); a run that then never gets an event or an end is ended by
// inference after a week of silence by the retention pass (store/retention.hpp).
// Reads go a slice at a time (k_slice_bytes), each drain letting the others run between slices,
// so a huge file (even a 20 GB sparse one) delays another log by a slice, not by its size; a
// line over the size limit counts as one rejected line per k_max_line_bytes, so a file with no
// newline is abandoned as not a log after about k_max_consecutive_rejects MiB.
//
// Faults, each logged once and counted (SourceStats "watcher" and counters()): a file deleted or
// moved away while read is forgotten; a file replaced under its name (new inode) or shrunk is read
// again from 0; a file we may not open is skipped (files_failed) and retried on its next event; a
// file that is not a cargo log has its lines rejected by the codec and, after
// k_max_consecutive_rejects in a row, is abandoned (producers_disconnected) with its offset moved
// to its end; an inotify queue overflow re-scans every dir.
//
// Threads. Everything runs on a thread of our own with its own io_context: file reads, flock
// probes and the start-up read of the database are blocking work that must stay off the daemon's
// io thread. The only cross-thread traffic is Writer::submit (which may block for back-pressure,
// slowing us rather than growing memory) and its on_done, which posts back to our io_context.
#pragma once

#include "daemon/ingest/end_probe.hpp"
#include "daemon/ingest/inotify_source.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "daemon/runtime/clock.hpp"
#include "daemon/store/batch_sink.hpp"
#include "shared/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ca::ingest {

class TailedFile;
struct ScanState;
struct ReadPass;
struct LogOpen;

// Back-fill progress: log files found by directory scans, and those handled so far.
struct WatcherProgress {
  uint64_t files_total = 0;
  uint64_t files_done = 0;
  bool finished = false; // every directory scanned and every file found handled
};

// What the watcher did since it started. Thread-safe snapshot.
struct WatcherCounters {
  uint64_t files_seen = 0;      // distinct log files tailed
  uint64_t runs_ended = 0;      // end facts committed (completed, failed or interrupted)
  uint64_t files_failed = 0;    // could not be opened or read (permission denied, I/O error)
  uint64_t files_abandoned = 0; // not cargo logs: too many rejected lines in a row
  uint64_t files_deleted = 0;   // deleted or moved away while tailed
  uint64_t files_replaced = 0;  // another file under the same name (inode change), or shrunk
  uint64_t files_rewritten = 0; // written over in place by a second cargo with the same run id
  uint64_t lock_still_held = 0; // closed by a writer while the lock stayed held (in progress)
  uint64_t batches = 0;         // batches committed
  uint64_t queue_overflows = 0; // inotify IN_Q_OVERFLOW (a full re-scan followed)
  uint64_t files_refused = 0;   // named like logs but not regular files of the dir: not read
};

class LogWatcher {
public:
  struct Options {
    std::vector<std::filesystem::path> dirs; // cargo log dirs, e.g. $CARGO_HOME/log
    // Reads the stored checkpoints (what the store committed of each watched file), once, on
    // the watcher thread at start. Unset: every log is read from its start (lines already
    // stored are skipped by the store).
    std::function<Result<std::vector<store::WatchedFile>>()> stored_checkpoints;
    // Called on the watcher thread on IN_CREATE of a log file, with its inode, before it is
    // read (the session correlator looks up the writer's pid while cargo still runs). Keep it
    // short: it delays reading.
    std::function<void(const std::filesystem::path&, uint64_t inode)> on_new_file;
    // Waits between lock probes after IN_CLOSE_WRITE while the lock still looks held.
    std::vector<std::chrono::milliseconds> lock_retry_delays = {
        std::chrono::milliseconds(1),   std::chrono::milliseconds(2),
        std::chrono::milliseconds(5),   std::chrono::milliseconds(10),
        std::chrono::milliseconds(20),  std::chrono::milliseconds(50),
        std::chrono::milliseconds(100), std::chrono::milliseconds(200),
        std::chrono::milliseconds(500)};
    // Waits between lock probes when a scan finds a log empty, free and just created: cargo
    // creates its log, then locks it (about 1 s in all).
    std::vector<std::chrono::milliseconds> create_to_lock_delays = {
        std::chrono::milliseconds(5), std::chrono::milliseconds(20), std::chrono::milliseconds(75),
        std::chrono::milliseconds(200), std::chrono::milliseconds(700)};
    // What "how long ago" is measured with (end_probe.hpp); must outlive the watcher.
    const runtime::Clock* clock = &runtime::SteadyClock::instance();
  };

  // Nothing runs until start(). `sink` and `stats` must outlive the watcher.
  LogWatcher(Options options, store::BatchSink& sink, SourceStats& stats);
  ~LogWatcher(); // stop()s
  LogWatcher(const LogWatcher&) = delete;
  LogWatcher& operator=(const LogWatcher&) = delete;

  // Creates the inotify instance and starts the watcher thread, which loads the stored
  // checkpoints, sets up the watches and back-fills. Returns an io error if inotify cannot be
  // initialised (EMFILE: fs.inotify.max_user_instances); a missing dir is not an error.
  Result<void> start();

  // Stops watching, lets in-flight batches commit, and joins the thread. Call before the
  // writer stops. Idempotent.
  void stop();

  WatcherProgress progress() const;
  WatcherCounters counters() const;

  // True once the start-up back-fill has gone through every file it found.
  bool backfill_done() const { return m_backfill_done.load(); }

private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> scan_dir(size_t dir, bool initial);
  boost::asio::awaitable<void> backfill_one(std::shared_ptr<TailedFile> f,
                                            std::shared_ptr<ScanState> scan);
  // Reads `f` for as long as something is wanted of it (DrainWanted), probing for its end when
  // asked to.
  boost::asio::awaitable<void> drain(std::shared_ptr<TailedFile> f);
  // Asks whether `f`'s writer is done (EndProbe), and if so reads the rest with the end.
  boost::asio::awaitable<void> probe_end(std::shared_ptr<TailedFile> f, EndTrigger trigger);
  // Reads `f` from its committed offset to EOF, committing a batch at a time; `finish`: its
  // writer is done, so its run's end goes with the last batch.
  boost::asio::awaitable<void> pump(std::shared_ptr<TailedFile> f, bool finish);
  boost::asio::awaitable<void> wait_for(std::shared_ptr<TailedFile> f,
                                        std::chrono::milliseconds delay);

  // The steps of pump(), in order.
  // Opens `f` under the rules of open_log; nullopt, after logging, forgetting or failing it as
  // the outcome asks, if it is not to be read now.
  std::optional<LogOpen> open_for_pump(TailedFile& f);
  // Starts `f` again from byte 0 if the file under its name is another one or shrank.
  void check_replaced(TailedFile& f, uint64_t inode, uint64_t size);
  // Whether the bytes before `f.offset` are no longer the ones read (see the .cpp).
  bool rewritten_in_place(int fd, TailedFile& f);
  // Stops reading a file written over in place, ending its run if that end was not seen.
  boost::asio::awaitable<void> end_rewritten(std::shared_ptr<TailedFile> f);
  // After a restart mid-file: the lines before the offset. False if stopped meanwhile.
  boost::asio::awaitable<bool> count_lines_before(std::shared_ptr<TailedFile> f, int fd);
  // Reads and frames up to a slice, a batch or EOF. False (after fail()) on a read error.
  bool read_slice(TailedFile& f, ReadPass& pass);
  // The batch read so far, with its run facts; abandons the file if the pass found it no log.
  store::Batch take_batch(TailedFile& f, const ReadPass& pass, uint64_t new_offset, bool ending);
  // The run facts that go with a batch: its end, an abandoned name's end, or its announcement.
  void add_run_facts(
      TailedFile& f, const ReadPass& pass, uint64_t new_offset, bool ending, store::Batch& batch);
  // Commits `batch` with the checkpoint at `new_offset`. True if reading goes on.
  boost::asio::awaitable<bool> commit_batch(std::shared_ptr<TailedFile> f,
                                            ReadPass& pass,
                                            uint64_t new_offset,
                                            bool ending,
                                            store::Batch batch);

  void load_checkpoints();
  // A log file's inotify event (InotifySource): what it asks of the file's next drain.
  void on_file_event(const std::filesystem::path& path, uint32_t mask);
  void count_done();
  std::shared_ptr<TailedFile> file(const std::filesystem::path& path);
  // Drains `f` when it has news: at once while fewer than k_max_draining files are being read,
  // else in turn (a flood of new logs must not cost an fd and a read buffer each).
  void wake(const std::shared_ptr<TailedFile>& f);
  void start_drain(std::shared_ptr<TailedFile> f);
  boost::asio::awaitable<void> drain_in_turn(std::shared_ptr<TailedFile> f);
  // After the store refused a batch of `f`: reads it again after a back-off.
  void retry_later(const std::shared_ptr<TailedFile>& f);
  void forget(const std::filesystem::path& path, const char* why);
  void fail(TailedFile& f, const std::string& what);

  Options m_options;
  store::BatchSink& m_sink;
  SourceStats& m_stats;

  // Declared first of the asio objects, so it is destroyed after everything that uses it.
  boost::asio::io_context m_io{1};
  InotifySource m_source;
  std::unordered_map<std::string, std::shared_ptr<TailedFile>> m_files; // by path
  std::unordered_map<std::string, store::WatchedFile> m_stored;         // by path, from start
  bool m_stopping = false;                                              // watcher thread only
  size_t m_draining = 0;                                 // drains started by wake(), running
  std::deque<std::shared_ptr<TailedFile>> m_drain_queue; // woken, waiting for a turn
  std::thread m_thread;

  std::atomic<bool> m_started{false};
  std::atomic<bool> m_backfill_done{false};
  std::atomic<uint64_t> m_files_total{0};
  std::atomic<uint64_t> m_files_done{0};
  struct AtomicCounters {
    std::atomic<uint64_t> files_seen{0}, runs_ended{0}, files_failed{0}, files_abandoned{0},
        files_deleted{0}, files_replaced{0}, files_rewritten{0}, lock_still_held{0}, batches{0},
        queue_overflows{0}, files_refused{0};
  } m_counters;
};

} // namespace ca::ingest
