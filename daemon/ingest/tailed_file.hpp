// One log file as the log watcher tails it: where its committed read position is, and what the
// store knows of its run, as ONE state with explicit transitions.
//
//   fresh ──(run made known: name, correlator, a committed batch)──> announced
//   fresh/announced ──(its end committed)──> ended ──(an event after the end)──> announced
//   fresh/announced/ended ──(bad lines in a row, or too old to keep)──> abandoned
//   fresh/announced/ended ──(written over in place by a second cargo)──> rewritten
//   any but forgotten ──(replaced under its name, or shrunk)──> fresh, read from byte 0
//   any ──(deleted or moved away)──> forgotten (for good: the watcher drops it)
//
// Besides its state a file carries the work asked of its next drain (DrainWanted, an ordered
// level: a later request can only raise it), whether a drain runs or waits for it, and the
// trouble last logged for it, so that a problem is logged once rather than on every event.
//
// Owned by the watcher thread; not thread-safe.
#pragma once

#include "daemon/ingest/end_probe.hpp"
#include "daemon/ingest/line_framer.hpp"
#include "daemon/ingest/line_ingestor.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ca::ingest {

enum class TailState {
  fresh,     // nothing of its run is in the store (as far as we know)
  announced, // its run is in the store, in progress
  ended,     // the store has its run's end, and no event came after it
  abandoned, // not a cargo log, or older than the retention window: not read until replaced
  rewritten, // written over in place by another cargo of the same run id: not read until replaced
  forgotten, // deleted or moved away: never read again
};

// What the next drain of a file is asked to do; each level includes the ones before it.
enum class DrainWanted {
  nothing,
  read,            // bytes may have arrived since the drain last read
  end_after_scan,  // read, then probe for its end: seen by a scan, moved in, or retried
  end_after_close, // read, then probe for its end: its writer closed it (IN_CLOSE_WRITE)
};

// A problem with a file logged already (the next occurrence is logged at debug level only).
enum class FileTrouble {
  none,
  refused,    // not a regular file of the log dir: not read at all
  unreadable, // could not be opened or read (permission denied, I/O error)
};

class TailedFile {
public:
  explicit TailedFile(std::filesystem::path path);

  const std::filesystem::path& path() const { return m_path; }
  // The run id its name spells, if it is one (cargo names its log after its run).
  const std::string& name_run_id() const { return m_name_run_id; }
  // The run its checkpoint names: the one its lines gave, else the one its name spells.
  const std::string& checkpoint_run_id() const { return run_id.empty() ? m_name_run_id : run_id; }

  TailState state() const { return m_state; }
  bool forgotten() const { return m_state == TailState::forgotten; }
  // Whether its lines are still read: not abandoned, rewritten or forgotten.
  bool readable() const {
    return m_state == TailState::fresh || m_state == TailState::announced ||
           m_state == TailState::ended;
  }
  // Whether the store has a row for its run (created from its name if need be).
  bool announced() const { return m_state == TailState::announced || m_state == TailState::ended; }
  bool end_known() const { return m_state == TailState::ended; }

  // Lines before `offset`, for error messages and line positions; 0 while not counted yet.
  uint64_t lines_before() const { return framer ? framer->lines() : 0; }

  // --- transitions --------------------------------------------------------------------------
  // From the checkpoint the store has for this path (at start): its position, and its run with
  // that run's state as the store has it ("" if the store has no such run). A run the store no
  // longer has (retention deleted it, over) counts as ended, so that no end fact or announcement
  // brings its row back, empty.
  void restore(uint64_t stored_inode,
               uint64_t stored_offset,
               std::string stored_run_id,
               std::string_view run_state);
  // Older than the retention window: never read (gc would delete its run).
  void skip_as_too_old();
  // The correlator made its run known from the name, before it was read.
  void announced_by_name();
  // Another file under its name (a new inode), or the same one shrunk: read it again from 0.
  void replaced();
  // A batch up to `new_offset` is committed with `framed` (the framer at that offset). `events`
  // and `facts` say what the batch held; `ends_run` whether it carried the run's end.
  void committed(
      uint64_t new_offset, const LineFramer& framed, size_t events, bool facts, bool ends_run);
  void abandon();
  void mark_rewritten();
  void forget();

  // Asks the next drain for at least `w`.
  void want(DrainWanted w) { wanted = std::max(wanted, w); }

  // --- the read position and the work in hand (the watcher's) --------------------------------
  uint64_t inode = 0;  // of the file the offset belongs to; 0 until first opened
  uint64_t offset = 0; // committed: just past the last complete line handed to the store
  // Framing at `offset`: lines before it, and whether it lies inside a line over the size limit.
  // Empty after a restart in the middle of a file until the lines before it are counted.
  std::optional<LineFramer> framer = LineFramer();
  std::string run_id; // from its lines, else from the store
  std::string head;   // its first bytes as read, to notice them written over
  std::unique_ptr<LineIngestor> ingestor;

  DrainWanted wanted = DrainWanted::nothing;
  bool draining = false; // a drain runs for it, or waits for its turn
  FileTrouble trouble = FileTrouble::none;
  std::shared_ptr<boost::asio::steady_timer> timer; // while waiting to re-probe the lock
  std::shared_ptr<boost::asio::steady_timer> retry; // while waiting to offer the store a batch
  int store_failures = 0;                           // in a row, for the back-off

private:
  std::filesystem::path m_path;
  std::string m_name_run_id;
  TailState m_state = TailState::fresh;
};

// The end check a drain request asks for, if any.
inline std::optional<EndTrigger> end_trigger(DrainWanted w) {
  switch (w) {
  case DrainWanted::end_after_scan:
    return EndTrigger::scan;
  case DrainWanted::end_after_close:
    return EndTrigger::closed;
  default:
    return std::nullopt;
  }
}

} // namespace ca::ingest
