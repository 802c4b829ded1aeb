// libFuzzer target: the daemon's TOML config file (shared/daemon_config.hpp).
//
// Any file is read or refused with an error naming the file and line; a refused file changes
// nothing.
#include "shared/daemon_config.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("ca-fuzz-config-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ca::LoadedConfig config;
  auto before = config.entries();
  auto applied = config.apply_file(path, /*must_exist=*/true);
  if (!applied) {
    if (applied.error().message.find(path.filename().string()) == std::string::npos) {
      std::abort(); // the error names the file
    }
    auto after = config.entries();
    if (after.size() != before.size()) {
      std::abort();
    }
    for (size_t i = 0; i < after.size(); ++i) {
      if (after[i].value != before[i].value || after[i].source != before[i].source) {
        std::abort(); // a refused file changes nothing
      }
    }
  }
  return 0;
}
