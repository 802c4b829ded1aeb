#include "daemon/app/startup_error.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace ca::app {

namespace {

constexpr const char* k_program = "cargo-analysisd";

} // namespace

int report_startup_error(const StartupError& error, const std::filesystem::path& spawn_error_file) {
  const std::string text = error.what + (error.hint.empty() ? "" : " (" + error.hint + ")");
  std::fprintf(stderr, "%s: error: %s\n", k_program, text.c_str());
  if (error.exit_code == 2) {
    return 2;
  }
  spdlog::error("{}", error.what);
  if (!spawn_error_file.empty()) {
    // Whole or not at all: the client reads the file as soon as it exists, so it is written
    // beside and renamed into place (a reader once saw it created and still empty).
    const std::string tmp = spawn_error_file.string() + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%s\n", text.c_str());
      if (std::fclose(f) == 0) {
        std::rename(tmp.c_str(), spawn_error_file.c_str());
      }
    }
  }
  return error.exit_code;
}

} // namespace ca::app
