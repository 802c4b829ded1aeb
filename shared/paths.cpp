#include "shared/paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ca {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::filesystem::path home() {
  std::string h = env("HOME");
  return h.empty() ? std::filesystem::path("/") : std::filesystem::path(h);
}

} // namespace

std::filesystem::path runtime_dir(const std::string& flag_value) {
  if (!flag_value.empty()) {
    return flag_value;
  }
  if (auto v = env("CARGO_ANALYSIS_RUNTIME_DIR"); !v.empty()) {
    return v;
  }
  if (auto v = env("XDG_RUNTIME_DIR"); !v.empty()) {
    return std::filesystem::path(v) / "cargo-analysis";
  }
  return "/tmp/cargo-analysis-" + std::to_string(getuid());
}

std::filesystem::path state_dir(const std::string& flag_value) {
  if (!flag_value.empty()) {
    return flag_value;
  }
  if (auto v = env("CARGO_ANALYSIS_STATE_DIR"); !v.empty()) {
    return v;
  }
  if (auto v = env("XDG_STATE_HOME"); !v.empty()) {
    return std::filesystem::path(v) / "cargo-analysis";
  }
  return home() / ".local/state/cargo-analysis";
}

std::filesystem::path cargo_log_dir() {
  if (auto v = env("CARGO_HOME"); !v.empty()) {
    return std::filesystem::path(v) / "log";
  }
  return home() / ".cargo/log";
}

Result<void> ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (dir.has_parent_path()) {
      std::filesystem::create_directories(dir.parent_path(), ec);
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return unexpected(ErrorCode::io,
                        "cannot create " + dir.string() + ": " + std::strerror(errno));
    }
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return unexpected(ErrorCode::io, "cannot stat " + dir.string() + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return unexpected(ErrorCode::failed_precondition, dir.string() + " is not a directory");
  }
  if (st.st_uid != ::getuid()) {
    return unexpected(ErrorCode::failed_precondition,
                      dir.string() + " is owned by uid " + std::to_string(st.st_uid) +
                          ", not by us (uid " + std::to_string(::getuid()) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    if (::chmod(dir.c_str(), 0700) != 0) {
      return unexpected(ErrorCode::failed_precondition,
                        dir.string() + " is accessible to other users and chmod 0700 failed: " +
                            std::strerror(errno));
    }
  }
  return {};
}

Result<void> check_writable_dir(const std::filesystem::path& dir) {
  // access(W_OK) would pass for root on a read-only file system's permissions alone: create a
  // file, which the kernel refuses with EROFS for everyone.
  const auto probe = dir / (".write-probe-" + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EROFS) {
      return unexpected(ErrorCode::failed_precondition,
                        dir.string() + " is on a read-only file system: the daemon stores builds "
                                       "there and cannot run without writing it");
    }
    if (err == EACCES || err == EPERM) {
      return unexpected(ErrorCode::failed_precondition,
                        dir.string() + " is not writable by us: " + std::strerror(err));
    }
    return {}; // ENOSPC, EDQUOT, EEXIST...: not a reason to refuse reads
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

} // namespace ca
