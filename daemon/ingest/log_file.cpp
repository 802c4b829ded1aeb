#include "daemon/ingest/log_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace ca::ingest {

namespace {

constexpr std::string_view k_suffix = ".jsonl";

} // namespace

bool is_log_name(std::string_view name) {
  return name.size() > k_suffix.size() && name.substr(name.size() - k_suffix.size()) == k_suffix;
}

LogOpen open_log(const std::filesystem::path& path) {
  LogOpen out;
  struct stat lst {};
  if (::lstat(path.c_str(), &lst) != 0) {
    out.gone = errno == ENOENT;
    out.error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return out;
  }
  std::filesystem::path target = path;
  if (S_ISLNK(lst.st_mode)) {
    std::error_code ec;
    std::error_code dir_ec;
    auto resolved = std::filesystem::canonical(path, ec);
    auto dir = std::filesystem::canonical(path.parent_path(), dir_ec);
    struct stat tst {};
    if (ec || dir_ec || resolved.parent_path() != dir || ::stat(resolved.c_str(), &tst) != 0 ||
        !S_ISREG(tst.st_mode) || is_log_name(resolved.filename().string())) {
      out.refused = "a symlink that does not lead to a regular file of the log directory (only "
                    "such a link is followed)";
      return out;
    }
    target = resolved;
  } else if (!S_ISREG(lst.st_mode)) {
    out.refused = S_ISFIFO(lst.st_mode)   ? "a FIFO, not a regular file"
                  : S_ISDIR(lst.st_mode)  ? "a directory, not a regular file"
                  : S_ISSOCK(lst.st_mode) ? "a socket, not a regular file"
                                          : "a device, not a regular file";
    return out;
  }
  out.fd.reset(::open(target.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
  if (!out.fd) {
    out.gone = errno == ENOENT;
    out.error = "cannot open " + path.string() + ": " + std::strerror(errno);
    if (errno == ELOOP) { // replaced by a symlink since the lstat: looked at again next time
      out.gone = false;
      out.error.clear();
      out.refused = "replaced by a symlink while being opened";
    }
    return out;
  }
  if (::fstat(out.fd.get(), &out.st) != 0 || !S_ISREG(out.st.st_mode)) {
    out.fd.reset();
    out.refused = "not a regular file";
  }
  return out;
}

} // namespace ca::ingest
