// Time as the daemon's decisions see it, behind an interface, so that the code deciding "has this
// gone quiet long enough" can be tested by moving a clock forward instead of sleeping.
//
// Two readings, because they answer different questions: `now()` (steady, never jumps) measures
// intervals the daemon itself waits; `wall_now()` (the system clock) is what a file's timestamps
// are compared with, since the kernel stamps files with the wall time.
//
// SteadyClock is the real one; ManualClock is for tests and moves only when told.
#pragma once

#include <chrono>

namespace ca::runtime {

class Clock {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using wall_time_point = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual wall_time_point wall_now() const = 0;
};

// The clocks of the machine. Stateless: one shared instance serves everyone.
class SteadyClock final : public Clock {
public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  wall_time_point wall_now() const override { return std::chrono::system_clock::now(); }

  static const SteadyClock& instance() {
    static const SteadyClock clock;
    return clock;
  }
};

// A clock that stands still until advance() moves both readings by the same amount. Not
// thread-safe: a test drives it from one thread.
class ManualClock final : public Clock {
public:
  explicit ManualClock(wall_time_point wall_start = wall_time_point(std::chrono::hours(24 * 365)))
      : m_wall(wall_start) {}

  time_point now() const override { return m_now; }
  wall_time_point wall_now() const override { return m_wall; }

  void advance(std::chrono::nanoseconds d) {
    m_now += d;
    m_wall += std::chrono::duration_cast<wall_time_point::duration>(d);
  }

private:
  time_point m_now{};
  wall_time_point m_wall;
};

} // namespace ca::runtime
