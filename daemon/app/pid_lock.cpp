#include "daemon/app/pid_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ca::app {

Result<PidLock> PidLock::take(const std::filesystem::path& runtime_dir) {
  const auto path = runtime_dir / "daemon.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected(ErrorCode::io, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  PidLock lock(fd); // closes the file on every path below
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
      pid.pop_back();
    }
    return unexpected(ErrorCode::failed_precondition,
                      "another cargo-analysisd (pid " + pid + ") holds " + path.string());
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    return unexpected(ErrorCode::io, "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return lock;
}

PidLock::~PidLock() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

} // namespace ca::app
