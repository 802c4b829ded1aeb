// Deciding that a log's writer is done: the end-of-run probe of the log watcher.
//
// Cargo holds an exclusive flock on its log until the build is over (flock_probe.hpp), so a free
// lock means "ended". A first probe can be a moment early, and is asked again while that may be
// so:
// - after IN_CLOSE_WRITE, a held lock: cargo unlocks right before it closes, and a lock that
//   stays held belongs to a writer that is not done;
// - at a scan, an empty, free log just created (its inode changed less than k_just_created
//   ago): cargo takes its lock a moment after creating the file, and a scan in between (of a
//   log dir cargo has just created, on its first logged build) would call the run over with
//   nothing in it until the file's close corrected that.
// The probe says how long to wait before asking again and what the final answer means; the
// caller does the waiting (an asio timer in the watcher, a ManualClock::advance in tests).
// "Just created" is judged against the Clock's wall time, so tests move time instead of
// sleeping.
#pragma once

#include "daemon/ingest/flock_probe.hpp"
#include "daemon/runtime/clock.hpp"
#include "shared/error.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <vector>

namespace ca::ingest {

// What made the watcher ask whether a log's writer is done.
enum class EndTrigger {
  scan,   // seen by a directory scan or moved in: one probe decides, unless just created
  closed, // IN_CLOSE_WRITE: the writer closed it; re-probe a while if the lock looks held
};

// What the last probe, once believed, says about the log.
enum class EndVerdict {
  ended,       // nobody holds the lock: the writer is done
  in_progress, // the lock is held: a writer is still at work
  gone,        // the file is no longer there
  unreadable,  // the probe failed (permission denied, I/O error); see the probe's error
};

// An empty file whose inode changed within this long is most likely a log cargo has created and
// not locked yet.
inline constexpr auto k_just_created = std::chrono::seconds(2);

class EndProbe {
public:
  // `delays` are the waits between probes while the answer may be early, the first one first;
  // once they are used up the last answer stands. `delays` and `clock` must outlive the probe.
  EndProbe(EndTrigger trigger,
           const std::vector<std::chrono::milliseconds>& delays,
           const runtime::Clock& clock)
      : m_trigger(trigger), m_delays(delays), m_clock(clock) {}

  // Given the latest probe of the writer's lock, how long to wait before probing again, or
  // nullopt when `lock` is the answer. `empty_since()` returns when the file's inode last
  // changed if the file is empty now, else nullopt; it is called only for a free lock after a
  // scan (it costs a stat).
  template <class EmptySince>
  std::optional<std::chrono::milliseconds> retry_after(const Result<LockState>& lock,
                                                       EmptySince&& empty_since) {
    if (m_attempt >= m_delays.size() || !lock) {
      return std::nullopt;
    }
    const bool may_be_early = m_trigger == EndTrigger::closed
                                  ? *lock == LockState::held
                                  : *lock == LockState::free && just_created(empty_since());
    if (!may_be_early) {
      return std::nullopt;
    }
    return m_delays[m_attempt++];
  }

  static EndVerdict verdict(const Result<LockState>& lock) {
    if (!lock) {
      return EndVerdict::unreadable;
    }
    switch (*lock) {
    case LockState::free:
      return EndVerdict::ended;
    case LockState::held:
      return EndVerdict::in_progress;
    case LockState::gone:
      return EndVerdict::gone;
    }
    return EndVerdict::unreadable;
  }

  EndTrigger trigger() const { return m_trigger; }

private:
  bool just_created(std::optional<runtime::Clock::wall_time_point> empty_since) const {
    return empty_since && m_clock.wall_now() - *empty_since < k_just_created;
  }

  EndTrigger m_trigger;
  const std::vector<std::chrono::milliseconds>& m_delays;
  const runtime::Clock& m_clock;
  size_t m_attempt = 0;
};

// When `path`'s inode last changed, if it is an empty file; nullopt if it is not empty or
// cannot be looked at (a file that cannot be looked at is not "just created").
std::optional<runtime::Clock::wall_time_point>
empty_file_changed_at(const std::filesystem::path& path);

} // namespace ca::ingest
