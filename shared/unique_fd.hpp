// A file descriptor that closes itself: the one RAII owner of a raw fd in the project (the log
// watcher's reads, the client's `ingest` file and socket).
//
// Move-only. A negative value means "none"; close(2) errors are ignored, as there is nothing a
// reader could do about them and the fd is gone either way.
#pragma once

#include <unistd.h>

#include <utility>

namespace ca {

class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }

  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }

  // Gives up ownership without closing.
  int release() { return std::exchange(m_fd, -1); }

  // Closes the fd held, if any, and holds `fd` instead.
  void reset(int fd = -1) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

} // namespace ca
