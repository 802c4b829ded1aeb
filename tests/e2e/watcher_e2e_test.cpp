// End to end, zero configuration: the real daemon watches a private $CARGO_HOME/log while real
// cargo builds a copy of tests/fixtures/workspaces/demo with build analysis switched on by the
// environment alone. Every build must show up once, with the state it really ended in.
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

size_t count_lines(const fs::path& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
  }
  return n;
}

class WatcherE2e : public ::testing::Test {
protected:
  void SetUp() override {
    fs::copy(fixture_path("workspaces/demo"), m_ws, fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(m_ws)) {
      fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }

  static bool have_cargo() { return run_command({"cargo", "--version"}).exit_code == 0; }

  // Real cargo, with build analysis switched on by the environment alone (as DESIGN.md says).
  CommandResult cargo(const std::vector<std::string>& args,
                      std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {"cargo"};
    argv.insert(argv.end(), args.begin(), args.end());
    env["__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS"] = "nightly";
    env["CARGO_UNSTABLE_BUILD_ANALYSIS"] = "true";
    env["CARGO_BUILD_ANALYSIS_ENABLED"] = "true";
    env["CARGO_HOME"] = m_home.string();
    CommandOptions opts;
    opts.cwd = m_ws;
    opts.env = std::move(env);
    opts.unset_env = {"CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR", "RUSTC_WRAPPER"};
    opts.timeout = 300s;
    return run_command(argv, opts);
  }

  // Every run the daemon reports, across sessions.
  static std::vector<nlohmann::json> runs(const DaemonProcess& d) {
    auto r = d.client({"report", "sessions", "--all", "--limit", "100", "--format", "json"});
    std::vector<nlohmann::json> out;
    if (r.exit_code != 0) {
      return out;
    }
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j.contains("sessions")) {
      return out;
    }
    for (const auto& s : j["sessions"]) {
      for (const auto& run : s.value("runs", nlohmann::json::array())) {
        out.push_back(run);
      }
    }
    return out;
  }

  static std::optional<nlohmann::json> find_run(const DaemonProcess& d, const std::string& id) {
    for (auto& r : runs(d)) {
      if (r.value("run_id", "") == id) {
        return r;
      }
    }
    return std::nullopt;
  }

  static std::string state_of(const DaemonProcess& d, const std::string& id) {
    auto r = find_run(d, id);
    return r ? r->value("state", "") : "<none>";
  }

