// Time ranges, package filters and reports from outside any workspace, end to end with real
// cargo. Three real builds of one workspace (clean; `util` changed; `app` changed) are logged by
// cargo, then their logs are copied with the run ids and timestamps moved into the past (3 days
// and 1 hour, 90 minutes, 10 minutes ago: the logs are cargo's, only the times differ) into a
// second CARGO_HOME, which both our daemon (`ingest`) and cargo's own `report` read.
//
// The workspace `ws` has members `app` and `util` (app depends on util), and app depends on two
// versions of one package, `dup` 0.1.0 and 0.2.0 (path crates outside the workspace, renamed
// in app's manifest): the ambiguous spec `dup`.
#include "shared/run_id.hpp"
#include "tests/support/cargo.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    out.push_back(line);
  }
  return out;
}

std::vector<fs::path> logs_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".jsonl") {
      out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Copies cargo's log `src` into `dest_dir` as if its run had started at `start_ms`: the run id
// (file name and every `run_id`) gets that time, and every `timestamp` moves by as much. The
// rest of each line is cargo's, byte for byte. Returns the new run id.
std::string copy_moved(const fs::path& src, const fs::path& dest_dir, int64_t start_ms) {
  const std::string old_id = src.stem().string();
  auto old = parse_run_id(old_id);
  EXPECT_TRUE(old) << old_id;
  if (!old) {
    return {};
  }
  const int64_t delta_ms = start_ms - old->unix_ms;
  RunId moved = *old;
  moved.unix_ms = start_ms;
  const std::string new_id = moved.to_string();
  static const std::regex k_timestamp("\"timestamp\":\"([^\"]+)\"");
  std::string out;
  for (std::string line : lines(read(src))) {
    for (size_t at = line.find(old_id); at != std::string::npos; at = line.find(old_id, at)) {
      line.replace(at, old_id.size(), new_id);
      at += new_id.size();
    }
    std::smatch m;
    if (std::regex_search(line, m, k_timestamp)) {
      auto ns = parse_rfc3339_ns(m[1].str());
      EXPECT_TRUE(ns) << m[1].str();
      if (ns) {
        line.replace(static_cast<size_t>(m.position(1)), static_cast<size_t>(m.length(1)),
                     format_rfc3339_ns(*ns + delta_ms * 1'000'000));
      }
    }
    out += line + "\n";
  }
  write(dest_dir / (new_id + ".jsonl"), out);
  return new_id;
}

class RangesE2e : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (run_command({"cargo", "--version"}).exit_code != 0) {
      return; // each test skips
    }
    s_dir = std::make_unique<TempDir>();
    const fs::path& dir = s_dir->path();
    write(dir / "ws/Cargo.toml", "[workspace]\nmembers = [\"app\", \"util\"]\nresolver = \"2\"\n");
    write(dir / "ws/util/Cargo.toml",
          "[package]\nname = \"util\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(dir / "ws/util/src/lib.rs", "pub fn util() -> u32 { 1 }\n");
    write(dir / "ws/app/Cargo.toml",
          "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n"
          "[dependencies]\nutil = { path = \"../util\" }\n"
          "d1 = { path = \"../../dup1\", package = \"dup\" }\n"
          "d2 = { path = \"../../dup2\", package = \"dup\" }\n");
    write(dir / "ws/app/src/lib.rs",
          "pub fn app() -> u32 { util::util() + d1::one() + d2::two() }\n");
    write(dir / "dup1/Cargo.toml",
          "[package]\nname = \"dup\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
    write(dir / "dup1/src/lib.rs", "pub fn one() -> u32 { 1 }\n");
    write(dir / "dup2/Cargo.toml",
          "[package]\nname = \"dup\"\nversion = \"0.2.0\"\nedition = \"2021\"\n");
    write(dir / "dup2/src/lib.rs", "pub fn two() -> u32 { 2 }\n");

    // Three real builds, each a log of cargo's.
    const fs::path build_home = dir / "build-home";
    auto build = [&] {
      auto r =
          run_cargo(build_home, dir / "ws", {"build", "--offline"}, {{"CARGO_INCREMENTAL", "0"}});
      EXPECT_EQ(r.exit_code, 0) << r.err;
    };
    build();
    std::ofstream(dir / "ws/util/src/lib.rs", std::ios::app) << "// changed\n";
    build();
    std::ofstream(dir / "ws/app/src/lib.rs", std::ios::app) << "// changed\n";
    build();
    auto logs = logs_in(build_home / "log");
    ASSERT_EQ(logs.size(), 3u);

    // Moved into the past, in a second CARGO_HOME that cargo's reports read.
    const int64_t now = now_ms();
    const fs::path log_dir = dir / "report-home/log";
    fs::create_directories(log_dir);
    s_clean = copy_moved(logs[0], log_dir, now - (3 * 24 + 1) * 3'600'000LL);
    s_util = copy_moved(logs[1], log_dir, now - 90 * 60'000LL);
    s_app = copy_moved(logs[2], log_dir, now - 10 * 60'000LL);

    s_daemon =
        std::make_unique<DaemonProcess>(dir / "daemon", std::vector<std::string>{"--no-watch"});
    ASSERT_TRUE(s_daemon->start());
    auto r = s_daemon->client({"ingest", log_dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static void TearDownTestSuite() {
    s_daemon.reset();
    s_dir.reset();
  }

  void SetUp() override {
    if (!s_dir) {
      GTEST_SKIP() << "no cargo on PATH";
    }
  }

  static fs::path dir() { return s_dir->path(); }
  static fs::path ws() { return dir() / "ws"; }

  // Our client in `cwd` (the workspace unless given), colour off.
  static CommandResult ours(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    CommandOptions opts;
    opts.cwd = cwd.empty() ? ws() : cwd;
    opts.env = {{"TMPDIR", (dir() / "tmp").string()}};
    fs::create_directories(dir() / "tmp");
    std::vector<std::string> argv = {"--color", "never"};
    argv.insert(argv.end(), args.begin(), args.end());
    return s_daemon->client(argv, opts);
  }

  static json ours_json(const std::vector<std::string>& args, const fs::path& cwd = {}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--format", "json"});
    auto r = ours(argv, cwd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }

  // Cargo's own `report` on the moved logs, in `cwd`.
  static CommandResult cargos(const std::vector<std::string>& args, const fs::path& cwd) {
    CommandOptions opts;
    opts.cwd = cwd;
    opts.env = {{"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly"},
                {"CARGO_HOME", (dir() / "report-home").string()},
                {"TMPDIR", (dir() / "tmp").string()}};
    opts.unset_env = {"CARGO_TERM_COLOR", "CARGO_TARGET_DIR"};
    std::vector<std::string> argv = {"cargo", "-Zbuild-analysis", "report"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, opts);
  }

  static std::vector<std::string> session_ids(const json& sessions) {
    std::vector<std::string> out;
    for (const auto& s : sessions["sessions"]) {
      out.push_back(s["session_id"]);
    }
    return out;
  }

  static inline std::unique_ptr<TempDir> s_dir;
  static inline std::unique_ptr<DaemonProcess> s_daemon;
  static inline std::string s_clean, s_util, s_app;
};

std::set<std::string> unit_names(const json& timings_run) {
  std::set<std::string> out;
  for (const auto& u : timings_run["units"]) {
    out.insert(u["unit"]["name"].get<std::string>());
  }
  return out;
}

TEST_F(RangesE2e, SinceTwoHoursListsTheTwoRecentSessions) {
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--since", "2h"})),
            (std::vector<std::string>{s_app, s_util}));
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--until", "2h"})),
            (std::vector<std::string>{s_clean}));
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--since", "3d"})),
            (std::vector<std::string>{s_app, s_util}));
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--since", "4d"})),
            (std::vector<std::string>{s_app, s_util, s_clean}));
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--since", "2h", "--until", "30m"})),
            (std::vector<std::string>{s_util}));
  // An RFC 3339 bound: the clean build's own start time is in a range that starts there.
  const std::string clean_start = format_rfc3339_ms(parse_run_id(s_clean)->unix_ms);
  EXPECT_EQ(session_ids(ours_json({"report", "sessions", "--since", clean_start, "--until", "1d"})),
            (std::vector<std::string>{s_clean}));
}

TEST_F(RangesE2e, SingleRunReportsTakeTheNewestInTheRangeAndSayHowManyOthersMatched) {
  auto r = ours({"report", "rebuilds", "--since", "2h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out).at(0), "Session: " + s_app);
  EXPECT_NE(r.err.find("note: reported the newest run; 1 other run started in the range (list "
                       "them with `cargo-analysis-client report sessions --since 2h`, pick one "
                       "with --id)"),
            std::string::npos)
      << r.err;

  auto older = ours_json({"report", "rebuilds", "--until", "1h"});
  ASSERT_EQ(older["runs"].size(), 1u);
  EXPECT_EQ(older["runs"][0]["run"]["run_id"], s_util);
  EXPECT_EQ(older["other_runs_in_range"], 1); // the clean build

  auto only = ours({"report", "timings", "--since", "2h", "--until", "30m", "--format", "json"});
  ASSERT_EQ(only.exit_code, 0) << only.err;
  EXPECT_EQ(json::parse(only.out)["runs"][0]["run"]["run_id"], s_util);
  EXPECT_EQ(only.err.find("note:"), std::string::npos) << only.err; // no other run matched

  auto path = ours_json({"report", "critical-path", "--until", "1d"});
  EXPECT_EQ(path["runs"][0]["run"]["run_id"], s_clean);
  EXPECT_EQ(path["other_runs_in_range"], 0);

  auto trends = ours_json({"report", "trends", "--since", "2h"});
  EXPECT_EQ(trends["runs"], 2);

  // A diff of a range compares its oldest and newest sessions.
  auto diff = ours_json({"report", "diff", "--since", "4d"});
  EXPECT_EQ(diff["a"]["id"], s_clean);
  EXPECT_EQ(diff["b"]["id"], s_app);
}

TEST_F(RangesE2e, PackageSpecsSelectTheirUnits) {
  auto util = ours_json({"report", "timings", "--id", s_util, "--package", "util"});
  EXPECT_EQ(unit_names(util["runs"][0]), (std::set<std::string>{"util"}));
  auto two = ours_json({"report", "timings", "--id", s_util, "-p", "util", "-p", "app"});
  EXPECT_EQ(unit_names(two["runs"][0]), (std::set<std::string>{"util", "app"}));
  auto by_version = ours_json({"report", "timings", "--id", s_clean, "-p", "dup@0.2"});
  ASSERT_EQ(by_version["runs"][0]["units"].size(), 1u);
  EXPECT_EQ(by_version["runs"][0]["units"][0]["unit"]["version"], "0.2.0");
  const std::string util_url = "path+file://" + (ws() / "util").string() + "#0.1.0";
  auto by_url = ours_json({"report", "timings", "--id", s_clean, "-p", util_url});
  EXPECT_EQ(unit_names(by_url["runs"][0]), (std::set<std::string>{"util"}));

  // Rebuilds: util's change rebuilt util and, through it, app; `app` keeps util's root.
  auto app = ours_json({"report", "rebuilds", "--id", s_util, "-p", "app"});
  ASSERT_EQ(app["runs"][0]["root_rebuilds"].size(), 1u);
  EXPECT_EQ(app["runs"][0]["root_rebuilds"][0]["unit"]["name"], "util");
  auto dup = ours_json({"report", "rebuilds", "--id", s_util, "-p", "dup@0.1.0"});
  EXPECT_EQ(dup["runs"][0]["root_rebuilds"].size(), 0u); // fresh in that build

  // The critical path up to util ends with util.
  auto path = ours_json({"report", "critical-path", "--id", s_clean, "-p", "util"});
  ASSERT_FALSE(path["runs"][0]["steps"].empty());
  EXPECT_EQ(path["runs"][0]["steps"].back()["unit"]["name"], "util");
  auto whole = ours_json({"report", "critical-path", "--id", s_clean});
  EXPECT_EQ(whole["runs"][0]["steps"].back()["unit"]["name"], "app");

  auto trends = ours_json({"report", "trends", "-p", "util"});
  ASSERT_FALSE(trends["slowest_units"].empty());
  for (const auto& u : trends["slowest_units"]) {
    EXPECT_EQ(u["unit"]["name"], "util");
  }
  ASSERT_EQ(trends["root_rebuilds"].size(), 1u);
  EXPECT_EQ(trends["root_rebuilds"][0]["unit"]["name"], "util");
}

TEST_F(RangesE2e, BadDatesAndInvertedRangesAreUsageErrors) {
  auto bad = ours({"report", "rebuilds", "--since", "yesterdayish"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("cargo-analysis-client: error: --since: invalid time `yesterdayish`: "
                         "expected an RFC 3339 time"),
            std::string::npos)
      << bad.err;
  auto no_day = ours({"report", "sessions", "--until", "2026-02-30"});
  EXPECT_EQ(no_day.exit_code, 2);
  EXPECT_NE(no_day.err.find("--until: invalid time `2026-02-30`: no such date or time"),
            std::string::npos)
      << no_day.err;
  auto inverted = ours({"report", "timings", "--since", "1h", "--until", "2h"});
  EXPECT_EQ(inverted.exit_code, 2);
  EXPECT_NE(inverted.err.find("error: the time range is empty: --since ("), std::string::npos)
      << inverted.err;
  auto diff = ours({"report", "diff"});
  EXPECT_EQ(diff.exit_code, 2) << diff.err;
  // A well-formed range with no run in it: not found, exit 1, naming the range.
  auto empty = ours({"report", "rebuilds", "--since", "5m"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(
      empty.err.find("error: no sessions found for workspace at `" + ws().string() + "` since "),
      std::string::npos)
      << empty.err;
}

TEST_F(RangesE2e, UnknownAndAmbiguousSpecsAreCargosErrors) {
  auto typo = ours({"report", "timings", "--id", s_clean, "-p", "utl", "--format", "json"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("cargo-analysis-client: error: package ID specification `utl` did not "
                          "match any packages\n\nhelp: a package with a similar name exists: "
                          "`util`\n"),
            std::string::npos)
      << typo.err;
  auto ambiguous = ours({"report", "rebuilds", "--id", s_clean, "-p", "dup"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("error: specification `dup` is ambiguous\nhelp: re-run this "
                               "command with one of the following specifications\n  dup@0.1.0\n"
                               "  dup@0.2.0\n"),
            std::string::npos)
      << ambiguous.err;
  auto version = ours({"report", "critical-path", "--id", s_clean, "-p", "dup@0.3"});
  EXPECT_EQ(version.exit_code, 1);
  EXPECT_NE(version.err.find("help: a package with a similar name exists: `dup`"),
            std::string::npos)
      << version.err;
  auto malformed = ours({"report", "trends", "-p", "util@x"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.err.find("error: invalid package ID specification: `util@x`: unexpected "
                               "version requirement, expected a version like \"1.32\""),
            std::string::npos)
      << malformed.err;

  // Cargo's own words for the same mistakes (`cargo pkgid` in the workspace).
  CommandOptions in_ws;
  in_ws.cwd = ws();
  in_ws.env = {{"CARGO_HOME", (dir() / "build-home").string()}};
  auto cargo_typo = run_command({"cargo", "pkgid", "--offline", "utl"}, in_ws);
  EXPECT_NE(cargo_typo.err.find("package ID specification `utl` did not match any packages\n\n"
                                "help: a package with a similar name exists: `util`"),
            std::string::npos)
      << cargo_typo.err;
  auto cargo_ambiguous = run_command({"cargo", "pkgid", "--offline", "dup"}, in_ws);
  EXPECT_NE(cargo_ambiguous.err.find("help: re-run this command with one of the following "
                                     "specifications\n  dup@0.1.0\n  dup@0.2.0\n"),
            std::string::npos)
      << cargo_ambiguous.err;
}

// Run from a directory in no workspace (the test's temp dir, which holds `ws`), cargo's reports
// read every workspace's logs; ours answer the same, line for line.
TEST_F(RangesE2e, OutsideAnyWorkspaceReportsAreCargos) {
  const fs::path outside = dir();
  ASSERT_FALSE(fs::exists(outside / "Cargo.toml"));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sessions"},
        std::vector<std::string>{"sessions", "--limit", "2"}}) {
    SCOPED_TRACE(args.size());
    auto theirs = cargos(args, outside);
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    std::vector<std::string> report = {"report"};
    report.insert(report.end(), args.begin(), args.end());
    auto mine = ours(report, outside);
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    // Ours adds each run's details under its id, indented: the rest is cargo's, line for line.
    std::vector<std::string> kept;
    for (const std::string& line : lines(mine.out)) {
      if (line.rfind("   ", 0) != 0) {
        kept.push_back(line);
      }
    }
    EXPECT_EQ(kept, lines(theirs.err)) << "ours:\n" << mine.out << "cargo's:\n" << theirs.err;
    EXPECT_EQ(lines(theirs.err).at(0), "Session IDs (most recent first):");
  }

  // The newest run of any workspace, paths relative to the directory, as cargo shows them.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"rebuilds"}, std::vector<std::string>{"rebuilds", "--id", s_util},
        std::vector<std::string>{"rebuilds", "--id", s_util, "-vv"}}) {
    SCOPED_TRACE(args.back());
    auto theirs = cargos(args, outside);
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    std::vector<std::string> report = {"report"};
    report.insert(report.end(), args.begin(), args.end());
    auto mine = ours(report, outside);
    ASSERT_EQ(mine.exit_code, 0) << mine.err;
    EXPECT_EQ(lines(mine.out), lines(theirs.err));
  }
  auto rebuilt = cargos({"rebuilds", "--id", s_util}, outside);
  EXPECT_NE(rebuilt.err.find("file modified: ws/util/src/lib.rs"), std::string::npos)
      << rebuilt.err;

  // Timings: the newest run's page, in a new `cargo-timings-XXXXXX` under TMPDIR.
  auto theirs = cargos({"timings"}, outside);
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
  auto mine = ours({"report", "timings"}, outside);
  ASSERT_EQ(mine.exit_code, 0) << mine.err;
  const std::regex saved("      Timing report saved to (.*)/cargo-timings-[A-Za-z0-9]{6}/"
                         "cargo-timing-(.*)\\.html\n");
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(theirs.err, a, saved)) << theirs.err;
  ASSERT_TRUE(std::regex_search(mine.err, b, saved)) << mine.err;
  EXPECT_EQ(a[1].str(), b[1].str()); // the same TMPDIR
  EXPECT_EQ(a[2].str(), s_app);
  EXPECT_EQ(b[2].str(), s_app);

  // The range and package options follow the same rule.
  auto recent = ours({"report", "sessions", "--since", "2h"}, outside);
  ASSERT_EQ(recent.exit_code, 0) << recent.err;
  EXPECT_EQ(lines(recent.out).at(0), "Session IDs (most recent first):");
  auto util = ours_json({"report", "timings", "-p", "util", "--until", "1h"}, outside);
  EXPECT_EQ(util["runs"][0]["run"]["run_id"], s_util);
  EXPECT_EQ(unit_names(util["runs"][0]), (std::set<std::string>{"util"}));
}

} // namespace
} // namespace ca::test
