#include "daemon/app/idle_monitor.hpp"

#include <algorithm>

namespace ca::app {

IdleMonitor::IdleMonitor(boost::asio::io_context& io,
                         const runtime::ActivityMonitor& activity,
                         Clock::duration limit,
                         std::function<bool()> in_use,
                         std::function<void()> on_idle)
    : m_timer(io), m_activity(activity), m_limit(limit), m_in_use(std::move(in_use)),
      m_on_idle(std::move(on_idle)) {}

IdleMonitor::Clock::duration IdleMonitor::check_period(Clock::duration limit) {
  return std::clamp<Clock::duration>(limit / 4, std::chrono::milliseconds(100),
                                     std::chrono::seconds(5));
}

bool IdleMonitor::idle() const {
  return m_activity.idle_for() >= m_limit && !(m_in_use && m_in_use());
}

void IdleMonitor::start() {
  arm();
}

void IdleMonitor::arm() {
  m_timer.expires_after(check_period(m_limit));
  m_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return; // cancelled: the io_context is stopping
    }
    if (idle()) {
      m_on_idle();
      return;
    }
    arm();
  });
}

} // namespace ca::app
