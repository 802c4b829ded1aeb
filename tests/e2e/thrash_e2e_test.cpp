// End to end with real cargo: why units are new (`report rebuilds`) and which rebuild back and
// forth (`report thrash`), on a one-package workspace `thr` (a lib with a feature `a`, a bin that
// reads `option_env!("THR_FLAVOR")`, and a build script). What cargo 1.95 does here, measured:
// - `cargo check --features a`, `cargo build`, `cargo check --features a`: the build's units are
//   new (another mode, other features), and the second check finds everything fresh: cargo keeps
//   one fingerprint per configuration, so this is *no* thrash, and none may be reported;
// - `cargo build`, `THR_FLAVOR=x cargo build --bins`, `cargo build`: the bin is rebuilt twice,
//   `<unset> -> x` then `x -> <unset>`: thrash, with the second rebuild's time lost;
// - a build script without `rerun-if-changed` reruns after every edit of the package;
// - `cargo build` then `cargo build --release`: every unit new, for `profile changed`;
// - a path dependency whose version is bumped: its units are new for `version changed`.
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

constexpr const char* k_manifest = "[package]\nname = \"thr\"\nversion = \"0.1.0\"\n"
                                   "edition = \"2021\"\n\n[features]\na = []\n";

class ThrashE2e : public ::testing::Test {
protected:
  void SetUp() override {
    if (run_command({"cargo", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "no cargo on PATH";
    }
    write(m_ws / "Cargo.toml", k_manifest);
    write(m_ws / "src/lib.rs", "pub fn f() -> u32 { 1 }\n");
    write(
        m_ws / "src/main.rs",
        "fn main() { println!(\"{} {}\", thr::f(), option_env!(\"THR_FLAVOR\").unwrap_or(\"-\")); "
        "}\n");
    ASSERT_TRUE(m_daemon.start());
  }

  // One logged cargo command in the workspace (offline), its logs sent to the daemon; returns
  // its run id (the log's name).
  std::string cargo(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    CommandOptions opts;
    opts.cwd = m_ws;
    opts.env = {{"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly"},
                {"CARGO_UNSTABLE_BUILD_ANALYSIS", "true"},
                {"CARGO_BUILD_ANALYSIS_ENABLED", "true"},
                {"CARGO_HOME", m_home.string()},
                {"CARGO_NET_OFFLINE", "true"},
                {"CARGO_INCREMENTAL", "0"}};
    for (auto& [k, v] : env) {
      opts.env[k] = v;
    }
    opts.unset_env = {"CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER",
                      "RUSTFLAGS",        "CARGO_BUILD_RUSTFLAGS",  "THR_FLAVOR"};
    opts.timeout = 300s;
    auto before = logs();
    args.insert(args.begin(), "cargo");
    auto r = run_command(args, opts);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto after = logs();
    EXPECT_EQ(after.size(), before.size() + 1) << "cargo did not write one log per build";
    if (after.size() != before.size() + 1) {
      return {};
    }
    auto ingest = m_daemon.client({"ingest", (m_home / "log").string()});
    EXPECT_EQ(ingest.exit_code, 0) << ingest.err;
    return after.back().stem().string();
  }

  void change(const std::string& file) {
    std::ofstream(m_ws / file, std::ios::app) << "// changed\n";
  }

  std::vector<fs::path> logs() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(m_home / "log", ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".jsonl") {
        out.push_back(it->path());
      }
    }
    std::sort(out.begin(), out.end()); // run ids begin with their start time
    return out;
  }

  CommandResult client(const std::vector<std::string>& args) {
    CommandOptions opts;
    opts.cwd = m_ws;
    return m_daemon.client(args, opts);
  }

