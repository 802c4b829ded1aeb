#include "shared/daemon_config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <variant>

namespace ca {
namespace {

using Field = std::variant<bool DaemonConfig::*,
                           std::string DaemonConfig::*,
                           std::vector<std::string> DaemonConfig::*,
                           double DaemonConfig::*,
                           uint32_t DaemonConfig::*,
                           uint64_t DaemonConfig::*>;

// One setting: its place in the file, its flag ("" for file-only keys) and its field. The table
// drives parsing, flag precedence and `status` alike, so a new flag is one line here.
struct Key {
  std::string_view table; // "" for the top level
  std::string_view name;
  std::string_view flag;
  Field field;
  std::string_view choices = {}; // space-separated allowed strings, if limited
  bool is_path = false;          // absolute or "~/..."
};

const Key k_keys[] = {
    {"", "foreground", "--foreground", &DaemonConfig::foreground},
    {"", "runtime_dir", "--runtime-dir", &DaemonConfig::runtime_dir, {}, true},
    {"", "state_dir", "--state-dir", &DaemonConfig::state_dir, {}, true},
    {"", "watch_dirs", "--watch-dir", &DaemonConfig::watch_dirs, {}, true},
    {"", "no_watch", "--no-watch", &DaemonConfig::no_watch},
    {"", "idle_timeout", "--idle-timeout", &DaemonConfig::idle_timeout},
    {"", "log_level", "--log-level", &DaemonConfig::log_level, "trace debug info warn error"},
    {"retention", "keep_days", "--keep-days", &DaemonConfig::keep_days},
    {"retention", "keep_sessions", "--keep-sessions", &DaemonConfig::keep_sessions},
    {"retention", "max_db_mb", "--max-db-mb", &DaemonConfig::max_db_mb},
    {"team", "url", "--team-url", &DaemonConfig::team_url},
    {"team", "machine", "--team-machine", &DaemonConfig::team_machine},
};
constexpr size_t k_key_count = std::size(k_keys);

std::string full_name(const Key& k) {
  return k.table.empty() ? std::string(k.name) : fmt::format("{}.{}", k.table, k.name);
}

bool is_table_name(std::string_view name) {
  for (const Key& k : k_keys) {
    if (!k.table.empty() && k.table == name) {
      return true;
    }
  }
  return false;
}

// The keys of one table, for the hint of an unknown key: "keep_days, keep_sessions, ...".
std::string known_keys(std::string_view table) {
  std::string out;
  std::string tables;
  for (const Key& k : k_keys) {
    if (k.table == table) {
      out += (out.empty() ? "" : ", ") + std::string(k.name);
    } else if (table.empty() && tables.find(fmt::format("[{}]", k.table)) == std::string::npos) {
      tables += fmt::format(", [{}]", k.table);
    }
  }
  return out + tables;
}

const char* type_name(toml::node_type t) {
  switch (t) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// Parses one file into a copy of the values; errors name the file, the line and the key.
class FileReader {
public:
  FileReader(std::string file, DaemonConfig& values, std::vector<bool>& set)
      : m_file(std::move(file)), m_values(values), m_set(set) {}

  Result<void> table(const toml::table& tbl, std::string_view prefix) {
    for (auto&& [key, node] : tbl) {
      std::string_view name = key.str();
      uint32_t line =
          key.source().begin.line != 0 ? key.source().begin.line : node.source().begin.line;
      if (prefix.empty() && is_table_name(name)) {
        const auto* sub = node.as_table();
        if (sub == nullptr) {
          return fail(line, fmt::format("`{}` must be a table ([{}]), not {}", name, name,
                                        type_name(node.type())));
        }
        CA_TRY(table(*sub, name));
        continue;
      }
      size_t index = k_key_count;
      for (size_t i = 0; i < k_key_count; ++i) {
        if (k_keys[i].table == prefix && k_keys[i].name == name) {
          index = i;
        }
      }
      if (index == k_key_count) {
        std::string where = prefix.empty() ? "" : fmt::format(" in [{}]", prefix);
        return fail(line,
                    fmt::format("unknown key `{}`{} (known: {})", name, where, known_keys(prefix)));
      }
      CA_TRY(value(k_keys[index], node, line));
      m_set[index] = true;
    }
    return {};
  }

private:
  Unexpected fail(uint32_t line, const std::string& what) const {
    return unexpected(ErrorCode::invalid_argument, fmt::format("{}:{}: {}", m_file, line, what));
  }

  Unexpected wrong_type(const Key& k, const toml::node& node, uint32_t line, const char* want) {
    return fail(line,
                fmt::format("`{}` must be {}, not {}", full_name(k), want, type_name(node.type())));
  }

  Result<std::string> text(const Key& k, const toml::node& node, uint32_t line) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      return wrong_type(k, node, line, k.is_path ? "a string (a path)" : "a string");
    }
    std::string v = s->get();
    if (k.is_path) {
      if (v == "~" || v.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        v = std::string(home != nullptr ? home : "") + v.substr(1);
      }
      if (v.empty() || v.front() != '/') {
        return fail(line, fmt::format("`{}` must be an absolute path or start with ~/, not {}",
                                      full_name(k), quote(v)));
      }
    }
    if (!k.choices.empty()) {
      bool ok = false;
      std::istringstream words{std::string(k.choices)};
      for (std::string w; words >> w;) {
        ok = ok || w == v;
      }
      if (!ok) {
        return fail(
            line, fmt::format("`{}` must be one of {}, not {}", full_name(k), k.choices, quote(v)));
      }
    }
    return v;
  }

