#include "shared/daemon_config.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace ca {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A fake environment: only what the test puts in it.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup lookup() const {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) {
        return std::nullopt;
      }
      return it->second;
    };
  }
};

std::filesystem::path write(const test::TempDir& dir, const std::string& text) {
  auto path = dir / "config.toml";
  std::ofstream(path) << text;
  return path;
}

std::string value_of(const LoadedConfig& cfg, const std::string& key) {
  for (const auto& e : cfg.entries()) {
    if (e.key == key) {
      return e.value;
    }
  }
  return "<no such key>";
}

TEST(DaemonConfig, MissingFileAtTheDefaultPlaceIsFine) {
  test::TempDir dir;
  FakeEnv env{{{"XDG_CONFIG_HOME", dir.path().string()}}};
  auto cfg = load_config("", DaemonConfig{}, env.lookup());
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_FALSE(cfg->file_read());
  EXPECT_EQ(cfg->file(), dir / "cargo-analysis/config.toml");
  EXPECT_EQ(cfg->values().keep_days, 90u);
  for (const auto& e : cfg->entries()) {
    EXPECT_EQ(e.source, ConfigSource::default_value) << e.key;
  }
}

TEST(DaemonConfig, MissingFileNamedExplicitlyIsAnError) {
  test::TempDir dir;
  FakeEnv env;
  auto cfg = load_config((dir / "nope.toml").string(), DaemonConfig{}, env.lookup());
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().code, ErrorCode::not_found);
  EXPECT_THAT(cfg.error().message, HasSubstr("nope.toml"));
}

TEST(DaemonConfig, FileLocation) {
  FakeEnv env{{{"HOME", "/home/u"}}};
  bool explicit_path = true;
  EXPECT_EQ(config_file_path("", env.lookup(), &explicit_path),
            "/home/u/.config/cargo-analysis/config.toml");
  EXPECT_FALSE(explicit_path);
  env.vars["XDG_CONFIG_HOME"] = "/xdg";
  EXPECT_EQ(config_file_path("", env.lookup()), "/xdg/cargo-analysis/config.toml");
  env.vars["CARGO_ANALYSIS_CONFIG"] = "/etc/ca.toml";
  EXPECT_EQ(config_file_path("", env.lookup(), &explicit_path), "/etc/ca.toml");
  EXPECT_TRUE(explicit_path);
  EXPECT_EQ(config_file_path("/flag.toml", env.lookup()), "/flag.toml");
}

TEST(DaemonConfig, EveryKeyIsRead) {
  test::TempDir dir;
  auto path = write(dir, R"(foreground = true
runtime_dir = "/r"
state_dir = "/s"
watch_dirs = ["/w1", "/w2"]
no_watch = true
idle_timeout = 1.5
log_level = "debug"
[retention]
keep_days = 7
keep_sessions = 10
max_db_mb = 0
[team]
url = "https://ch.example:8443"
machine = "runner-7"
)");
  LoadedConfig cfg;
  ASSERT_TRUE(cfg.apply_file(path));
  const DaemonConfig& v = cfg.values();
  EXPECT_TRUE(v.foreground);
  EXPECT_EQ(v.runtime_dir, "/r");
  EXPECT_EQ(v.state_dir, "/s");
  EXPECT_EQ(v.watch_dirs, (std::vector<std::string>{"/w1", "/w2"}));
  EXPECT_TRUE(v.no_watch);
  EXPECT_EQ(v.idle_timeout, 1.5);
  EXPECT_EQ(v.log_level, "debug");
  EXPECT_EQ(v.keep_days, 7u);
  EXPECT_EQ(v.keep_sessions, 10u);
  EXPECT_EQ(v.max_db_mb, 0u);
  EXPECT_EQ(v.team_url, "https://ch.example:8443");
  EXPECT_EQ(v.team_machine, "runner-7");
  EXPECT_TRUE(cfg.file_read());
  for (const auto& e : cfg.entries()) {
    EXPECT_EQ(e.source, ConfigSource::file) << e.key;
  }
  EXPECT_EQ(value_of(cfg, "watch_dirs"), R"(["/w1", "/w2"])");
  EXPECT_EQ(value_of(cfg, "retention.keep_days"), "7");
  EXPECT_EQ(value_of(cfg, "idle_timeout"), "1.5");
  EXPECT_EQ(value_of(cfg, "team.machine"), R"("runner-7")");
}

