// The one-daemon-per-user lock: an flock on <runtime>/daemon.lock that holds our pid.
#pragma once

#include "shared/error.hpp"

#include <filesystem>

namespace ca::app {

class PidLock {
public:
  // Takes the lock and writes our pid into the file. Returns failed_precondition naming the
  // holder's pid and the file if another process holds it, or an io error naming the file.
  static Result<PidLock> take(const std::filesystem::path& runtime_dir);

  PidLock(PidLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  PidLock& operator=(PidLock&&) = delete;
  PidLock(const PidLock&) = delete;
  PidLock& operator=(const PidLock&) = delete;
  ~PidLock(); // releases the lock

private:
  explicit PidLock(int fd) : m_fd(fd) {}
  int m_fd;
};

} // namespace ca::app
