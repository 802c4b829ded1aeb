// A cargo log file as the log watcher finds it: which names are logs, and how one is opened
// without trusting what the name points at.
#pragma once

#include "shared/unique_fd.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ca::ingest {

// Whether `name` is named like a cargo build-analysis log: `*.jsonl`.
bool is_log_name(std::string_view name);

// What a path named like a log turned out to be (see open_log).
struct LogOpen {
  UniqueFd fd;         // open for reading, a regular file; none otherwise
  struct stat st {};   // of `fd`
  bool gone = false;   // no such file (any more)
  std::string refused; // why it is not read at all: not a regular file of the log dir
  std::string error;   // an error opening it (permission denied, ...)
};

// Opens a file named like a log under the watcher's rules, never blocking:
// - a regular file is opened with O_NOFOLLOW | O_NONBLOCK and checked again with fstat (it may
//   have been replaced since it was looked at);
// - a symlink is followed only to a regular file directly inside the same log directory that is
//   not itself named like a log (that one is read under its own name; reading it twice would
//   store its run twice over): a symlink out of the log dir would let a file name choose what we
//   read (`/etc/passwd`), and one to a FIFO, device or directory would hang or feed garbage;
// - anything else (FIFO, socket, device, directory) is refused without being opened, so a FIFO's
//   writer is neither released nor sent SIGPIPE by us.
LogOpen open_log(const std::filesystem::path& path);

} // namespace ca::ingest
