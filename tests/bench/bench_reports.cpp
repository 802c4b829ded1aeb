// Report latency, end to end: the wall time of one `cargo-analysis-client report ...` process
// (start, connect, the daemon's query, rendering, exit), median of N, with 100, 1,000 and
// 10,000 stored sessions; side by side, in the same run and on the same logs, with what a user
// has without us:
//   - `cargo -Zbuild-analysis report rebuilds --id X` and `report timings --id X` (cargo 1.95,
//     through the rustup proxy as users run it), for our rebuilds and timings;
//   - tests/bench/scan_trends.py, a script that scans every JSONL log and counts the root
//     rebuilds per unit and cause, for our trends (it computes less than trends does: only the
//     causes).
// Sessions are the 11 corpus logs (A's ten steps and C's clean build) replayed in turn under new
// run ids: the time part of the id is a new minute per replay (from 2026-01-01), the 16 hex
// digits stay the workspace's hash, so every A replay is in /tmp/corpus/wsA and workspace
// filters have something to filter. The same files are both ingested by the daemon and put in a
// private $CARGO_HOME/log for cargo and the script.
//
// Rows marked "cold" ask for a different replay of C on every run (one the daemon has never
// answered for, so nothing it keeps in memory helps: the answer comes from the report the daemon
// stored when the run ended, see daemon/query/report_precomputer.hpp); the others repeat one id,
// as an IDE refreshing a view or a user re-running a report does. Before measuring, the bench
// waits until the daemon has stored the reports of every ingested run.
//
// Usage: bench_reports [sizes=100,1000,10000] [repetitions=11] [scan_repetitions=3]
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t k_base_ms = 1767225600000; // 2026-01-01T00:00:00Z
constexpr const char* k_ws_a = "/tmp/corpus/wsA";

struct Log {
  std::string run_id;
  std::string hash;
  std::vector<std::string> lines;
};

std::vector<Log> corpus() {
  std::vector<Log> out;
  for (const char* folder : {"corpus/A/logs", "corpus/C/logs"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(ca::test::fixture_path(folder))) {
      files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Log log;
      log.run_id = f.stem().string();
      log.hash = log.run_id.substr(log.run_id.find('-') + 1);
      std::ifstream in(f);
      for (std::string line; std::getline(in, line);) {
        log.lines.push_back(line);
      }
      out.push_back(std::move(log));
    }
  }
  return out;
}

// Replay `i`: corpus log i % 11 under `<YYYYMMDDTHHMMSSmmmZ>-<its workspace hash>`.
std::string replay_id(const std::vector<Log>& logs, size_t i) {
  int64_t ms = k_base_ms + static_cast<int64_t>(i) * 60000;
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d%03dZ-%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000), logs[i % logs.size()].hash.c_str());
  return buf;
}

void write_replay(const std::vector<Log>& logs, size_t i, const fs::path& dir) {
  const Log& log = logs[i % logs.size()];
  std::string id = replay_id(logs, i);
  std::ofstream out(dir / (id + ".jsonl"), std::ios::binary);
  for (std::string line : log.lines) {
    auto at = line.find(log.run_id);
    if (at != std::string::npos) {
      line.replace(at, log.run_id.size(), id);
    }
    out << line << '\n';
  }
}

// The newest replay below `size` of corpus log `k`.
std::string newest_of(const std::vector<Log>& logs, size_t size, size_t k) {
  size_t i = (size - 1) / logs.size() * logs.size() + k;
  if (i >= size) {
    i -= logs.size();
  }
  return replay_id(logs, i);
}

struct Env {
  std::vector<std::string> vars; // KEY=VALUE, added to ours
};