  // Log files cargo wrote, oldest first (run ids begin with their start time).
  std::vector<fs::path> logs() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(m_home / "log", ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".jsonl") {
        out.push_back(it->path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Waits for cargo's newest log after `before` logs, and for its run to end in the daemon.
  std::string wait_for_run(const DaemonProcess& d, size_t before) {
    EXPECT_EQ(logs().size(), before + 1) << "cargo did not write one log per invocation";
    if (logs().size() != before + 1) {
      return "";
    }
    std::string id = logs().back().stem().string();
    auto exited = std::chrono::steady_clock::now();
    bool ended = eventually([&] {
      auto s = state_of(d, id);
      return s != "<none>" && s != "in_progress";
    });
    EXPECT_TRUE(ended) << id << " is " << state_of(d, id);
    std::printf("[ measure  ] cargo exited -> run %s seen ended by the client: %.0f ms\n",
                id.c_str(),
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - exited)
                    .count());
    return id;
  }

  TempDir m_tmp;
  fs::path m_home = m_tmp / "cargo-home";
  fs::path m_ws = m_tmp / "demo";
};

uint64_t num(const nlohmann::json& run, const char* field) {
  // proto3 JSON: 64-bit integers are strings, zero values may be left out.
  if (!run.contains(field)) {
    return 0;
  }
  const auto& v = run[field];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();
}

TEST_F(WatcherE2e, EveryBuildAppearsOnceWithTheStateItEndedIn) {
  if (!have_cargo()) {
    GTEST_SKIP() << "no cargo on PATH";
  }
  // $CARGO_HOME/log does not exist yet: cargo creates it on its first logged build.
  DaemonProcess daemon(m_tmp / "daemon", {"--watch-dir", (m_home / "log").string()});
  ASSERT_TRUE(daemon.start());

  auto build = cargo({"build"});
  ASSERT_EQ(build.exit_code, 0) << build.err;
  std::string clean = wait_for_run(daemon, 0);

  auto noop = cargo({"build"});
  ASSERT_EQ(noop.exit_code, 0) << noop.err;
  std::string fresh = wait_for_run(daemon, 1);

  auto main_rs = m_ws / "demo-app/src/main.rs";
  fs::last_write_time(main_rs, fs::file_time_type::clock::now());
  auto touched = cargo({"build"});
  ASSERT_EQ(touched.exit_code, 0) << touched.err;
  std::string dirty = wait_for_run(daemon, 2);

  std::ofstream(main_rs, std::ios::app) << "\nfn broken( {\n";
  auto failing = cargo({"build"});
  ASSERT_NE(failing.exit_code, 0) << "the syntax error did not fail the build";
  std::string failed = wait_for_run(daemon, 3);

  auto all = runs(daemon);
  ASSERT_EQ(all.size(), 4u);
  std::set<std::string> ids;
  for (const auto& r : all) {
    ids.insert(r.value("run_id", ""));
  }
  EXPECT_EQ(ids, (std::set<std::string>{clean, fresh, dirty, failed}));

  auto c = *find_run(daemon, clean);
  EXPECT_EQ(c.value("state", ""), "completed");
  EXPECT_EQ(num(c, "units_new"), num(c, "units_total"));
  EXPECT_GT(num(c, "units_total"), 0u);

  auto f = *find_run(daemon, fresh);
  EXPECT_EQ(f.value("state", ""), "completed");
  EXPECT_EQ(num(f, "units_fresh"), num(f, "units_total"));
  EXPECT_EQ(num(f, "units_new") + num(f, "units_dirty"), 0u);

  auto d = *find_run(daemon, dirty);
  EXPECT_EQ(d.value("state", ""), "completed");
  EXPECT_GE(num(d, "units_dirty"), 1u);

  auto x = *find_run(daemon, failed);
  EXPECT_EQ(x.value("state", ""), "failed");

  // Every line of every log, once.
  for (const auto& log : logs()) {
    auto r = find_run(daemon, log.stem().string());
    ASSERT_TRUE(r) << log;
    EXPECT_EQ(num(*r, "events"), count_lines(log)) << log;
  }
}

TEST_F(WatcherE2e, BuildRunningWhileTheDaemonStartsIsPickedUp) {
  if (!have_cargo()) {
    GTEST_SKIP() << "no cargo on PATH";
  }
  // The copy's build script waits for a gate file, so the build is surely running (cargo
  // holding its log's lock, the log still empty) while the daemon starts.
  const fs::path gate = m_tmp / "gate";
  {
    std::string text = read_file(m_ws / "demo-core/build.rs");
    const std::string main = "fn main() {";
    auto at = text.find(main);
    ASSERT_NE(at, std::string::npos);
    text.insert(at + main.size(), "\n    wait_for_gate();");
    text += R"rust(
fn wait_for_gate() {
    if let Ok(gate) = std::env::var("DEMO_GATE") {
        let start = std::time::Instant::now();
        while !std::path::Path::new(&gate).exists()
            && start.elapsed() < std::time::Duration::from_secs(120)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
)rust";
    std::ofstream(m_ws / "demo-core/build.rs", std::ios::trunc) << text;
  }

  CommandResult build;
  std::thread cargo_thread([&] { build = cargo({"build"}, {{"DEMO_GATE", gate.string()}}); });
  struct Join {
    std::thread& t;
    const fs::path& gate;
    ~Join() {
      if (t.joinable()) {
        std::ofstream(gate) << "go"; // never leave cargo waiting, whatever failed
        t.join();
      }
    }
  } join{cargo_thread, gate};

  ASSERT_TRUE(eventually([&] { return logs().size() == 1; }, 120s)) << "cargo wrote no log";
  const std::string id = logs().front().stem().string();
  EXPECT_EQ(fs::file_size(logs().front()), 0u) << "cargo buffers its log until the end";

  DaemonProcess daemon(m_tmp / "daemon", {"--watch-dir", (m_home / "log").string()});
  ASSERT_TRUE(daemon.start());
  ASSERT_TRUE(eventually([&] { return state_of(daemon, id) == "in_progress"; }))
      << id << " is " << state_of(daemon, id);

  std::ofstream(gate) << "go";
  cargo_thread.join();
  ASSERT_EQ(build.exit_code, 0) << build.err;
  ASSERT_TRUE(eventually([&] { return state_of(daemon, id) == "completed"; }))
      << id << " is " << state_of(daemon, id);
  auto r = *find_run(daemon, id);
  EXPECT_EQ(num(r, "events"), count_lines(logs().front()));
  EXPECT_EQ(runs(daemon).size(), 1u);
}

TEST_F(WatcherE2e, DaemonKilledDuringBackFillLosesAndRepeatsNothing) {
  // 400 real logs (copies of one corpus log under distinct run ids) wait in the log dir; the
  // daemon is killed with SIGKILL while it back-fills, then started again. Each line must be
  // stored once: the read offset was committed with the events, in one transaction.
  const std::string run = "20261123T062731277Z-28b99174ef2c2ad6";
  const std::string text = read_file(fixture_path("corpus/A/logs/" + run + ".jsonl"));
  fs::create_directories(m_home / "log");
  const size_t k_logs = 400;
  for (size_t i = 0; i < k_logs; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "20261125T0800%02zu%03zuZ-28b99174ef2c2ad6", i / 100, i % 100);
    std::string out;
    size_t start = 0;
    for (size_t at = text.find(run); at != std::string::npos; at = text.find(run, start)) {
      out.append(text, start, at - start).append(id);
      start = at + run.size();
    }
    out.append(text, start, std::string::npos);
    std::ofstream(m_home / "log" / (std::string(id) + ".jsonl")) << out;
  }
  const uint64_t lines_per_log = count_lines(fixture_path("corpus/A/logs/" + run + ".jsonl"));
  const uint64_t total = k_logs * lines_per_log;
  auto stored = [](const DaemonProcess& d) -> uint64_t {
    auto r = d.client({"status", "--format", "json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? num(j, "events_stored") : 0;
  };

  uint64_t at_kill = 0;
  {
    DaemonProcess first(m_tmp / "daemon", {"--watch-dir", (m_home / "log").string()});
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(eventually([&] { return (at_kill = stored(first)) > 0; }));
    first.kill_hard();
  }
  std::printf("[ measure  ] SIGKILL after %llu of %llu lines were stored\n",
              static_cast<unsigned long long>(at_kill), static_cast<unsigned long long>(total));

  DaemonProcess second(m_tmp / "daemon", {"--watch-dir", (m_home / "log").string()});
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(eventually([&] { return stored(second) == total; }, 120s))
      << stored(second) << " lines stored of " << total;
  auto newest = runs(second); // --limit 100: the newest 100 runs
  ASSERT_EQ(newest.size(), 100u);
  for (const auto& r : newest) {
    EXPECT_EQ(r.value("state", ""), "completed") << r.value("run_id", "");
    EXPECT_EQ(num(r, "events"), lines_per_log) << r.value("run_id", "");
  }
}

} // namespace
} // namespace ca::test
