#include "shared/package_id_spec.hpp"

#include "shared/package_id.hpp"
#include "shared/safe_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

namespace ca {
namespace {

constexpr const char* k_version_hint = "unexpected version requirement, expected a version like "
                                       "\"1.32\"";

Unexpected invalid(std::string_view text, const std::string& why) {
  return unexpected(ErrorCode::invalid_argument,
                    "invalid package ID specification: `" + safe_text(text) + "`: " + why);
}

std::optional<uint64_t> number(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s.front() == '0')) {
    return std::nullopt;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

bool identifier_part(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

// `1`, `1.2`, `1.2.3`, `1.2.3-pre`, `1.2.3+build`, `1.2.3-pre+build`.
std::optional<PartialVersion> parse_version(std::string_view s) {
  PartialVersion v;
  std::string_view core = s;
  if (auto plus = core.find('+'); plus != std::string_view::npos) {
    v.build = std::string(core.substr(plus + 1));
    core = core.substr(0, plus);
    if (!identifier_part(v.build)) {
      return std::nullopt;
    }
  }
  if (auto dash = core.find('-'); dash != std::string_view::npos) {
    v.pre = std::string(core.substr(dash + 1));
    core = core.substr(0, dash);
    if (!identifier_part(v.pre)) {
      return std::nullopt;
    }
  }
  std::optional<uint64_t> parts[3];
  size_t n = 0;
  while (true) {
    auto dot = core.find('.');
    if (n == 3) {
      return std::nullopt;
    }
    parts[n] = number(core.substr(0, dot));
    if (!parts[n]) {
      return std::nullopt;
    }
    ++n;
    if (dot == std::string_view::npos) {
      break;
    }
    core = core.substr(dot + 1);
  }
  if ((!v.pre.empty() || !v.build.empty()) && n != 3) {
    return std::nullopt;
  }
  v.major = *parts[0];
  v.minor = parts[1];
  v.patch = parts[2];
  return v;
}

// Cargo accepts Unicode XID names; ASCII letters, digits, `-`, `_` and any non-ASCII byte here.
Result<void> check_name(std::string_view text, std::string_view name) {
  if (name.empty()) {
    return invalid(text, "package name cannot be empty");
  }
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) == 0 && c != '-' && c != '_' && u < 0x80) {
      return invalid(text, "invalid character `" + safe_text(std::string_view(&c, 1)) +
                               "` in package name: `" + safe_text(name) +
                               "`, characters must be Unicode XID characters (numbers, `-`, "
                               "`_`, or most letters)");
    }
  }
  return {};
}

// `name` or `name@version`; the version is checked and stored.
Result<void> name_and_version(std::string_view text, std::string_view part, PackageIdSpec& out) {
  std::string_view name = part;
  if (auto at = part.find('@'); at != std::string_view::npos) {
    name = part.substr(0, at);
    auto v = parse_version(part.substr(at + 1));
    if (!v) {
      return invalid(text, k_version_hint);
    }
    out.version = std::move(v);
  }
  CA_TRY(check_name(text, name));
  out.name = std::string(name);
  return {};
}

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

std::string_view without_trailing_slash(std::string_view url) {
  while (url.size() > 1 && url.back() == '/') {
    url.remove_suffix(1);
  }
  return url;
}

// Cargo's edit distance (Levenshtein), capped: nullopt when above `limit`.
std::optional<size_t> edit_distance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) {
    return std::nullopt;
  }
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()] <= limit ? std::optional<size_t>(prev[b.size()]) : std::nullopt;
}

// The shortest spec that names `id` among `all`: `name@version`, or the full id when another
// package has the same name and version (another source).
std::string minimal_spec(const std::string& id, const std::set<std::string>& all) {
  PackageName n = parse_package_id(id);
  std::string short_spec = n.version.empty() ? n.name : n.name + "@" + n.version;
  for (const std::string& other : all) {
    PackageName o = parse_package_id(other);
    if (other != id && o.name == n.name && o.version == n.version) {
      return id;
    }
  }
  return short_spec;
}

} // namespace

bool PartialVersion::matches(std::string_view version) const {
  auto v = parse_version(version);
  if (!v || !v->minor || !v->patch) {
    return false;
  }
  return major == v->major && (!minor || minor == v->minor) && (!patch || patch == v->patch) &&
         (pre.empty() || pre == v->pre) && (build.empty() || build == v->build);
}

