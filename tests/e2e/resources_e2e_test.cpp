// What only a daemon running beside the build sees, with real cargo under the log watcher:
// - CPU and memory samples spanning a live build (about one per 100 ms, values in range), drawn
//   as the CPU graph of the timings HTML (headless Chromium; pixels of cargo's CPU colour in
//   the graph's area);
// - the Perfetto/Chrome trace of that build validates (fields per phase, lanes, units equal to
//   the timings JSON);
// - an xtask that runs `cargo build` is one timeline: both runs in one trace and one JSON answer.
#include "cargo_analysis/v1/service.grpc.pb.h"
#include "tests/support/cargo.hpp"
#include "tests/support/grpc_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/trace_check.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#ifdef CA_HAVE_PNG
#include <png.h>
#endif

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A package whose build script keeps one CPU busy for 2 s and then sleeps 1 s.
void write_slow_workspace(const fs::path& ws) {
  fs::create_directories(ws / "src");
  std::ofstream(ws / "Cargo.toml") << "[package]\nname = \"slow\"\nversion = \"0.1.0\"\n"
                                      "edition = \"2021\"\n";
  std::ofstream(ws / "build.rs")
      << "use std::time::{Duration, Instant};\n"
         "fn main() {\n"
         "    let start = Instant::now();\n"
         "    let mut x = 1u64;\n"
         "    while start.elapsed() < Duration::from_secs(2) {\n"
         "        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));\n"
         "    }\n"
         "    std::thread::sleep(Duration::from_secs(1));\n"
         "    println!(\"cargo:rustc-env=SLOW_X={}\", x);\n"
         "}\n";
  std::ofstream(ws / "src/lib.rs") << "pub fn x() -> &'static str { env!(\"SLOW_X\") }\n";
}

