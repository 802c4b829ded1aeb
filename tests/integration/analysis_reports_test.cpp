// `report critical-path`, `report diff` and `report trends` through the real client and daemon
// on corpus A: the human text, proto JSON with snake_case names, --color and NO_COLOR, and the
// error cases with their messages and exit codes.
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace ca::test {
namespace {

using nlohmann::json;

constexpr const char* k_step3 = "20261123T062732370Z-28b99174ef2c2ad6"; // wsapp touched
constexpr const char* k_step4 = "20261123T062733765Z-28b99174ef2c2ad6"; // wscore changed
constexpr const char* k_ws = "/tmp/corpus/wsA";

class AnalysisReports : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(daemon.start());
    auto r = daemon.client({"ingest", fixture_path("corpus/A/logs").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  CommandResult client(const std::vector<std::string>& args,
                       std::map<std::string, std::string> env = {}) {
    CommandOptions opts;
    opts.cwd = dir.path();
    opts.env = std::move(env);
    opts.unset_env = {"NO_COLOR"};
    return daemon.client(args, opts);
  }

  TempDir dir;
  DaemonProcess daemon{dir / "daemon", {"--no-watch"}};
};

TEST_F(AnalysisReports, TrendsSayWhichUnitsWereRebuiltWhy) {
  auto r = client({"report", "trends", "--workspace", k_ws});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Trends: workspace /tmp/corpus/wsA, 10 sessions, 10 runs"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  build: 10 runs, mean "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wsapp@0.1.0 wsapp \"bin\" rebuilt 1 time: file modified: "
                       "wsapp/src/main.rs x1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("wscore@0.1.0 build-script (run) rebuilt 1 time: environment variable "
                       "changed (WSCORE_FLAVOR) x1"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no colour into a pipe";

  auto j = json::parse(client({"report", "trends", "--all", "--format", "json"}).out);
  for (const char* field :
       {"workspace_root", "sessions", "runs", "first_start", "last_start", "bucket_secs",
        "commands", "slowest_units", "root_rebuilds", "root_rebuilds_total"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["root_rebuilds"][0]["causes"][0]["example_run_id"], k_step3);
  EXPECT_TRUE(j["slowest_units"][0].contains("mean_secs"));
}

TEST_F(AnalysisReports, DiffAndCriticalPathInTextAndJson) {
  auto text = client({"report", "diff", k_step3, k_step4});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("wscore@0.1.0  fresh -> dirty: file modified: wscore/src/lib.rs"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("0 only in A, 0 only in B, 3 with another rebuild cause, 85 unchanged"),
            std::string::npos)
      << text.out;
  auto j = json::parse(client({"report", "diff", k_step3, k_step4, "--format", "json"}).out);
  EXPECT_EQ(j["units_unchanged"], 85);
  EXPECT_EQ(j["units"].size(), 3u);
  EXPECT_TRUE(j["units"][0].contains("cause_changed"));
  EXPECT_TRUE(j.contains("wall_time_delta"));

  auto path = client({"report", "critical-path", "--id", k_step3});
  ASSERT_EQ(path.exit_code, 0) << path.err;
  EXPECT_NE(path.out.find("Chain: wsapp@0.1.0 wsapp \"bin\""), std::string::npos) << path.out;
  auto pj =
      json::parse(client({"report", "critical-path", "--id", k_step3, "--format", "json"}).out);
  ASSERT_EQ(pj["runs"].size(), 1u);
  EXPECT_EQ(pj["runs"][0]["steps"][0]["unit"]["description"], "wsapp@0.1.0 wsapp \"bin\"");
  EXPECT_TRUE(pj["runs"][0]["steps"][0].contains("next_on_rmeta"));
}

TEST_F(AnalysisReports, ColorFollowsTheFlagAndNoColor) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"report", "trends", "--workspace", k_ws},
                                             {"report", "diff", k_step3, k_step4},
                                             {"report", "critical-path", "--id", k_step4}}) {
    SCOPED_TRACE(args[1]);
    std::vector<std::string> always = {"--color", "always"};
    always.insert(always.end(), args.begin(), args.end());
    auto colored = client(always);
    ASSERT_EQ(colored.exit_code, 0) << colored.err;
    EXPECT_NE(colored.out.find("\x1b[1m\x1b[92m"), std::string::npos) << colored.out;

    std::vector<std::string> never = {"--color", "never"};
    never.insert(never.end(), args.begin(), args.end());
    EXPECT_EQ(client(never).out.find('\x1b'), std::string::npos);

    std::vector<std::string> automatic = {"--color", "auto"};
    automatic.insert(automatic.end(), args.begin(), args.end());
    EXPECT_EQ(client(automatic, {{"NO_COLOR", "1"}}).out.find('\x1b'), std::string::npos);
  }
}

TEST_F(AnalysisReports, ErrorsNameTheProblemAndExitNonZero) {
  auto unknown = client({"report", "diff", k_step3, "20991123T062716161Z-28b99174ef2c2ad6"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("cargo-analysis-client: error: session "
                             "`20991123T062716161Z-28b99174ef2c2ad6` not found"),
            std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("note: run `cargo-analysis-client report sessions`"),
            std::string::npos)
      << unknown.err;

  auto malformed = client({"report", "critical-path", "--id", "not-a-run-id"});
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_NE(malformed.err.find("error: "), std::string::npos) << malformed.err;

  // The test's temp dir is in no cargo workspace: every workspace's history, as cargo's
  // reports read every workspace's logs from such a directory.
  auto everywhere = client({"report", "trends", "--format", "json"});
  ASSERT_EQ(everywhere.exit_code, 0) << everywhere.err;
  EXPECT_EQ(json::parse(everywhere.out)["workspace_root"], "");
  // A package with no build stored: cargo's error.
  std::filesystem::create_directories(dir.path() / "empty");
  std::ofstream(dir.path() / "empty/Cargo.toml") << "[workspace]\n";
  CommandOptions in_empty;
  in_empty.cwd = dir.path() / "empty";
  auto nothing_here = daemon.client({"report", "trends"}, in_empty);
  EXPECT_EQ(nothing_here.exit_code, 1);
  EXPECT_NE(nothing_here.err.find("error: no sessions found for workspace at `" +
                                  (dir.path() / "empty").string() + "`"),
            std::string::npos)
      << nothing_here.err;

  auto usage = client({"report", "diff", k_step3});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
  auto bad_last = client({"report", "trends", "--all", "--last", "0"});
  EXPECT_EQ(bad_last.exit_code, 2) << bad_last.err;
}

} // namespace
} // namespace ca::test
