// Set once by whoever asks first (a signal, Admin.Shutdown, the idle monitor); main waits for it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>

namespace ca::app {

class ShutdownLatch {
public:
  // Asks for the shutdown; the first reason wins, later requests are ignored. Thread-safe.
  void request(const char* why);

  // Blocks until request() was called; returns the first reason.
  std::string wait();

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_requested = false;
  std::string m_why;
};

} // namespace ca::app