  Result<uint64_t> integer(const Key& k, const toml::node& node, uint32_t line, uint64_t max) {
    const auto* i = node.as_integer();
    if (i == nullptr || i->get() < 0 || static_cast<uint64_t>(i->get()) > max) {
      return wrong_type(k, node, line,
                        max == std::numeric_limits<uint32_t>::max()
                            ? "a non-negative integer below 2^32"
                            : "a non-negative integer");
    }
    return static_cast<uint64_t>(i->get());
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line) {
    return std::visit([&](auto member) { return value(k, node, line, m_values.*member); }, k.field);
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line, bool& out) {
    const auto* b = node.as_boolean();
    if (b == nullptr) {
      return wrong_type(k, node, line, "a boolean (true or false)");
    }
    out = b->get();
    return {};
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line, std::string& out) {
    CA_TRY_ASSIGN(out, text(k, node, line));
    return {};
  }

  Result<void>
  value(const Key& k, const toml::node& node, uint32_t line, std::vector<std::string>& out) {
    const auto* a = node.as_array();
    if (a == nullptr) {
      return wrong_type(k, node, line, "an array of strings");
    }
    std::vector<std::string> list;
    for (const toml::node& item : *a) {
      uint32_t item_line = item.source().begin.line != 0 ? item.source().begin.line : line;
      if (!item.is_string()) {
        return fail(item_line, fmt::format("`{}` must be an array of strings, not of {}",
                                           full_name(k), type_name(item.type())));
      }
      CA_TRY_ASSIGN(auto s, text(k, item, item_line));
      list.push_back(std::move(s));
    }
    out = std::move(list);
    return {};
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line, double& out) {
    std::optional<double> v;
    if (const auto* i = node.as_integer()) {
      v = static_cast<double>(i->get());
    } else if (const auto* d = node.as_floating_point()) {
      v = d->get();
    }
    if (!v || !std::isfinite(*v) || *v < 0) {
      return wrong_type(k, node, line, "a non-negative number of seconds");
    }
    out = *v;
    return {};
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line, uint32_t& out) {
    CA_TRY_ASSIGN(auto v, integer(k, node, line, std::numeric_limits<uint32_t>::max()));
    out = static_cast<uint32_t>(v);
    return {};
  }

  Result<void> value(const Key& k, const toml::node& node, uint32_t line, uint64_t& out) {
    CA_TRY_ASSIGN(out, integer(k, node, line, std::numeric_limits<int64_t>::max()));
    return {};
  }

  std::string m_file;
  DaemonConfig& m_values;
  std::vector<bool>& m_set;
};

std::string render(const DaemonConfig& c, const Field& field) {
  return std::visit(
      [&c](auto member) -> std::string {
        const auto& v = c.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quote(v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out = "[";
          for (const auto& s : v) {
            out += (out.size() > 1 ? ", " : "") + quote(s);
          }
          return out + "]";
        } else if constexpr (std::is_same_v<T, double>) {
          return fmt::format("{}", v);
        } else {
          return std::to_string(v);
        }
      },
      field);
}

} // namespace