TEST(DaemonConfig, FlagsOverrideEnvOverridesFileOverridesDefaults) {
  test::TempDir dir;
  auto path = write(dir, "runtime_dir = \"/file/run\"\nstate_dir = \"/file/state\"\n"
                         "log_level = \"warn\"\n[retention]\nkeep_days = 30\nkeep_sessions = 5\n");
  FakeEnv env{{{"CARGO_ANALYSIS_CONFIG", path.string()},
               {"CARGO_ANALYSIS_RUNTIME_DIR", "/env/run"},
               {"CARGO_ANALYSIS_STATE_DIR", "/env/state"}}};
  auto cfg = load_config("", DaemonConfig{}, env.lookup());
  ASSERT_TRUE(cfg) << cfg.error().message;

  DaemonConfig flags;
  flags.state_dir = "/flag/state";
  flags.keep_days = 1;
  flags.log_level = "error"; // not given on the command line: must not apply
  cfg->apply_flags(
      flags, [](std::string_view flag) { return flag == "--state-dir" || flag == "--keep-days"; });

  const DaemonConfig& v = cfg->values();
  EXPECT_EQ(v.runtime_dir, "/env/run");
  EXPECT_EQ(cfg->source("runtime_dir"), ConfigSource::env);
  EXPECT_EQ(v.state_dir, "/flag/state");
  EXPECT_EQ(cfg->source("state_dir"), ConfigSource::flag);
  EXPECT_EQ(v.keep_days, 1u);
  EXPECT_EQ(cfg->source("retention.keep_days"), ConfigSource::flag);
  EXPECT_EQ(v.keep_sessions, 5u);
  EXPECT_EQ(cfg->source("retention.keep_sessions"), ConfigSource::file);
  EXPECT_EQ(v.log_level, "warn");
  EXPECT_EQ(cfg->source("log_level"), ConfigSource::file);
  EXPECT_EQ(v.max_db_mb, 2048u);
  EXPECT_EQ(cfg->source("retention.max_db_mb"), ConfigSource::default_value);
  EXPECT_STREQ(to_string(cfg->source("retention.max_db_mb")), "default");
}

TEST(DaemonConfig, UnknownKeyNamesFileLineAndKey) {
  test::TempDir dir;
  auto path = write(dir, "log_level = \"info\"\n\n[retention]\nkeep_day = 3\n");
  LoadedConfig cfg;
  auto r = cfg.apply_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(r.error().message, StartsWith(path.string() + ":4: "));
  EXPECT_THAT(r.error().message, HasSubstr("unknown key `keep_day` in [retention]"));
  EXPECT_THAT(r.error().message, HasSubstr("keep_days, keep_sessions, max_db_mb"));
  // Nothing half-applied.
  EXPECT_EQ(cfg.source("log_level"), ConfigSource::default_value);
  EXPECT_FALSE(cfg.file_read());
}

