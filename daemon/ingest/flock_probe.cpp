#include "daemon/ingest/flock_probe.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ca::ingest {

Result<LockState> probe_writer_lock(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) {
      return LockState::gone;
    }
    return unexpected(ErrorCode::io, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  LockState state = LockState::free;
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
  } else if (errno == EWOULDBLOCK) {
    state = LockState::held;
  } else {
    int err = errno;
    ::close(fd);
    return unexpected(ErrorCode::io,
                      "cannot probe the lock of " + path.string() + ": " + std::strerror(err));
  }
  ::close(fd);
  return state;
}

} // namespace ca::ingest