class Resources : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(cargo_home / "log");
    ASSERT_TRUE(daemon.start());
  }

  // Polls `report sessions` until `n` runs are stored and none is in progress (60 s).
  json wait_for_runs(size_t n) {
    json last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = daemon.client({"report", "sessions", "--all", "--limit", "100", "--format", "json"});
      if (r.exit_code == 0) {
        last = json::parse(r.out);
        size_t runs = 0;
        bool busy = false;
        for (const auto& s : last["sessions"]) {
          for (const auto& run : s["runs"]) {
            ++runs;
            busy = busy || run["state"] == "in_progress";
          }
        }
        if (runs >= n && !busy) {
          return last;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "timed out waiting for " << n << " runs:\n" << last.dump(2);
    return last;
  }

  // The timings JSON of `id`, once the samples stored after the run's end are in (they are
  // stored on the sampler's next tick, ~100 ms after it).
  json sampled_timings(const std::string& id, bool session = false) {
    std::vector<std::string> args = {"report", "timings", "--id", id, "--format", "json"};
    if (session) {
      args.push_back("--session");
    }
    json t;
    for (int i = 0; i < 100; ++i) {
      auto r = daemon.client(args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      t = json::parse(r.out);
      bool all = !t["runs"].empty();
      for (const auto& run : t["runs"]) {
        all = all && run.value("sampled", false);
      }
      if (all) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the last chunk
        return json::parse(daemon.client(args).out);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return t;
  }

  TempDir dir;
  fs::path cargo_home = dir / "cargo-home";
  DaemonProcess daemon{dir / "daemon", {"--watch-dir", (cargo_home / "log").string()}};
};

#ifdef CA_HAVE_PNG
// Pixels of `png` (RGB) whose colour is cargo's CPU fill over white, rgba(250,119,0,0.2):
// about (254, 234, 204).
size_t cpu_fill_pixels(const fs::path& png, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&image, png.c_str()) == 0) {
    ADD_FAILURE() << "cannot read " << png << ": " << image.message;
    return 0;
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> rgb(PNG_IMAGE_SIZE(image));
  if (png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr) == 0) {
    ADD_FAILURE() << "cannot decode " << png << ": " << image.message;
    return 0;
  }
  size_t n = 0;
  for (uint32_t y = y0; y < std::min(y1, image.height); ++y) {
    for (uint32_t x = x0; x < std::min(x1, image.width); ++x) {
      const unsigned char* p = &rgb[(static_cast<size_t>(y) * image.width + x) * 3];
      if (std::abs(p[0] - 254) <= 6 && std::abs(p[1] - 234) <= 8 && std::abs(p[2] - 204) <= 10) {
        ++n;
      }
    }
  }
  return n;
}
#endif

TEST_F(Resources, LiveBuildIsSampledDrawnAndTraced) {
  write_slow_workspace(dir / "ws");
  auto r = run_cargo(cargo_home, dir / "ws", {"build"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sessions = wait_for_runs(1);
  ASSERT_EQ(sessions["sessions"].size(), 1u);
  const std::string run_id = sessions["sessions"][0]["runs"][0]["run_id"];
  json timings = sampled_timings(run_id);
  ASSERT_EQ(timings["runs"].size(), 1u);
  const json& t = timings["runs"][0];
  ASSERT_TRUE(t["sampled"].get<bool>()) << t.dump(1).substr(0, 2000);
  const double total = t["total_time"];
  const auto& samples = t["resource_usage"];
  // One sample per 100 ms while the run is in progress: its whole life (the watcher announces
  // the run when cargo creates its log), give or take the ticks around its ends.
  const double expected = total / 0.1;
  EXPECT_GE(static_cast<double>(samples.size()), 0.7 * expected) << "total " << total;
  EXPECT_LE(static_cast<double>(samples.size()), 1.2 * expected + 10) << "total " << total;
  ASSERT_FALSE(samples.empty());
  EXPECT_LE(samples.front()["t"].get<double>(), 0.5);
  EXPECT_GE(samples.back()["t"].get<double>(), total - 0.5);
  double max_cpu = 0;
  const uint64_t mem_total = std::stoull(t["mem_total_bytes"].get<std::string>());
  EXPECT_GT(mem_total, 0u);
  double prev_t = -1e9;
  for (const auto& s : samples) {
    double cpu = s["cpu_percent"];
    EXPECT_GE(cpu, 0.0);
    EXPECT_LE(cpu, 100.0);
    max_cpu = std::max(max_cpu, cpu);
    uint64_t mem = std::stoull(s["mem_used_bytes"].get<std::string>());
    EXPECT_GT(mem, 0u);
    EXPECT_LE(mem, mem_total);
    EXPECT_GT(s["t"].get<double>(), prev_t);
    prev_t = s["t"];
  }
  EXPECT_GT(max_cpu, 30.0) << "the build script kept a CPU busy for 2 s";
  std::printf("[ measure  ] %zu samples over %.2f s (%.1f per s), max CPU %.1f %%\n",
              samples.size(), total, static_cast<double>(samples.size()) / total, max_cpu);

  // The same samples over gRPC (Reports.GetTimings), as IDEs receive them.
  {
    auto stub = cargo_analysis::v1::Reports::NewStub(daemon_channel(daemon.runtime_dir()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    cargo_analysis::v1::GetTimingsRequest req;
    req.set_id(run_id);
    cargo_analysis::v1::GetTimingsResponse resp;
    ASSERT_TRUE(stub->GetTimings(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.runs_size(), 1);
    EXPECT_TRUE(resp.runs(0).sampled());
    EXPECT_EQ(static_cast<size_t>(resp.runs(0).resource_usage_size()), samples.size());
  }

  // The trace of the same build.
  auto trace = daemon.client({"report", "timings", "--id", run_id, "--format", "trace"});
  ASSERT_EQ(trace.exit_code, 0) << trace.err;
  auto summary = check_trace(json::parse(trace.out), timings);
  for (const auto& p : summary.problems) {
    ADD_FAILURE() << p;
  }
  EXPECT_EQ(summary.cpu, samples.size());
  EXPECT_EQ(summary.memory, samples.size());
  EXPECT_GE(summary.units, 2u) << "the build script's build and run, and the lib";

  // The HTML: cargo's CPU graph filled in, in the concurrency graph, and in the browser.
  fs::path html = dir / "timings.html";
  auto written =
      daemon.client({"report", "timings", "--id", run_id, "--format", "html", "-o", html.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  std::string page = read_file(html);
  EXPECT_EQ(page.find("const CPU_USAGE = [];"), std::string::npos);
  EXPECT_NE(page.find("const CPU_USAGE = [["), std::string::npos);
  auto graph_at = page.find("<h2>Concurrency</h2>");
  ASSERT_NE(graph_at, std::string::npos);
  auto svg_at = page.find("<svg", graph_at);
  auto svg_end = page.find("</svg>", svg_at);
  ASSERT_NE(svg_end, std::string::npos);
  std::string svg = page.substr(svg_at, svg_end + 6 - svg_at);
  EXPECT_NE(svg.find("class=\"cpu-usage\""), std::string::npos);
  if (run_command({"chromium", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "chromium is not installed: the screenshot part is skipped";
  }
#ifdef CA_HAVE_PNG
  // The graph alone at the page's origin, so its SVG coordinates are pixels: the plot area is
  // x 50..1050, y 24..264 (timings_report.cpp).
  fs::path graph_page = dir / "graph.html";
  std::ofstream(graph_page) << "<!DOCTYPE html><html><body style=\"margin:0\">" << svg
                            << "</body></html>\n";
  fs::path png = dir / "graph.png";
  CommandOptions opts;
  opts.timeout = std::chrono::seconds(120);
  opts.env = {{"HOME", dir.path().string()}};
  auto shot = run_command(
      {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
       "--force-device-scale-factor=1", "--user-data-dir=" + (dir / "chromium-profile").string(),
       "--screenshot=" + png.string(), "--window-size=1250,320", "file://" + graph_page.string()},
      opts);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  size_t in_plot = cpu_fill_pixels(png, 50, 24, 1050, 264);
  size_t above = cpu_fill_pixels(png, 50, 0, 1050, 20);
  std::printf("[ measure  ] CPU fill pixels in the plot area: %zu (above it: %zu)\n", in_plot,
              above);
  EXPECT_GT(in_plot, 5000u) << "the CPU graph is not drawn";
  EXPECT_EQ(above, 0u);
#else
  GTEST_SKIP() << "built without libpng: the pixel check is skipped";
#endif
}

// No build, no sampling: the sampler's timer is armed only while a run is in progress, so a
// daemon that answers requests but sees no build never wakes it (its count at shutdown).
TEST_F(Resources, WithoutABuildTheSamplerNeverWakes) {
  for (int i = 0; i < 10; ++i) { // ~1 s of requests: ten wake-ups if the timer ran
    EXPECT_EQ(daemon.client({"status"}).exit_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(daemon.stop(), 0);
  EXPECT_NE(daemon.log().find("sampler: 0 wake-ups, 0 samples"), std::string::npos) << daemon.log();
}

TEST_F(Resources, XtaskSessionIsOneTimeline) {
  copy_workspace("xtask", dir / "ws");
  auto r = run_cargo(cargo_home, dir / "ws", {"run", "-p", "xtask", "--", "dist"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sessions = wait_for_runs(2);
  ASSERT_EQ(sessions["sessions"].size(), 1u) << sessions.dump(2);
  const std::string session = sessions["sessions"][0]["session_id"];
  // The session's id is its top-level run's, which names that run alone (as in cargo);
  // --session asks for every run of its session.
  json timings = sampled_timings(session, true);
  ASSERT_EQ(timings["runs"].size(), 2u);
  EXPECT_EQ(timings["runs"][0]["run"]["command_line"], "cargo run -p xtask -- dist");
  EXPECT_EQ(timings["runs"][1]["run"]["command_line"], "cargo build --release -p app");
  // The runs share the session's samples over their own lives. A run the daemon learns of late
  // (its log created while the watcher was still starting, under ASan on a loaded CI) is not
  // sampled, as any run ingested after the fact; the session as a whole is.
  size_t sampled = 0;
  for (const auto& run : timings["runs"]) {
    sampled += run.value("sampled", false) ? 1 : 0;
  }
  EXPECT_GE(sampled, 1u) << "no run of the session was sampled";
  auto trace =
      daemon.client({"report", "timings", "--id", session, "--session", "--format", "trace"});
  ASSERT_EQ(trace.exit_code, 0) << trace.err;
  json doc = json::parse(trace.out);
  auto summary = check_trace(doc, timings);
  for (const auto& p : summary.problems) {
    ADD_FAILURE() << p;
  }
  EXPECT_EQ(summary.processes, 2u);
  // Both runs' bands on one axis, each where it ran.
  std::vector<json> bands;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "X" && e.value("cat", "") == "run") {
      bands.push_back(e);
    }
  }
  ASSERT_EQ(bands.size(), 2u);
  EXPECT_EQ(bands[0]["name"], "cargo run -p xtask -- dist");
  EXPECT_EQ(bands[1]["name"], "cargo build --release -p app");
  const double outer_start = bands[0]["ts"];
  const double inner_start = bands[1]["ts"];
  EXPECT_EQ(outer_start, 0);
  EXPECT_GT(inner_start, outer_start);
  // Cargo's log of `cargo run` ends with its build, before it runs the program: the xtask's
  // cargo build starts after the outer run's band, to within what a start to the millisecond
  // (from the run id) and a duration from cargo's elapsed seconds (from an earlier clock reading
  // in cargo) may disagree by: a few ms on a quiet machine, 16-19 ms seen on a loaded 2-core one.
  EXPECT_GE(inner_start + 50000, outer_start + bands[0]["dur"].get<double>());

  // The HTML: one page with both runs as bands of one time axis, and a page per run beside it.
  fs::path html = dir / "out" / "session.html";
  fs::create_directories(html.parent_path());
  auto written =
      daemon.client({"report", "timings", "--id", session, "--session", "-o", html.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  std::string page = read_file(html);
  EXPECT_NE(page.find("<h1>Cargo Session Timeline</h1>"), std::string::npos);
  size_t runs = 0;
  for (size_t at = page.find("<g class=\"run\""); at != std::string::npos;
       at = page.find("<g class=\"run\"", at + 1)) {
    ++runs;
  }
  EXPECT_EQ(runs, 2u);
  EXPECT_NE(page.find(">cargo run -p xtask -- dist ("), std::string::npos);
  EXPECT_NE(page.find(">  cargo build --release -p app ("), std::string::npos)
      << "indented: nested";
  EXPECT_NE(page.find("<path class=\"cpu\""), std::string::npos);
  for (const auto& run : timings["runs"]) {
    EXPECT_TRUE(fs::exists(html.parent_path() /
                           ("cargo-timing-" + run["run"]["run_id"].get<std::string>() + ".html")));
  }
}

} // namespace
} // namespace ca::test