// Found by tests/fuzz/fuzz_config.cpp: toml++ 3.3 reaches __builtin_unreachable() on some
// non-ASCII code points (U+FDFF, U+FB7F, ...) where whitespace may stand. Non-ASCII text
// outside strings and comments is refused before toml++ gets there; inside them it is fine.
TEST(DaemonConfig, NonAsciiOutsideStringsAndCommentsIsRefusedNamingTheLine) {
  test::TempDir dir;
  LoadedConfig cfg;
  auto r = cfg.apply_file(write(dir, "\xef\xb7\xbf\x1c"
                                     "e\x12"
                                     "et"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(r.error().message, HasSubstr(":1: unexpected character U+FDFF outside a string"));
  r = cfg.apply_file(write(dir, "log_level = \"info\"\n\xef\xad\xbf\x1c\x01@e\x16"
                                "et"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(":2: unexpected character U+FB7F"));
  r = cfg.apply_file(write(dir, "log_level = \"info\" \xc3\xa9\n"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(":1: unexpected character U+00E9"));
  // In a 'literal string' (no escapes there): refused, with what to write instead.
  r = cfg.apply_file(write(dir, "[team]\nmachine = 'caf\xc3\xa9'\n"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message,
              HasSubstr(":2: unexpected character U+00E9 in a 'literal string'"));
  // Bytes that are not UTF-8, even in a string.
  r = cfg.apply_file(write(dir, "[team]\nmachine = \"\xff\"\n"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(":2: bytes that are not UTF-8"));
  // After a line-ending backslash in a basic string: kept as written.
  r = cfg.apply_file(write(dir, "[team]\nmachine = \"\"\"a\\\n  \xc3\xa9\xf0\x9f\xa6\x80\"\"\"\n"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(cfg.values().team_machine, "a\xc3\xa9\xf0\x9f\xa6\x80");
  // In strings and comments, and a byte order mark: read as TOML says.
  r = cfg.apply_file(write(dir, "\xef\xbb\xbf# caf\xc3\xa9 \xef\xb7\xbf\n"
                                "watch_dirs = [\"/home/jos\xc3\xa9/l\\\"og\", '/x']\n"
                                "[team]\nmachine = \"\"\"\xc3\xa9\n\"\"\"\n"));
  EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(cfg.values().watch_dirs.at(0), "/home/jos\xc3\xa9/l\"og");
  EXPECT_EQ(cfg.source("team.machine"), ConfigSource::file);
}

TEST(DaemonConfig, UnknownTopLevelKeyAndTable) {
  test::TempDir dir;
  LoadedConfig cfg;
  auto r = cfg.apply_file(write(dir, "idle_timeout = 3\nwatch_dir = [\"/x\"]\n"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(":2: unknown key `watch_dir` (known: foreground,"));
  EXPECT_THAT(r.error().message, HasSubstr("[retention], [team]"));
  r = cfg.apply_file(write(dir, "[retention]\n[server]\nport = 1\n"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr(":2: unknown key `server`"));
}

TEST(DaemonConfig, WrongTypeNamesFileLineKeyAndTypes) {
  test::TempDir dir;
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"[retention]\nkeep_days = \"90\"\n",
       ":2: `retention.keep_days` must be a non-negative integer below 2^32, not a string"},
      {"[retention]\nkeep_sessions = -1\n",
       ":2: `retention.keep_sessions` must be a non-negative integer, not an integer"},
      {"\nforeground = 1\n", ":2: `foreground` must be a boolean (true or false), not an integer"},
      {"watch_dirs = \"/x\"\n", ":1: `watch_dirs` must be an array of strings, not a string"},
      {"watch_dirs = [\n  \"/x\",\n  3,\n]\n",
       ":3: `watch_dirs` must be an array of strings, not of an integer"},
      {"idle_timeout = true\n",
       ":1: `idle_timeout` must be a non-negative number of seconds, not a boolean"},
      {"log_level = \"loud\"\n",
       ":1: `log_level` must be one of trace debug info warn error, not \"loud\""},
      {"state_dir = \"relative/dir\"\n",
       ":1: `state_dir` must be an absolute path or start with ~/, not \"relative/dir\""},
      {"retention = 3\n", ":1: `retention` must be a table ([retention]), not an integer"},
      {"[team]\nurl = 8443\n", ":2: `team.url` must be a string, not an integer"},
  };
  for (const Case& c : cases) {
    LoadedConfig cfg;
    auto path = write(dir, c.text);
    auto r = cfg.apply_file(path);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(r.error().message, path.string() + c.message) << c.text;
  }
}

TEST(DaemonConfig, SyntaxErrorNamesFileLineAndColumn) {
  test::TempDir dir;
  auto path = write(dir, "log_level = \"info\"\n[retention\nkeep_days = 3\n");
  LoadedConfig cfg;
  auto r = cfg.apply_file(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(r.error().message, StartsWith(path.string() + ":2:"));
}

TEST(DaemonConfig, TildeIsTheHomeDirectory) {
  test::TempDir dir;
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  LoadedConfig cfg;
  ASSERT_TRUE(cfg.apply_file(write(dir, "state_dir = \"~/st\"\n")));
  EXPECT_EQ(cfg.values().state_dir, std::string(home) + "/st");
}

} // namespace
} // namespace ca
