// What the idle timeout (`cargo-analysisd --idle-timeout S`) needs to know: is anyone using the
// daemon now, and since when has no one. Thread-safe and lock-free: every source and every gRPC
// call touches it.
//
// "In use" is anything that holds a Busy guard: an NDJSON connection, a gRPC call in flight (a
// Watch or Publish stream is one call for as long as it lasts). The daemon adds what it knows
// elsewhere (runs the live hub still follows, a back-fill under way) before it decides to exit;
// see daemon/app/idle_monitor.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ca::runtime {

class ActivityMonitor {
public:
  using Clock = std::chrono::steady_clock;

  ActivityMonitor() { touch(); }

  // Something happened (a commit, a request): the idle time starts again from now.
  void touch() { m_last.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed); }

  // Held while a connection or a call is open; ending it counts as activity.
  class Busy {
  public:
    explicit Busy(ActivityMonitor& m) : m_monitor(&m) {
      m.m_busy.fetch_add(1, std::memory_order_relaxed);
      m.touch();
    }
    Busy(Busy&& other) noexcept : m_monitor(other.m_monitor) { other.m_monitor = nullptr; }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;
    Busy& operator=(Busy&&) = delete;
    ~Busy() {
      if (m_monitor != nullptr) {
        m_monitor->touch();
        m_monitor->m_busy.fetch_sub(1, std::memory_order_relaxed);
      }
    }

  private:
    ActivityMonitor* m_monitor;
  };

  Busy busy() { return Busy(*this); }

  // How many connections and calls are open now.
  uint64_t open() const { return m_busy.load(std::memory_order_relaxed); }

  // Zero while anything is open; else the time since the last activity.
  Clock::duration idle_for() const {
    if (open() != 0) {
      return Clock::duration::zero();
    }
    auto last = Clock::time_point(Clock::duration(m_last.load(std::memory_order_relaxed)));
    auto now = Clock::now();
    return now > last ? now - last : Clock::duration::zero();
  }

private:
  std::atomic<uint64_t> m_busy{0};
  std::atomic<Clock::rep> m_last{0};
};

} // namespace ca::runtime