Result<PackageIdSpec> parse_package_id_spec(std::string_view text) {
  PackageIdSpec out;
  out.text = std::string(text);
  std::string_view s = text;
  const auto scheme = s.find("://");
  if (scheme == std::string_view::npos) {
    if (s.find('/') != std::string_view::npos || s.find('\\') != std::string_view::npos) {
      return invalid(text, "package ID specification `" + safe_text(text) +
                               "` looks like a file path, maybe try file://" +
                               (s.front() == '/' ? std::string(s) : std::string("/...")));
    }
    CA_TRY(name_and_version(text, s, out));
    return out;
  }
  // `[kind+]scheme://...[#fragment]`
  std::string_view url = s;
  std::string_view fragment;
  bool has_fragment = false;
  if (auto hash = s.find('#'); hash != std::string_view::npos) {
    url = s.substr(0, hash);
    fragment = s.substr(hash + 1);
    has_fragment = true;
  }
  if (auto plus = url.find('+'); plus != std::string_view::npos && plus < scheme) {
    std::string_view kind = url.substr(0, plus);
    if (kind != "registry" && kind != "sparse" && kind != "git" && kind != "path") {
      return invalid(text, "unsupported source protocol: " + safe_text(kind));
    }
    out.kind = std::string(kind);
    url = url.substr(plus + 1);
  }
  out.url = std::string(without_trailing_slash(url));
  if (!has_fragment) {
    CA_TRY(check_name(text, last_segment(url)));
    out.name = std::string(last_segment(url));
    return out;
  }
  if (!fragment.empty() && std::isdigit(static_cast<unsigned char>(fragment.front())) != 0) {
    auto v = parse_version(fragment);
    if (!v) {
      return invalid(text, k_version_hint);
    }
    out.version = std::move(v);
    CA_TRY(check_name(text, last_segment(url)));
    out.name = std::string(last_segment(url));
    return out;
  }
  CA_TRY(name_and_version(text, fragment, out));
  return out;
}

bool PackageIdSpec::matches(std::string_view package_id) const {
  auto id = parse_package_id_spec(package_id);
  if (!id) {
    // Not a form cargo writes: compare what can be read of it.
    PackageName n = parse_package_id(package_id);
    return n.name == name && !version && url.empty();
  }
  if (id->name != name) {
    return false;
  }
  if (version) {
    if (!id->version || !id->version->minor || !id->version->patch) {
      return false;
    }
    std::string full = std::to_string(id->version->major) + "." +
                       std::to_string(*id->version->minor) + "." +
                       std::to_string(*id->version->patch);
    if (!id->version->pre.empty()) {
      full += "-" + id->version->pre;
    }
    if (!id->version->build.empty()) {
      full += "+" + id->version->build;
    }
    if (!version->matches(full)) {
      return false;
    }
  }
  if (!kind.empty() && kind != id->kind) {
    return false;
  }
  return url.empty() || url == id->url;
}

bool any_spec_matches(const std::vector<PackageIdSpec>& specs, std::string_view package_id) {
  return specs.empty() || std::any_of(specs.begin(), specs.end(), [&](const PackageIdSpec& s) {
           return s.matches(package_id);
         });
}

Result<void> check_package_specs(const std::vector<PackageIdSpec>& specs,
                                 const std::vector<std::string>& package_ids) {
  const std::set<std::string> all(package_ids.begin(), package_ids.end());
  for (const PackageIdSpec& spec : specs) {
    std::set<std::string> matched;
    for (const std::string& id : all) {
      if (spec.matches(id)) {
        matched.insert(id);
      }
    }
    if (matched.size() > 1) {
      // Cargo 1.95's words (its message spells "specificationm"; the word is meant).
      std::string msg = "specification `" + safe_text(spec.text) +
                        "` is ambiguous\nhelp: re-run this command with one of the following "
                        "specifications";
      for (const std::string& id : matched) {
        msg += "\n  " + safe_text(minimal_spec(id, all));
      }
      return unexpected(ErrorCode::invalid_argument, std::move(msg));
    }
    if (!matched.empty()) {
      continue;
    }
    std::string msg =
        "package ID specification `" + safe_text(spec.text) + "` did not match any packages";
    // Cargo's help: the same name and version from any source, for a spec with a source; else
    // the closest name.
    std::set<std::string> similar;
    if (!spec.url.empty()) {
      PackageIdSpec loose = spec;
      loose.url.clear();
      loose.kind.clear();
      for (const std::string& id : all) {
        if (loose.matches(id)) {
          similar.insert(id);
        }
      }
    }
    if (!similar.empty()) {
      msg += "\nhelp: there are similar package ID specifications:\n";
      for (const std::string& id : similar) {
        msg += "\n  " + safe_text(minimal_spec(id, all));
      }
    } else {
      std::optional<size_t> best;
      std::string best_name;
      for (const std::string& id : all) {
        std::string name = parse_package_id(id).name;
        auto d = edit_distance(spec.name, name, 3);
        if (d && (!best || *d < *best || (*d == *best && name < best_name))) {
          best = d;
          best_name = name;
        }
      }
      if (best) {
        msg += "\n\nhelp: a package with a similar name exists: `" + safe_text(best_name) + "`";
      }
    }
    return unexpected(ErrorCode::not_found, std::move(msg));
  }
  return {};
}

} // namespace ca