const char* to_string(ConfigSource source) {
  switch (source) {
  case ConfigSource::default_value:
    return "default";
  case ConfigSource::file:
    return "file";
  case ConfigSource::env:
    return "env";
  case ConfigSource::flag:
    return "flag";
  }
  return "?";
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

std::filesystem::path
config_file_path(const std::string& flag, const EnvLookup& env, bool* explicit_path) {
  auto given = [&](std::filesystem::path p) {
    if (explicit_path != nullptr) {
      *explicit_path = true;
    }
    return p;
  };
  if (explicit_path != nullptr) {
    *explicit_path = false;
  }
  if (!flag.empty()) {
    return given(flag);
  }
  if (auto v = env("CARGO_ANALYSIS_CONFIG"); v && !v->empty()) {
    return given(*v);
  }
  if (auto v = env("XDG_CONFIG_HOME"); v && !v->empty()) {
    return std::filesystem::path(*v) / "cargo-analysis/config.toml";
  }
  auto home = env("HOME");
  return std::filesystem::path(home && !home->empty() ? *home : "/") /
         ".config/cargo-analysis/config.toml";
}

LoadedConfig::LoadedConfig(DaemonConfig defaults)
    : m_values(std::move(defaults)), m_sources(k_key_count, ConfigSource::default_value) {}

namespace {

struct BadCodePoint {
  size_t line;
  std::string why;
};

// toml++ 3.3 (Debian 12) reaches __builtin_unreachable() when its whitespace check meets some
// non-ASCII code points (is_non_ascii_horizontal_whitespace: U+00A1..U+0499, U+2C6E..U+3067 and
// U+FB26..U+FEFE fall through its table), which it does outside strings, after a backslash in
// a string, and on paths of its error handling; found by tests/fuzz/fuzz_config.cpp. That is
// undefined behaviour in a release build. So toml++ is given ASCII only, with the same meaning:
// non-ASCII text in a "basic string" becomes \uXXXX escapes, in a comment spaces. Anywhere
// else (outside strings, where TOML allows none, or in a 'literal string', which has no escapes)
// it is refused with the line. Lines are kept, so toml++'s errors name the right one.
std::variant<std::string, BadCodePoint> ascii_for_toml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  std::optional<BadCodePoint> bad;
  auto starts = [&](std::string_view token) { return text.substr(i, token.size()) == token; };
  // The code point of the UTF-8 sequence at `i` and its length; nullopt if not valid UTF-8.
  auto decode = [&]() -> std::optional<std::pair<char32_t, size_t>> {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t len = lead >= 0xF8 ? 0 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (len == 0 || i + len > n) {
      return std::nullopt;
    }
    char32_t cp = lead & (0x7Fu >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) {
        return std::nullopt;
      }
      cp = (cp << 6) | (b & 0x3Fu);
    }
    const char32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    return std::pair{cp, len};
  };
  auto refuse = [&](std::string why) {
    bad = BadCodePoint{line, std::move(why)};
    i = n;
  };
  // Copies a non-ASCII sequence as an escape (in a basic string) or refuses it.
  auto non_ascii = [&](bool escape, const char* where) {
    auto d = decode();
    if (!d) {
      return refuse("bytes that are not UTF-8");
    }
    if (!escape) {
      return refuse(
          fmt::format("unexpected character U+{:04X} {}", static_cast<uint32_t>(d->first), where));
    }
    out += d->first <= 0xFFFF ? fmt::format("\\u{:04X}", static_cast<uint32_t>(d->first))
                              : fmt::format("\\U{:08X}", static_cast<uint32_t>(d->first));
    i += d->second;
  };
  // Copies a string's body up to and with `close`; a single-line one also ends at a newline
  // (toml++ then reports it).
  auto string_body = [&](std::string_view close, bool basic, bool single_line) {
    while (i < n && !starts(close)) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '\n') {
        if (single_line) {
          return;
        }
        ++line;
      }
      if (c >= 0x80) {
        non_ascii(basic, "in a 'literal string' (write it in a \"basic string\")");
        continue;
      }
      out += static_cast<char>(c);
      ++i;
      if (basic && c == '\\' && i < n && static_cast<unsigned char>(text[i]) < 0x80) {
        line += text[i] == '\n' ? 1 : 0;
        out += text[i++]; // an escaped character: never the closing quote
      }
    }
    out += text.substr(i, close.size());
    i = std::min(n, i + close.size());
  };
  while (i < n && !bad) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '#') {
      while (i < n && text[i] != '\n') {
        out += static_cast<unsigned char>(text[i]) >= 0x80 ? ' ' : text[i];
        ++i;
      }
    } else if (starts(R"(""")") || starts("'''")) {
      const bool basic = c == '"';
      out += text.substr(i, 3);
      i += 3;
      string_body(text.substr(i - 3, 3), basic, false);
    } else if (c == '"' || c == '\'') {
      out += static_cast<char>(c);
      ++i;
      string_body(c == '"' ? "\"" : "'", c == '"', true);
    } else if (c >= 0x80) {
      if (i == 0 && starts("\xef\xbb\xbf")) { // a byte order mark
        i += 3;
        continue;
      }
      non_ascii(false, "outside a string or comment");
    } else {
      line += c == '\n' ? 1 : 0;
      out += static_cast<char>(c);
      ++i;
    }
  }
  if (bad) {
    return *bad;
  }
  return out;
}

} // namespace

Result<void> LoadedConfig::apply_file(const std::filesystem::path& path, bool must_exist) {
  m_file = path;
  m_file_read = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT && !must_exist) {
      return {};
    }
    return unexpected(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                      fmt::format("cannot read {}: {}", path.string(), std::strerror(err)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto ascii = ascii_for_toml(text.str());
  if (const auto* bad = std::get_if<BadCodePoint>(&ascii)) {
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("{}:{}: {}", path.string(), bad->line, bad->why));
  }
  toml::table doc;
  try {
    doc = toml::parse(std::get<std::string>(ascii), path.string());
  } catch (const toml::parse_error& e) {
    std::string what(e.description());
    if (!what.empty()) {
      what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    }
    return unexpected(ErrorCode::invalid_argument,
                      fmt::format("{}:{}:{}: {}", path.string(), e.source().begin.line,
                                  e.source().begin.column, what));
  }
  DaemonConfig next = m_values;
  std::vector<bool> set(k_key_count, false);
  CA_TRY(FileReader(path.string(), next, set).table(doc, ""));
  m_values = std::move(next);
  for (size_t i = 0; i < k_key_count; ++i) {
    if (set[i]) {
      m_sources[i] = ConfigSource::file;
    }
  }
  m_file_read = true;
  return {};
}

void LoadedConfig::apply_env(const EnvLookup& env) {
  auto take = [&](const char* name, std::string DaemonConfig::*field) {
    auto v = env(name);
    if (!v || v->empty()) {
      return;
    }
    m_values.*field = *v;
    for (size_t i = 0; i < k_key_count; ++i) {
      if (k_keys[i].field == Field(field)) {
        m_sources[i] = ConfigSource::env;
      }
    }
  };
  take("CARGO_ANALYSIS_RUNTIME_DIR", &DaemonConfig::runtime_dir);
  take("CARGO_ANALYSIS_STATE_DIR", &DaemonConfig::state_dir);
}

void LoadedConfig::apply_flags(const DaemonConfig& flags,
                               const std::function<bool(std::string_view)>& given) {
  for (size_t i = 0; i < k_key_count; ++i) {
    const Key& k = k_keys[i];
    if (k.flag.empty() || !given(k.flag)) {
      continue;
    }
    std::visit([&](auto member) { m_values.*member = flags.*member; }, k.field);
    m_sources[i] = ConfigSource::flag;
  }
}

ConfigSource LoadedConfig::source(std::string_view key) const {
  for (size_t i = 0; i < k_key_count; ++i) {
    if (full_name(k_keys[i]) == key) {
      return m_sources[i];
    }
  }
  return ConfigSource::default_value;
}

std::vector<ConfigEntry> LoadedConfig::entries() const {
  std::vector<ConfigEntry> out;
  out.reserve(k_key_count);
  for (size_t i = 0; i < k_key_count; ++i) {
    out.push_back({full_name(k_keys[i]), render(m_values, k_keys[i].field), m_sources[i]});
  }
  return out;
}

Result<LoadedConfig>
load_config(const std::string& config_flag, DaemonConfig defaults, const EnvLookup& env) {
  LoadedConfig cfg(std::move(defaults));
  bool explicit_path = false;
  auto path = config_file_path(config_flag, env, &explicit_path);
  CA_TRY(cfg.apply_file(path, explicit_path));
  cfg.apply_env(env);
  return cfg;
}

} // namespace ca
