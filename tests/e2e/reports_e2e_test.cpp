// End to end with real cargo: a workspace of three path crates in a chain, a (bin) -> b -> c,
// where c is slow on purpose (rustc evaluates a long loop in a `const` at compile time, about
// 1.5 s in a debug build here) and b less so (about 0.5 s, so that a waits on b, not on c). Build
// analysis is switched on by the environment alone; the logs go to the daemon with `ingest` (the
// daemon runs with --no-watch, so these tests do not depend on the log watcher). Known answers:
// - critical path of the clean build: c -> b -> a, c holding most of it;
// - diff of the clean build and the build after c/src/lib.rs changed: c rebuilt because the file
//   changed, b and a because their dependency was rebuilt;
// - trends over four builds (clean, c changed twice, a changed once): c is the unit most often
//   rebuilt at the root, for `file modified: c/src/lib.rs`, and the slowest on average.
// Incremental compilation is off (CARGO_INCREMENTAL=0), as in CI builds: with it, rustc would
// reuse c's const value after a change to a comment, and c would be slow only once.
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

class ReportsE2e : public ::testing::Test {
protected:
  void SetUp() override {
    if (run_command({"cargo", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "no cargo on PATH";
    }
    write(m_ws / "Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\", \"c\"]\nresolver = \"2\"\n");
    auto package = [](const std::string& name, const std::string& dep) {
      std::string toml = "[package]\nname = \"" + name +
                         "\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";
      if (!dep.empty()) {
        toml += dep + " = { path = \"../" + dep + "\" }\n";
      }
      return toml;
    };
    write(m_ws / "c/Cargo.toml", package("c", ""));
    write(m_ws / "c/src/lib.rs",
          "#![allow(long_running_const_eval)]\n"
          "// Slow on purpose: rustc runs this loop at compile time.\n"
          "pub const SEED: u64 = {\n"
          "    let mut i: u64 = 0;\n"
          "    let mut acc: u64 = 1;\n"
          "    while i < 800_000 {\n"
          "        acc = acc.wrapping_mul(6364136223846793005).wrapping_add(i);\n"
          "        i += 1;\n"
          "    }\n"
          "    acc\n"
          "};\n"
          "pub fn c() -> u64 { SEED }\n");
    write(m_ws / "b/Cargo.toml", package("b", "c"));
    // b is slow too, though less so than c: it starts when c's metadata is ready and must end
    // after c's own codegen does, or a (which links both) would wait on c alone and the chain
    // would skip b.
    write(m_ws / "b/src/lib.rs",
          "#![allow(long_running_const_eval)]\n"
          "pub const SALT: u64 = {\n"
          "    let mut i: u64 = 0;\n"
          "    let mut acc: u64 = 7;\n"
          "    while i < 250_000 {\n"
          "        acc = acc.wrapping_mul(2862933555777941757).wrapping_add(i);\n"
          "        i += 1;\n"
          "    }\n"
          "    acc\n"
          "};\n"
          "pub fn b() -> u64 { c::c() ^ SALT }\n");
    write(m_ws / "a/Cargo.toml", package("a", "b"));
    write(m_ws / "a/src/main.rs", "fn main() { println!(\"{}\", b::b()); }\n");
    ASSERT_TRUE(m_daemon.start());
  }

  // One logged `cargo build --offline` in the workspace; returns its run id (the log's name).
  std::string build() {
    CommandOptions opts;
    opts.cwd = m_ws;
    opts.env = {{"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly"},
                {"CARGO_UNSTABLE_BUILD_ANALYSIS", "true"},
                {"CARGO_BUILD_ANALYSIS_ENABLED", "true"},
                {"CARGO_HOME", m_home.string()},
                {"CARGO_INCREMENTAL", "0"}};
    opts.unset_env = {"CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER", "RUSTFLAGS",
                      "CARGO_BUILD_RUSTFLAGS"};
    opts.timeout = 300s;
    auto before = logs();
    auto r = run_command({"cargo", "build", "--offline"}, opts);
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

  // Appends a line to a source file: a real change, with a new mtime.
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

  json client_json(const std::vector<std::string>& args) {
    CommandOptions opts;
    opts.cwd = m_ws;
    auto r = m_daemon.client(args, opts);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  std::string client_text(const std::vector<std::string>& args) {
    CommandOptions opts;
    opts.cwd = m_ws;
    auto r = m_daemon.client(args, opts);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  TempDir m_tmp;
  fs::path m_ws = m_tmp / "chain";
  fs::path m_home = m_tmp / "cargo-home";
  DaemonProcess m_daemon{m_tmp / "daemon", {"--no-watch"}};
};

const json& unit_diff(const json& diff, const std::string& description) {
  static const json k_none;
  for (const auto& u : diff["units"]) {
    if (u["unit"]["description"] == description) {
      return u;
    }
  }
  ADD_FAILURE() << "no unit " << description << " in " << diff.dump(2);
  return k_none;
}

// Before any build, in a member's source directory: cargo's error names the workspace root it
// finds from the manifests, not the directory; so does ours, for every report.
TEST_F(ReportsE2e, NoSessionsYetNamesTheWorkspaceRootAsCargoDoes) {
  CommandOptions in_member;
  in_member.cwd = m_ws / "a/src";
  in_member.env = {{"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS", "nightly"},
                   {"CARGO_HOME", m_home.string()}};
  auto cargo = run_command({"cargo", "-Zbuild-analysis", "report", "rebuilds"}, in_member);
  const std::string expected = "error: no sessions found for workspace at `" + m_ws.string() + "`";
  ASSERT_NE(cargo.err.find(expected + "\n"), std::string::npos) << cargo.err;
  for (const char* report : {"rebuilds", "timings", "sessions"}) {
    auto ours = m_daemon.client({"report", report}, in_member);
    EXPECT_EQ(ours.exit_code, 1) << report;
    EXPECT_NE(ours.err.find(expected + "\n"), std::string::npos) << report << ": " << ours.err;
  }
}

TEST_F(ReportsE2e, CriticalPathOfAChainEndsWithTheSlowLeafThenItsDependents) {
  std::string clean = build();
  ASSERT_FALSE(clean.empty());

  // With no --id: the newest run of the workspace the client runs in.
  auto j = client_json({"report", "critical-path", "--format", "json"});
  ASSERT_EQ(j["runs"].size(), 1u);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["run"]["run_id"], clean);
  const auto& steps = run["steps"];
  ASSERT_GE(steps.size(), 3u) << run.dump(2);
  size_t n = steps.size();
  EXPECT_EQ(steps[n - 3]["unit"]["description"], "c@0.1.0");
  EXPECT_EQ(steps[n - 2]["unit"]["description"], "b@0.1.0");
  EXPECT_EQ(steps[n - 1]["unit"]["description"], "a@0.1.0 a \"bin\"");
  // c is the slow one: it holds most of the build.
  const auto& c = steps[n - 3];
  EXPECT_GT(c["duration"].get<double>(), 0.5) << "c was not slow: " << c.dump();
  EXPECT_GT(c["share"].get<double>(), 0.5) << run.dump(2);
  double shares = 0;
  for (const auto& s : steps) {
    shares += s["share"].get<double>();
  }
  EXPECT_NEAR(shares, run["path_share"].get<double>(), 1e-9);
  EXPECT_LE(run["path_share"].get<double>(), 1.0 + 1e-9);

  auto text = client_text({"report", "critical-path", "--id", clean});
  EXPECT_NE(text.find("Chain: c@0.1.0 -> b@0.1.0 -> a@0.1.0 a \"bin\""), std::string::npos) << text;
  EXPECT_NE(text.find("Critical path:  3 units"), std::string::npos) << text;
}

TEST_F(ReportsE2e, DiffAfterChangingTheLeafShowsItAndItsDependentsRebuilt) {
  std::string clean = build();
  change("c/src/lib.rs");
  std::string touched = build();
  ASSERT_FALSE(clean.empty());
  ASSERT_FALSE(touched.empty());

  auto d = client_json({"report", "diff", clean, touched, "--format", "json"});
  EXPECT_EQ(d["a"]["id"], clean);
  EXPECT_EQ(d["b"]["id"], touched);
  EXPECT_FALSE(d["a"]["session"].get<bool>());
  EXPECT_EQ(d["a"]["units_new"], 3);
  EXPECT_EQ(d["b"]["units_dirty"], 3);
  EXPECT_EQ(d["units_only_a"], 0);
  EXPECT_EQ(d["units_only_b"], 0);
  EXPECT_EQ(d["causes_changed"], 3);
  EXPECT_NEAR(d["wall_time_delta"].get<double>(),
              d["b"]["wall_time"].get<double>() - d["a"]["wall_time"].get<double>(), 1e-9);

  const auto& c = unit_diff(d, "c@0.1.0");
  EXPECT_EQ(c["a"]["status"], "new");
  EXPECT_EQ(c["b"]["status"], "dirty");
  EXPECT_EQ(c["b"]["reason"], "file modified: c/src/lib.rs");
  EXPECT_TRUE(c["b"]["root"].get<bool>());
  EXPECT_TRUE(c["cause_changed"].get<bool>());
  EXPECT_GT(c["b"]["duration"].get<double>(), 0.5) << "c is rebuilt in full";
  for (const char* dependent : {"b@0.1.0", "a@0.1.0 a \"bin\""}) {
    SCOPED_TRACE(dependent);
    const auto& u = unit_diff(d, dependent);
    EXPECT_EQ(u["presence"], "both");
    EXPECT_EQ(u["b"]["status"], "dirty");
    EXPECT_FALSE(u["b"]["root"].get<bool>());
    EXPECT_EQ(u["b"]["reason"].get<std::string>().rfind("dependency rebuilt: ", 0), 0u)
        << u["b"]["reason"];
  }

  auto text = client_text({"report", "diff", clean, touched});
  EXPECT_NE(text.find("c@0.1.0  new -> dirty: file modified: c/src/lib.rs"), std::string::npos)
      << text;
  EXPECT_NE(text.find("b@0.1.0  new -> dirty: dependency rebuilt: c@0.1.0"), std::string::npos)
      << text;
}

TEST_F(ReportsE2e, TrendsNameTheLeafAsTheMostFrequentRootRebuild) {
  ASSERT_FALSE(build().empty());
  change("c/src/lib.rs");
  ASSERT_FALSE(build().empty());
  change("c/src/lib.rs");
  ASSERT_FALSE(build().empty());
  change("a/src/main.rs");
  ASSERT_FALSE(build().empty());

  auto t = client_json({"report", "trends", "--format", "json"});
  EXPECT_EQ(t["workspace_root"], fs::canonical(m_ws).string());
  EXPECT_EQ(t["sessions"], 4);
  ASSERT_EQ(t["commands"].size(), 1u);
  EXPECT_EQ(t["commands"][0]["kind"], "build");
  EXPECT_EQ(t["commands"][0]["runs"], 4);

  // Root rebuilds: c twice (the clean build's new units are no rebuilds), a once.
  EXPECT_EQ(t["root_rebuilds_total"], 3);
  ASSERT_EQ(t["root_rebuilds"].size(), 2u) << t.dump(2);
  const auto& top = t["root_rebuilds"][0];
  EXPECT_EQ(top["unit"]["description"], "c@0.1.0");
  EXPECT_EQ(top["rebuilds"], 2);
  ASSERT_EQ(top["causes"].size(), 1u);
  EXPECT_EQ(top["causes"][0]["cause"], "file modified: c/src/lib.rs");
  EXPECT_EQ(top["causes"][0]["count"], 2);
  const auto& second = t["root_rebuilds"][1];
  EXPECT_EQ(second["unit"]["description"], "a@0.1.0 a \"bin\"");
  EXPECT_EQ(second["causes"][0]["cause"], "file modified: a/src/main.rs");

  // c compiled in three of the four builds, slowly each time.
  ASSERT_GE(t["slowest_units"].size(), 3u);
  EXPECT_EQ(t["slowest_units"][0]["unit"]["description"], "c@0.1.0");
  EXPECT_EQ(t["slowest_units"][0]["builds"], 3);

  auto text = client_text({"report", "trends"});
  EXPECT_NE(text.find("c@0.1.0 rebuilt 2 times: file modified: c/src/lib.rs x2"), std::string::npos)
      << text;
}

} // namespace
} // namespace ca::test
