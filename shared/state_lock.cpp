#include "shared/state_lock.hpp"

#include "shared/safe_text.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ca {

Result<int> take_state_lock(const std::filesystem::path& state_dir,
                            const std::filesystem::path& runtime_dir) {
  const auto path = state_dir / "daemon.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return unexpected(ErrorCode::io,
                      "cannot open " + safe_text(path.string()) + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[4096] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return unexpected(ErrorCode::io,
                        "cannot lock " + safe_text(path.string()) + ": " + std::strerror(err));
    }
    // The holder writes its content right after it locks: it may not be there yet.
    std::string content = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    const size_t nl = content.find('\n');
    std::string pid = content.substr(0, nl);
    std::string runtime = nl == std::string::npos ? std::string() : content.substr(nl + 1);
    if (!runtime.empty() && runtime.back() == '\n') {
      runtime.pop_back();
    }
    pid = pid.empty() ? "unknown" : safe_text(pid);
    runtime = runtime.empty() ? "unknown" : safe_text(runtime);
    return unexpected(ErrorCode::failed_precondition,
                      "another cargo-analysisd (pid " + pid + ", runtime dir " + runtime +
                          ") uses the state dir " + safe_text(state_dir.string()) +
                          " (stop it with: cargo-analysis-client --runtime-dir " + runtime +
                          " stop)");
  }
  const std::string content = std::to_string(::getpid()) + "\n" + runtime_dir.string() + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) {
    const int err = errno;
    ::close(fd);
    return unexpected(ErrorCode::io,
                      "cannot write " + safe_text(path.string()) + ": " + std::strerror(err));
  }
  return fd;
}

} // namespace ca
