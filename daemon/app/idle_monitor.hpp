// The idle timeout (`--idle-timeout S`): asks for the shutdown once nothing has happened for that
// long, no connection or call is open, and nothing else keeps the daemon in use (a build in
// progress, a back-fill under way: `in_use`).
//
// It checks on the io_context's timer, a quarter of the timeout apart (0.1 s to 5 s): checks
// are cheap, and the exit stays close to the timeout.
#pragma once

#include "daemon/runtime/activity.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>

namespace ca::app {

class IdleMonitor {
public:
  using Clock = std::chrono::steady_clock;

  // `in_use` and `on_idle` run on the io_context's thread; `on_idle` once, then checks end.
  IdleMonitor(boost::asio::io_context& io,
              const runtime::ActivityMonitor& activity,
              Clock::duration limit,
              std::function<bool()> in_use,
              std::function<void()> on_idle);

  // Starts checking (the first check one period from now).
  void start();

  // Whether the daemon is idle now.
  bool idle() const;

  // Time between two checks for a timeout of `limit`.
  static Clock::duration check_period(Clock::duration limit);

private:
  void arm();

  boost::asio::steady_timer m_timer;
  const runtime::ActivityMonitor& m_activity;
  Clock::duration m_limit;
  std::function<bool()> m_in_use;
  std::function<void()> m_on_idle;
};

} // namespace ca::app
