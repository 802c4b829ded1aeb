#include "daemon/app/shutdown_latch.hpp"

namespace ca::app {

void ShutdownLatch::request(const char* why) {
  std::lock_guard lock(m_mutex);
  if (!m_requested) {
    m_requested = true;
    m_why = why;
    m_cv.notify_all();
  }
}

std::string ShutdownLatch::wait() {
  std::unique_lock lock(m_mutex);
  m_cv.wait(lock, [&] { return m_requested; });
  return m_why;
}

} // namespace ca::app
