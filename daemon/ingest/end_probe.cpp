#include "daemon/ingest/end_probe.hpp"

#include <sys/stat.h>

namespace ca::ingest {

std::optional<runtime::Clock::wall_time_point>
empty_file_changed_at(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size != 0) {
    return std::nullopt;
  }
  return runtime::Clock::wall_time_point(
      std::chrono::duration_cast<runtime::Clock::wall_time_point::duration>(
          std::chrono::seconds(st.st_ctim.tv_sec) + std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
}

} // namespace ca::ingest
