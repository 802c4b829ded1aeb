#include "shared/display_command.hpp"

#include <string_view>

namespace ca {

std::string display_command(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (i == 0) {
      auto slash = a.rfind('/');
      out = std::string(slash == std::string_view::npos ? a : a.substr(slash + 1));
      continue;
    }
    if (a == "-Zbuild-analysis") {
      continue;
    }
    if (a == "--config" && i + 1 < argv.size() && argv[i + 1].rfind("build.analysis.", 0) == 0) {
      ++i;
      continue;
    }
    out += ' ';
    out += a;
  }
  return out;
}

} // namespace ca
