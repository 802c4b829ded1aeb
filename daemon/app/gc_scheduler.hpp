// Retention on a schedule: the policy is applied a minute after start (once start-up, back-fill
// and the first reports have settled), then daily.
//
// The scheduler only decides when. The work (collect_in_background) runs on the writer thread,
// between transactions, never on the io_context; its outcome is logged there.
#pragma once

#include "daemon/store/retention.hpp"
#include "daemon/store/writer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>

namespace ca::app {

class GcScheduler {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration k_first_delay = std::chrono::minutes(1);
  static constexpr Clock::duration k_period = std::chrono::hours(24);

  // `collect` runs on the io_context's thread and must not block: it hands the work over.
  GcScheduler(boost::asio::io_context& io,
              std::function<void()> collect,
              Clock::duration first_delay = k_first_delay,
              Clock::duration period = k_period);

  // Arms the first run.
  void start();

private:
  void arm(Clock::duration delay);

  boost::asio::steady_timer m_timer;
  std::function<void()> m_collect;
  Clock::duration m_first_delay;
  Clock::duration m_period;
};

// Queues one garbage collection with `policy` on the writer thread and returns at once; the
// outcome is logged (error, info when something was deleted, else debug).
void collect_in_background(store::Writer& writer, const store::RetentionPolicy& policy);

} // namespace ca::app
