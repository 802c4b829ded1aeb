#include "daemon/app/gc_scheduler.hpp"

#include <spdlog/spdlog.h>

namespace ca::app {

GcScheduler::GcScheduler(boost::asio::io_context& io,
                         std::function<void()> collect,
                         Clock::duration first_delay,
                         Clock::duration period)
    : m_timer(io), m_collect(std::move(collect)), m_first_delay(first_delay), m_period(period) {}

void GcScheduler::start() {
  arm(m_first_delay);
}

void GcScheduler::arm(Clock::duration delay) {
  m_timer.expires_after(delay);
  m_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return; // cancelled: the io_context is stopping
    }
    m_collect();
    arm(m_period);
  });
}

void collect_in_background(store::Writer& writer, const store::RetentionPolicy& policy) {
  // The future is dropped: a promise's future does not wait in its destructor.
  (void)writer.run_exclusive<store::GcOutcome>([policy](store::Database& database) {
    auto r = store::collect_garbage(database, policy);
    if (!r) {
      spdlog::error("gc: {}", r.error().message);
    } else if (r->sessions_deleted > 0 || r->vacuumed) {
      spdlog::info("gc: {}", store::describe(*r));
    } else {
      spdlog::debug("gc: nothing to delete ({} sessions kept)", r->sessions_kept);
    }
    return r;
  });
}

} // namespace ca::app
