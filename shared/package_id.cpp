#include "shared/package_id.hpp"

#include <cctype>

namespace ca {
namespace {

bool looks_like_version(std::string_view s) {
  return !s.empty() && std::isdigit(static_cast<unsigned char>(s.front())) != 0;
}

// The last path segment of a URL (query string dropped, trailing slashes ignored).
std::string_view last_segment(std::string_view url) {
  if (auto q = url.find('?'); q != std::string_view::npos) {
    url = url.substr(0, q);
  }
  while (!url.empty() && url.back() == '/') {
    url.remove_suffix(1);
  }
  auto slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

} // namespace

PackageName parse_package_id(std::string_view spec) {
  auto hash = spec.rfind('#');
  if (hash == std::string_view::npos) {
    // A bare spec: `name`, `name@version`.
    auto at = spec.find('@');
    if (at == std::string_view::npos || spec.find("://") != std::string_view::npos) {
      return {std::string(spec.find("://") != std::string_view::npos ? last_segment(spec) : spec),
              {}};
    }
    return {std::string(spec.substr(0, at)), std::string(spec.substr(at + 1))};
  }
  std::string_view url = spec.substr(0, hash);
  std::string_view fragment = spec.substr(hash + 1);
  if (auto at = fragment.find('@'); at != std::string_view::npos) {
    return {std::string(fragment.substr(0, at)), std::string(fragment.substr(at + 1))};
  }
  if (looks_like_version(fragment)) {
    return {std::string(last_segment(url)), std::string(fragment)};
  }
  return {std::string(fragment), {}};
}

} // namespace ca
