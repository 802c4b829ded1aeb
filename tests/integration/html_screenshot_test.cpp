// The HTML timings report in a real browser: corpus C (242 units) through the real daemon and
// client (`report timings --format html -o X.html`), opened by headless Chromium (Debian's
// `chromium`), which
// - takes a screenshot of the first screen (summary table and the top of the unit Gantt) and
//   one of the whole page (down to the concurrency graph and the unit table); each must be a
//   PNG of the asked size that carries far more than a blank page of the same size does;
// - dumps the DOM as it stands once the page has loaded, which must hold the Gantt (one bar group
//   per unit that ran, the critical path's outlined), the concurrency graph (its three lines and
//   legend) and the report data for tools.
// Without chromium the test is skipped (packaging/install-deps.sh installs it). Set
// CA_SCREENSHOT_DIR to keep the screenshots.
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

namespace ca::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* k_corpus_c = "20261123T063006342Z-dd457d2f2595ee60";

struct Png {
  uint32_t width = 0;
  uint32_t height = 0;
  uintmax_t bytes = 0;
};

// The size a PNG file declares in its IHDR chunk; zero if it is no PNG.
Png read_png(const fs::path& path) {
  Png png;
  std::string data = read_file(path);
  static const std::string k_signature = "\x89PNG\r\n\x1a\n";
  if (data.size() < 24 || data.compare(0, 8, k_signature) != 0 ||
      data.compare(12, 4, "IHDR") != 0) {
    return png;
  }
  auto be32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(data[at])) << 24 |
           static_cast<uint32_t>(static_cast<unsigned char>(data[at + 1])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(data[at + 2])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(data[at + 3]));
  };
  png.width = be32(16);
  png.height = be32(20);
  png.bytes = data.size();
  return png;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class HtmlScreenshot : public ::testing::Test {
protected:
  void SetUp() override {
    if (run_command({"chromium", "--version"}).exit_code != 0) {
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium; "
                      "packaging/install-deps.sh does)";
    }
    ASSERT_TRUE(m_daemon.start());
  }

  // Headless Chromium on `page` with `extra` arguments (--screenshot=..., --dump-dom, ...).
  CommandResult chromium(const std::string& page, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + (m_dir / "chromium-profile").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("file://" + page);
    CommandOptions opts;
    opts.timeout = std::chrono::seconds(120);
    opts.env = {{"HOME", m_dir.path().string()}};
    return run_command(argv, opts);
  }

  Png screenshot(const std::string& page, const std::string& name, uint32_t w, uint32_t h) {
    fs::path png = m_dir / name;
    auto r = chromium(page, {"--screenshot=" + png.string(),
                             "--window-size=" + std::to_string(w) + "," + std::to_string(h)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(png)) << r.err;
    if (const char* keep = std::getenv("CA_SCREENSHOT_DIR"); keep != nullptr && fs::exists(png)) {
      fs::create_directories(keep);
      fs::copy_file(png, fs::path(keep) / name, fs::copy_options::overwrite_existing);
    }
    return fs::exists(png) ? read_png(png) : Png{};
  }

  TempDir m_dir;
  DaemonProcess m_daemon{m_dir / "daemon", {"--no-watch"}};
};

TEST_F(HtmlScreenshot, ChromiumRendersTheGanttAndTheConcurrencyGraph) {
  auto ingest = m_daemon.client({"ingest", fixture_path("corpus/C/logs").string()});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  fs::path html = m_dir / "timings.html";
  auto written = m_daemon.client(
      {"report", "timings", "--id", k_corpus_c, "--format", "html", "-o", html.string()});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  ASSERT_TRUE(fs::exists(html)) << written.err;
  auto timings = json::parse(
      m_daemon.client({"report", "timings", "--id", k_corpus_c, "--format", "json"}).out);
  const auto& run = timings["runs"][0];
  size_t started = 0;
  for (const auto& u : run["units"]) {
    started += u.value("started", false) ? 1 : 0;
  }
  ASSERT_EQ(started, 242u);
  const size_t critical = run["critical_path"].size();
  ASSERT_GT(critical, 1u);

  // The DOM once the page has loaded.
  auto dom = chromium(html.string(), {"--dump-dom"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const std::string& d = dom.out;
  EXPECT_NE(d.find("<h1>Cargo Build Timings</h1>"), std::string::npos);
  EXPECT_EQ(count(d, "<svg class=\"graph\""), 2u) << "the Gantt and the concurrency graph";
  // The Gantt: one group per unit that ran; the critical path's outlined and chained.
  EXPECT_EQ(count(d, "<g class=\"unit"), started);
  EXPECT_EQ(count(d, "<g class=\"unit critical\""), critical);
  EXPECT_EQ(count(d, "class=\"critical-outline\""), critical);
  EXPECT_EQ(count(d, "class=\"critical-link\""), critical - 1);
  // The concurrency graph, after its heading: three step lines and their legend.
  auto concurrency = d.find("<h2>Concurrency</h2>");
  ASSERT_NE(concurrency, std::string::npos);
  std::string graph = d.substr(concurrency, d.find("</svg>", concurrency) - concurrency);
  for (const char* color : {"blue", "red", "green"}) {
    EXPECT_NE(graph.find("stroke=\"" + std::string(color) + "\" stroke-width=\"2\" d=\"M"),
              std::string::npos)
        << color;
  }
  for (const char* label : {"Inactive", "Waiting", "Active"}) {
    EXPECT_NE(graph.find(label), std::string::npos) << label;
  }
  // The report's data, for tools, survives in the DOM.
  const std::string open = "<script type=\"application/json\" id=\"timings-data\">";
  auto begin = d.find(open);
  ASSERT_NE(begin, std::string::npos);
  begin += open.size();
  auto data = json::parse(d.substr(begin, d.find("</script>", begin) - begin), nullptr, false);
  ASSERT_FALSE(data.is_discarded());
  EXPECT_EQ(data["units"].size(), run["units"].size());

  // The first screen: summary and the top of the Gantt.
  std::string blank = (m_dir / "blank.html").string();
  std::ofstream(blank) << "<!DOCTYPE html><html><body></body></html>\n";
  auto top = screenshot(html.string(), "timings-top.png", 1400, 2000);
  auto top_blank = screenshot(blank, "blank-top.png", 1400, 2000);
  EXPECT_EQ(top.width, 1400u);
  EXPECT_EQ(top.height, 2000u);
  EXPECT_GT(top.bytes, 20 * top_blank.bytes) << "the page looks blank";

  // The whole page: the Gantt's height (242 rows) plus room for the rest.
  auto gantt = d.find("<svg class=\"graph\"");
  auto gantt_height = d.find("height=\"", gantt);
  ASSERT_NE(gantt_height, std::string::npos);
  uint32_t height = static_cast<uint32_t>(std::stoul(d.substr(gantt_height + 8, 8))) + 1600;
  auto full = screenshot(html.string(), "timings-full.png", 1400, height);
  auto full_blank = screenshot(blank, "blank-full.png", 1400, height);
  EXPECT_EQ(full.width, 1400u);
  EXPECT_EQ(full.height, height);
  EXPECT_GT(full.bytes, 20 * full_blank.bytes) << "the page looks blank";
  std::printf("[ measure  ] screenshots: first screen %ux%u %ju bytes (blank: %ju), whole page "
              "%ux%u %ju bytes (blank: %ju)\n",
              top.width, top.height, top.bytes, top_blank.bytes, full.width, full.height,
              full.bytes, full_blank.bytes);
}

} // namespace
} // namespace ca::test