  json client_json(const std::vector<std::string>& args) {
    auto r = client(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // The root of `run`'s rebuilds (JSON) described as `description`.
  json root(const std::string& run, const std::string& description) {
    json j = client_json({"report", "rebuilds", "--id", run, "--format", "json"});
    for (const auto& r : j["runs"][0]["root_rebuilds"]) {
      if (r["unit"]["description"] == description) {
        return r;
      }
    }
    ADD_FAILURE() << "no root " << description << " in " << j.dump(2);
    return json::object();
  }

  TempDir m_tmp;
  fs::path m_ws = m_tmp / "thr";
  fs::path m_home = m_tmp / "cargo-home";
  DaemonProcess m_daemon{m_tmp / "daemon", {"--no-watch"}};
};

std::vector<std::string> texts(const json& origin) {
  std::vector<std::string> out;
  for (const auto& c : origin["changes"]) {
    out.push_back(c["text"]);
  }
  return out;
}

TEST_F(ThrashE2e, CheckThenBuildExplainsTheNewUnitsAndCargoKeepsBothSides) {
  std::string check = cargo({"check", "--features", "a"});
  std::string build = cargo({"build"});
  std::string again = cargo({"check", "--features", "a"});
  ASSERT_FALSE(again.empty());

  // The build's lib is new: compared with the check, another mode and feature `a` gone.
  json lib = root(build, "thr@0.1.0");
  const json& origin = lib["new_unit_origin"];
  EXPECT_EQ(origin["found"], true) << lib.dump(2);
  EXPECT_EQ(origin["previous_run_id"], check);
  EXPECT_EQ(origin["previous_command_line"], "cargo check --features a");
  EXPECT_EQ(texts(origin),
            (std::vector<std::string>{"mode changed: check -> build", "features removed: a"}));
  EXPECT_EQ(origin["text"], "mode changed: check -> build");
  auto text = client({"report", "rebuilds", "--id", build});
  EXPECT_NE(text.out.find("     new: mode changed: check -> build (and 1 more difference)\n"),
            std::string::npos)
      << text.out;
  auto verbose = client({"report", "rebuilds", "--id", build, "-v"});
  EXPECT_NE(verbose.out.find("     new: features removed: a\n     compared with: `cargo check "
                             "--features a` (" +
                             check + ")\n"),
            std::string::npos)
      << verbose.out;

  // The check's units were all kept: nothing was rebuilt, so nothing thrashes.
  json rebuilt = client_json({"report", "rebuilds", "--id", again, "--format", "json"});
  const json& third = rebuilt["runs"][0];
  EXPECT_EQ(third.value("units_new", 0) + third.value("units_rebuilt", 0), 0) << third.dump(2);
  EXPECT_GT(third.value("units_cached", 0), 0) << third.dump(2);
  json thrash = client_json({"report", "thrash", "--format", "json"});
  EXPECT_EQ(thrash["runs"], 3);
  EXPECT_TRUE(thrash["groups"].empty()) << thrash.dump(2);
  auto human = client({"report", "thrash"});
  EXPECT_NE(human.out.find("Status: no unit was rebuilt back and forth\n"), std::string::npos)
      << human.out;
}

TEST_F(ThrashE2e, AnEnvVarToggledBetweenCommandsIsThrash) {
  std::string first = cargo({"build"});
  std::string ide = cargo({"build", "--bins"}, {{"THR_FLAVOR", "x"}});
  std::string back = cargo({"build"});
  ASSERT_FALSE(back.empty());

  json j = client_json({"report", "thrash", "--format", "json"});
  ASSERT_EQ(j["groups"].size(), 1u) << j.dump(2);
  const json& g = j["groups"][0];
  EXPECT_EQ(g["cause"], "env-var");
  EXPECT_EQ(g["cause_text"], "environment variable THR_FLAVOR flips");
  ASSERT_EQ(g["units"].size(), 1u);
  const json& u = g["units"][0];
  EXPECT_EQ(u["unit"]["description"], "thr@0.1.0 thr \"bin\"");
  EXPECT_EQ(u["rebuilds"], 2);
  EXPECT_EQ(u["thrashing_rebuilds"], 1);
  ASSERT_EQ(u["sides"].size(), 2u);
  EXPECT_EQ(u["sides"][0]["value"], "THR_FLAVOR=<unset>");
  EXPECT_EQ(u["sides"][0]["commands"], json::array({"cargo build"}));
  EXPECT_EQ(u["sides"][1]["value"], "THR_FLAVOR=x");
  EXPECT_EQ(u["sides"][1]["commands"], json::array({"cargo build --bins"}));
  EXPECT_EQ(u["run_ids"], json::array({back}));

  // The time lost is the bin's compile time in the build that went back.
  json timings = client_json({"report", "timings", "--id", back, "--format", "json"});
  double bin_secs = -1;
  for (const auto& t : timings["runs"][0]["units"]) {
    if (t["unit"]["description"] == "thr@0.1.0 thr \"bin\"") {
      bin_secs = t["duration"].get<double>();
    }
  }
  ASSERT_GT(bin_secs, 0) << timings.dump(2);
  EXPECT_NEAR(u["time_lost_secs"].get<double>(), bin_secs, 1e-6);
  EXPECT_NEAR(j["time_lost_secs"].get<double>(), bin_secs, 1e-6);

  auto human = client({"report", "thrash"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("environment variable THR_FLAVOR flips: 1 unit"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("    THR_FLAVOR=x: `cargo build --bins` (1 build)\n"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("  fix: pin the env var"), std::string::npos) << human.out;
  // Only the newest run: no pattern.
  json last = client_json({"report", "thrash", "--last", "1", "--format", "json"});
  EXPECT_TRUE(last["groups"].empty()) << last.dump(2);
}

TEST_F(ThrashE2e, ABuildScriptWithoutRerunIfIsReportedAsRerunningEveryBuild) {
  write(m_ws / "build.rs", "fn main() {}\n");
  cargo({"build"});
  change("src/lib.rs");
  cargo({"build"});
  change("src/lib.rs");
  std::string last = cargo({"build"});
  ASSERT_FALSE(last.empty());

  json j = client_json({"report", "thrash", "--format", "json"});
  ASSERT_EQ(j["groups"].size(), 1u) << j.dump(2);
  const json& g = j["groups"][0];
  EXPECT_EQ(g["cause"], "build-script");
  EXPECT_NE(g["fix"].get<std::string>().find("cargo::rerun-if-changed=build.rs"),
            std::string::npos);
  const json& u = g["units"][0];
  EXPECT_EQ(u["unit"]["description"], "thr@0.1.0 build-script (run)");
  EXPECT_EQ(u["rebuilds"], 2);
  EXPECT_EQ(u["thrashing_rebuilds"], 1);
  EXPECT_EQ(u["run_ids"], json::array({last}));
  auto human = client({"report", "thrash"});
  EXPECT_NE(human.out.find("build script reruns on every change"), std::string::npos) << human.out;

  // With the rerun-if line the edits no longer rerun it.
  write(m_ws / "build.rs", "fn main() { println!(\"cargo::rerun-if-changed=build.rs\"); }\n");
  cargo({"build"});
  for (int i = 0; i < 2; ++i) {
    change("src/lib.rs");
    cargo({"build"});
  }
  json fixed = client_json({"report", "thrash", "--last", "2", "--format", "json"});
  EXPECT_TRUE(fixed["groups"].empty()) << fixed.dump(2);
}

TEST_F(ThrashE2e, AProfileChangeExplainsTheNewUnits) {
  std::string dev = cargo({"build"});
  std::string release = cargo({"build", "--release"});
  ASSERT_FALSE(release.empty());
  json j = client_json({"report", "rebuilds", "--id", release, "--format", "json"});
  const json& roots = j["runs"][0]["root_rebuilds"];
  ASSERT_GT(roots.size(), 0u) << j.dump(2);
  for (const auto& r : roots) {
    EXPECT_EQ(r["new_unit_origin"]["text"], "profile changed: dev -> release") << r.dump(2);
    EXPECT_EQ(r["new_unit_origin"]["previous_run_id"], dev);
  }
  auto text = client({"report", "rebuilds", "--id", release});
  EXPECT_NE(text.out.find("  0. thr@0.1.0: fresh build\n     new: profile changed: dev -> "
                          "release\n"),
            std::string::npos)
      << text.out;
}

TEST_F(ThrashE2e, ADependencyBumpExplainsTheDependencysNewUnits) {
  write(m_ws / "dep/Cargo.toml",
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n");
  write(m_ws / "dep/src/lib.rs", "pub fn d() -> u32 { 2 }\n");
  write(m_ws / "Cargo.toml",
        std::string(k_manifest) + "\n[dependencies]\ndep = { path = \"dep\" }\n");
  cargo({"build"});
  write(m_ws / "dep/Cargo.toml",
        "[package]\nname = \"dep\"\nversion = \"0.2.0\"\nedition = \"2021\"\n");
  std::string bumped = cargo({"build"});
  ASSERT_FALSE(bumped.empty());
  json dep = root(bumped, "dep@0.2.0");
  EXPECT_EQ(dep["new_unit_origin"]["text"], "version changed: 0.1.0 -> 0.2.0") << dep.dump(2);
}

} // namespace
} // namespace ca::test
