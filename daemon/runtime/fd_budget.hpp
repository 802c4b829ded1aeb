// File descriptors as a budget: a connection flood must not leave the daemon without a
// descriptor for its database, its log files or the admin socket.
//
// At start the soft RLIMIT_NOFILE is raised to the hard limit (the soft default of 1024 is a
// relic of select(2); we use epoll). Each listening socket then caps its open connections at a
// share of that limit, keeping a reserve for everything else, and a connection over the cap is
// refused at once instead of being left to exhaust the table (EMFILE).
#pragma once

#include <cstdint>

namespace ca::runtime {

struct FdLimit {
  uint64_t before = 0; // the soft limit we were started with
  uint64_t now = 0;    // the soft limit from here on
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard one. Never fails: if setrlimit refuses, `now` is
// the old soft limit.
FdLimit raise_fd_limit();

// The current soft RLIMIT_NOFILE (1024 if it cannot be read).
uint64_t fd_limit();

// Descriptors kept for everything but client connections (database, WAL, log files, inotify,
// gRPC's threads and pipes, the daemon log).
inline constexpr uint64_t k_reserved_fds = 160;

// Open connections allowed on one listening socket under a soft limit of `nofile`: a quarter of
// what is left after the reserve (the daemon has three sockets), at least 16, at most 4096.
uint64_t connection_cap(uint64_t nofile);

} // namespace ca::runtime