// Spawns argv with stdout and stderr to /dev/null and waits: the wall time in ms, or -1 if it
// failed. (No polling: tests/support's run_command checks for exit every 5 ms, too coarse here.)
double timed_run(const std::vector<std::string>& argv, const Env& env, const fs::path& cwd) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    env_strings.emplace_back(*e);
  }
  for (const auto& v : env.vars) {
    auto key = v.substr(0, v.find('=') + 1);
    env_strings.erase(std::remove_if(env_strings.begin(), env_strings.end(),
                                     [&](const std::string& s) { return s.rfind(key, 0) == 0; }),
                      env_strings.end());
    env_strings.push_back(v);
  }
  std::vector<char*> c_env;
  for (auto& s : env_strings) {
    c_env.push_back(s.data());
  }
  c_env.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> c_args;
  for (auto& s : args) {
    c_args.push_back(s.data());
  }
  c_args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  auto t0 = Clock::now();
  int rc = posix_spawnp(&pid, c_args[0], &actions, nullptr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return -1;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Tool {
  std::vector<std::string> argv;
  Env env;
  // Cold rows: run i (0 = the checked first run) uses argv_for(i), a run id never asked for
  // before, so nothing the daemon computed for an earlier run helps.
  std::function<std::vector<std::string>(size_t)> argv_for = {};
  size_t max_runs = SIZE_MAX; // cold rows: how many distinct ids there are

  std::vector<std::string> args(size_t i) const { return argv_for ? argv_for(i) : argv; }
};

// Median of `n` runs (after one warm-up run, whose output is checked), or -1 if a run failed.
double measure(const Tool& tool, const fs::path& cwd, size_t n) {
  n = std::min(n, tool.max_runs - 1);
  ca::test::CommandOptions opts;
  opts.cwd = cwd;
  for (const auto& v : tool.env.vars) {
    opts.env[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
  }
  auto check = ca::test::run_command(tool.args(0), opts);
  if (check.exit_code != 0) {
    std::fprintf(stderr, "bench_reports: `%s` failed (%d): %s\n", tool.argv[0].c_str(),
                 check.exit_code, check.err.substr(0, 400).c_str());
    return -1;
  }
  std::vector<double> times;
  for (size_t i = 0; i < n; ++i) {
    double ms = timed_run(tool.args(i + 1), tool.env, cwd);
    if (ms < 0) {
      return -1;
    }
    times.push_back(ms);
  }
  return median(times);
}

std::vector<size_t> parse_sizes(const char* text) {
  std::vector<size_t> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    out.push_back(std::stoul(part));
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

int main(int argc, char** argv) {
  auto sizes = parse_sizes(argc > 1 ? argv[1] : "100,1000,10000");
  size_t reps = argc > 2 ? std::stoul(argv[2]) : 11;
  size_t scan_reps = argc > 3 ? std::stoul(argv[3]) : 3;
  auto logs = corpus();

  ca::test::TempDir dir;
  fs::path home = dir / "cargo-home";
  fs::path cwd = dir / "cwd"; // an empty directory: no workspace around the tools
  fs::path cargo_tmp = dir / "cargo-tmp";
  fs::create_directories(home / "log");
  fs::create_directories(cwd);
  fs::create_directories(cargo_tmp);
  ca::test::DaemonProcess daemon(dir / "daemon", {"--no-watch"});
  if (!daemon.start()) {
    return 1;
  }
  std::string client = CA_CLIENT_BIN;
  std::string runtime = daemon.runtime_dir().string();
  std::string script = std::string(CA_SOURCE_DIR) + "/tests/bench/scan_trends.py";
  Env ours{{"CARGO_ANALYSIS_NO_SPAWN=1", "NO_COLOR=1"}};
  Env cargo_env{{"__CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly",
                 "CARGO_HOME=" + home.string(), "TMPDIR=" + cargo_tmp.string()}};
  auto client_tool = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {client, "--runtime-dir", runtime};
    a.insert(a.end(), args.begin(), args.end());
    return Tool{a, ours};
  };
  auto cargo_tool = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {"cargo", "-Zbuild-analysis", "report"};
    a.insert(a.end(), args.begin(), args.end());
    return Tool{a, cargo_env};
  };

  std::printf("bench_reports: corpus A (10 logs) + C (1 log) replayed in turn; median of %zu "
              "client runs (%zu for the scan); times in ms\n",
              reps, scan_reps);
  size_t stored = 0;
  for (size_t size : sizes) {
    // Store replays [stored, size): ingest them, then hand the same files to cargo's log dir.
    fs::path stage = dir / ("stage-" + std::to_string(size));
    fs::create_directories(stage);
    uint64_t lines = 0;
    for (size_t i = stored; i < size; ++i) {
      write_replay(logs, i, stage);
      lines += logs[i % logs.size()].lines.size();
    }
    auto t0 = Clock::now();
    ca::test::CommandOptions slow;
    slow.timeout = std::chrono::seconds(3600);
    auto ingest = daemon.client({"ingest", stage.string()}, slow);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (ingest.exit_code != 0) {
      std::fprintf(stderr, "bench_reports: ingest failed: %s\n", ingest.err.c_str());
      return 1;
    }
    // The daemon computes and stores each ended run's reports in the background: the queries
    // below are those of a daemon that has caught up (as it has, in use, soon after a build).
    double analysed_secs = 0;
    for (auto t1 = Clock::now();; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
      auto status = daemon.client({"status", "--format", "json"});
      if (status.exit_code != 0) {
        std::fprintf(stderr, "bench_reports: status failed: %s\n", status.err.c_str());
        return 1;
      }
      if (status.out.find("\"reports_pending\": \"0\"") != std::string::npos) {
        analysed_secs = std::chrono::duration<double>(Clock::now() - t1).count();
        break;
      }
    }
    for (const auto& e : fs::directory_iterator(stage)) {
      fs::rename(e.path(), home / "log" / e.path().filename());
    }
    std::printf("\n== %zu sessions (%zu new ingested: %llu lines in %.1f s, %.0f lines/s; their "
                "reports stored %.1f s later)\n",
                size, size - stored, static_cast<unsigned long long>(lines), secs,
                static_cast<double>(lines) / secs, analysed_secs);
    stored = size;

    std::string a1 = newest_of(logs, size, 0); // step 1: the clean build of wsA
    std::string a4 = newest_of(logs, size, 3); // step 4: wscore changed (3 rebuilt)
    std::string c = newest_of(logs, size, 10); // corpus C: 242 units
    std::string html = (dir / "ours.html").string();
    // Cold: the replays of C before the newest, newest first (the newest one is the warm rows').
    size_t c_replays = (size + logs.size() - 1 - 10) / logs.size();
    auto c_cold = [&](size_t j) { return replay_id(logs, (c_replays - 2 - j) * logs.size() + 10); };
    auto cold = [&](Tool t, std::vector<std::string> head, std::vector<std::string> tail) {
      t.max_runs = c_replays - 1;
      t.argv_for = [=, base = t.argv](size_t i) {
        auto a = base;
        a.insert(a.end(), head.begin(), head.end());
        a.push_back(c_cold(i));
        a.insert(a.end(), tail.begin(), tail.end());
        return a;
      };
      return t;
    };

    struct Row {
      std::string name;
      Tool ours;
      std::optional<Tool> theirs;
      std::string theirs_name;
      size_t theirs_reps;
    };
    std::vector<Row> rows = {
        {"sessions --all", client_tool({"report", "sessions", "--all"}), std::nullopt, "", 0},
        {"rebuilds --id <A step 4>", client_tool({"report", "rebuilds", "--id", a4}),
         cargo_tool({"rebuilds", "--id", a4}), "cargo report rebuilds", reps},
        {"rebuilds --id <C>", client_tool({"report", "rebuilds", "--id", c}),
         cargo_tool({"rebuilds", "--id", c}), "cargo report rebuilds", reps},
        {"rebuilds --id <C> (cold)", cold(client_tool({"report", "rebuilds"}), {"--id"}, {}),
         cold(cargo_tool({"rebuilds"}), {"--id"}, {}), "cargo report rebuilds", reps},
        {"timings --id <C> (html, cold)",
         cold(client_tool({"report", "timings"}), {"--id"}, {"--format", "html", "-o", html}),
         cold(cargo_tool({"timings"}), {"--id"}, {}), "cargo report timings", reps},
        {"timings --id <C> (html)",
         client_tool({"report", "timings", "--id", c, "--format", "html", "-o", html}),
         cargo_tool({"timings", "--id", c}), "cargo report timings", reps},
        {"timings --id <A step 4> (html)",
         client_tool({"report", "timings", "--id", a4, "--format", "html", "-o", html}),
         cargo_tool({"timings", "--id", a4}), "cargo report timings", reps},
        {"critical-path --id <C>", client_tool({"report", "critical-path", "--id", c}),
         std::nullopt, "", 0},
        {"diff <A step 1> <A step 4>", client_tool({"report", "diff", a1, a4}), std::nullopt, "",
         0},
        {"trends --all", client_tool({"report", "trends", "--all"}),
         Tool{{"python3", script, (home / "log").string()}, {}}, "scan_trends.py", scan_reps},
        {"trends --workspace wsA", client_tool({"report", "trends", "--workspace", k_ws_a}),
         std::nullopt, "", 0},
        {"trends --all --last 100", client_tool({"report", "trends", "--all", "--last", "100"}),
         std::nullopt, "", 0},
    };
    std::printf("%-32s %10s   %-24s %10s %9s\n", "report", "ours", "alternative", "theirs",
                "ratio");
    for (const Row& row : rows) {
      double mine = measure(row.ours, cwd, reps);
      if (!row.theirs) {
        std::printf("%-32s %10.1f\n", row.name.c_str(), mine);
        continue;
      }
      double theirs = measure(*row.theirs, cwd, row.theirs_reps);
      std::printf("%-32s %10.1f   %-24s %10.1f %8.1fx\n", row.name.c_str(), mine,
                  row.theirs_name.c_str(), theirs, mine > 0 ? theirs / mine : 0.0);
    }
    std::fflush(stdout);

    // The trends answer and the scan's agree on the most rebuilt unit.
    auto trend = daemon.client({"report", "trends", "--all", "--limit", "1"}, {});
    ca::test::CommandOptions in_cwd;
    in_cwd.cwd = cwd;
    auto scan = ca::test::run_command({"python3", script, (home / "log").string(), "1"}, in_cwd);
    auto last_line = [](const std::string& text, const std::string& marker) {
      auto at = text.find(marker);
      return at == std::string::npos ? std::string("?") : text.substr(at, text.find('\n', at) - at);
    };
    std::printf("  check: trends: %s\n         scan:   %s\n", last_line(trend.out, "wsapp").c_str(),
                last_line(scan.out, "wsapp").c_str());
  }
  return 0;
}
