// The daemon's configuration: every command-line flag of cargo-analysisd also has a key in a TOML
// file, `$XDG_CONFIG_HOME/cargo-analysis/config.toml` (else `~/.config/cargo-analysis/...`).
//
// Precedence, lowest first: built-in defaults < the file < the environment
// (CARGO_ANALYSIS_RUNTIME_DIR, CARGO_ANALYSIS_STATE_DIR) < command-line flags. Each value
// remembers where it came from, so `status` can say why the daemon runs as it does.
//
// The file (all keys optional; a missing file at the default place is no error):
//
//   foreground = false
//   runtime_dir = "/run/user/1000/cargo-analysis"   # absolute, or "~/..." (the home dir)
//   state_dir = "~/.local/state/cargo-analysis"
//   watch_dirs = ["~/.cargo/log"]
//   no_watch = false
//   idle_timeout = 0          # seconds (integer or float); 0: never
//   log_level = "info"        # trace, debug, info, warn, error
//   [retention]
//   keep_days = 90            # 0 turns a limit off
//   keep_sessions = 100000
//   max_db_mb = 2048
//   [team]                    # team export to ClickHouse (daemon/export/team_exporter.hpp)
//   url = "http://clickhouse.example:8123"   # unset: nothing leaves the machine
//   machine = "ci-runner-7"   # this machine's label in the team tables (default: host name)
//
// An unknown key, a value of the wrong type or a TOML syntax error is an invalid_argument
// error whose message starts `<file>:<line>:` and names the key. The client reads the same file
// (for `runtime_dir`, so that it finds the daemon the file configures).
#pragma once

#include "shared/error.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ca {

// Where a setting's value came from.
enum class ConfigSource { default_value, file, env, flag };

// "default", "file", "env" or "flag".
const char* to_string(ConfigSource source);

// The settings themselves. Empty paths mean "the default of shared/paths.hpp".
struct DaemonConfig {
  bool foreground = false;
  std::string runtime_dir;
  std::string state_dir;
  std::vector<std::string> watch_dirs;
  bool no_watch = false;
  double idle_timeout = 0;
  std::string log_level = "info";
  // Retention: daemon/store/retention.hpp's defaults (daemon/main.cpp checks they agree).
  uint32_t keep_days = 90;
  uint64_t keep_sessions = 100000;
  uint64_t max_db_mb = 2048;
  // [team]: team export to ClickHouse (--team-url, --team-machine); no url: no export.
  std::string team_url;
  std::string team_machine;
};

// One setting as `status` shows it: `retention.keep_days`, `90`, default.
struct ConfigEntry {
  std::string key;
  std::string value; // TOML syntax: "text", 12, true, ["a", "b"]
  ConfigSource source;
};

// Looks an environment variable up (std::getenv by default; tests pass their own).
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
std::optional<std::string> process_env(const char* name);

// The file to read: `flag` (--config) if set, else $CARGO_ANALYSIS_CONFIG, else
// $XDG_CONFIG_HOME/cargo-analysis/config.toml, else $HOME/.config/cargo-analysis/config.toml.
// `explicit_path` is set when the file was named by the flag or the variable (then it must exist).
std::filesystem::path
config_file_path(const std::string& flag, const EnvLookup& env, bool* explicit_path = nullptr);

class LoadedConfig {
public:
  // Defaults only; every source is `default`.
  explicit LoadedConfig(DaemonConfig defaults = {});

  // Applies the TOML file at `path` over the current values (those keys become `file`). A missing
  // file is fine unless `must_exist`. Fails with invalid_argument ("<file>:<line>: ...") on a
  // syntax error, an unknown key or a wrong type, and with io if the file cannot be read. On
  // failure nothing is changed.
  Result<void> apply_file(const std::filesystem::path& path, bool must_exist = false);

  // Applies CARGO_ANALYSIS_RUNTIME_DIR and CARGO_ANALYSIS_STATE_DIR when set and not empty.
  void apply_env(const EnvLookup& env);

  // Copies from `flags` each setting whose command-line flag `given("--keep-days")` says was
  // on the command line (those become `flag`).
  void apply_flags(const DaemonConfig& flags, const std::function<bool(std::string_view)>& given);

  // The effective values. Writing through values() (e.g. to make a default path concrete) keeps
  // each value's source.
  DaemonConfig& values() { return m_values; }
  const DaemonConfig& values() const { return m_values; }

  // The source of `key` (a name as in the file, e.g. "retention.keep_days"); default for an
  // unknown key.
  ConfigSource source(std::string_view key) const;

  // The file applied (or looked for) by the last apply_file, and whether it was read.
  const std::filesystem::path& file() const { return m_file; }
  bool file_read() const { return m_file_read; }

  // Every setting in file order, with its value and source.
  std::vector<ConfigEntry> entries() const;

private:
  DaemonConfig m_values;
  std::vector<ConfigSource> m_sources; // by index in the key table
  std::filesystem::path m_file;
  bool m_file_read = false;
};

// The whole chain for a process: defaults, then the file (config_file_path), then the
// environment. The caller applies its flags last.
Result<LoadedConfig>
load_config(const std::string& config_flag, DaemonConfig defaults, const EnvLookup& env);

} // namespace ca
