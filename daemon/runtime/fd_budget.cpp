#include "daemon/runtime/fd_budget.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace ca::runtime {

FdLimit raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return FdLimit{1024, 1024, 1024};
  }
  FdLimit out{rl.rlim_cur, rl.rlim_cur, rl.rlim_max};
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      out.now = raised.rlim_cur;
    }
  }
  return out;
}

uint64_t fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return rl.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : 1024;
  }
  return rl.rlim_cur;
}

uint64_t connection_cap(uint64_t nofile) {
  const uint64_t spare = nofile > k_reserved_fds ? nofile - k_reserved_fds : 0;
  return std::clamp<uint64_t>(spare / 4, 16, 4096);
}

} // namespace ca::runtime
