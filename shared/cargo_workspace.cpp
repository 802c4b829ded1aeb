#include "shared/cargo_workspace.hpp"

#include <filesystem>

namespace ca {

bool outside_any_cargo_workspace(const std::string& dir) {
  namespace fs = std::filesystem;
  if (dir.empty()) {
    return false;
  }
  std::error_code ec;
  for (fs::path p = fs::path(dir).lexically_normal(); !p.empty();) {
    if (fs::is_regular_file(p / "Cargo.toml", ec)) {
      return false;
    }
    fs::path parent = p.parent_path();
    if (parent == p) {
      break;
    }
    p = std::move(parent);
  }
  return true;
}

} // namespace ca
