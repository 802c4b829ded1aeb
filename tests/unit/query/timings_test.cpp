// `report timings`: our computation and HTML against cargo 1.95's own HTML report, for every run
// of the real-cargo corpus and for a hand-written log with `-Zsection-timings` sections; the
// critical path on hand-made runs with known answers; the text rendering.
//
// Cargo's HTML embeds its data as `const UNIT_DATA = [...]` and `const CONCURRENCY_DATA = [...]`
// (centisecond-rounded, as its table shows them) and renders a unit table. We compare:
// - every unit of UNIT_DATA, by unit index, with ours rounded the way cargo rounds: name,
//   version, target, features, start, duration, unblocked lists, sections (frontend end = the
//   rmeta time when rustc reported no sections);
// - CONCURRENCY_DATA sample by sample;
// - the unit table of our HTML with cargo's, cell by cell: rows as a multiset without the rank
//   column, because cargo sorts by duration with an unstable sort, so rows of equal duration
//   come in an arbitrary order (ours are stable); HTML entities in our cells are decoded first
//   (cargo writes `"bin"` unescaped, we escape it);
// - the summary rows both pages have.
// Floating-point values are compared to 1e-9: both sides compute the same IEEE sums, but
// cargo's JSON and our parsing go through decimal text.
#include "daemon/query/run_analysis.hpp"
#include "shared/codec/event_decoder.hpp"
#include "shared/render/timings_report.hpp"
#include "tests/support/events.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ca::query {
namespace {

namespace fs = std::filesystem;
namespace v1 = cargo_analysis::v1;
using nlohmann::json;

constexpr double k_eps = 1e-9;

double round_cs(double x) {
  return std::round(x * 100.0) / 100.0;
}

using test::decode_lines;
using test::summary_of;

// --- reading report pages (cargo's and ours) -------------------------------------------------

std::string between(const std::string& text, const std::string& open, const std::string& close) {
  std::size_t begin = text.find(open);
  if (begin == std::string::npos) {
    return {};
  }
  begin += open.size();
  std::size_t end = text.find(close, begin);
  return end == std::string::npos ? std::string() : text.substr(begin, end - begin);
}

std::string decode_entities(std::string text) {
  const std::pair<const char*, const char*> entities[] = {
      {"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [entity, plain] : entities) {
    for (std::size_t pos = 0; (pos = text.find(entity, pos)) != std::string::npos; ++pos) {
      text.replace(pos, std::string(entity).size(), plain);
    }
  }
  return text;
}

struct Page {
  std::map<std::string, std::string> summary; // "Fresh units:" -> "85"
  std::vector<std::string> headers;           // unit table column titles
  std::vector<std::vector<std::string>> rows; // unit table cells, rank column dropped
};

Page read_page(const std::string& html) {
  Page page;
  std::string summary = between(html, "summary-table\">", "</table>");
  for (std::size_t pos = 0; (pos = summary.find("<tr>\n<td>", pos)) != std::string::npos;) {
    pos += 9;
    std::size_t name_end = summary.find("</td><td>", pos);
    std::size_t value_end = summary.find("</td>\n</tr>", name_end);
    if (name_end == std::string::npos || value_end == std::string::npos) {
      break;
    }
    page.summary[summary.substr(pos, name_end - pos)] =
        decode_entities(summary.substr(name_end + 9, value_end - name_end - 9));
  }
  std::string head = between(html, "<thead>", "</thead>");
  for (std::size_t pos = 0; (pos = head.find("<th>", pos)) != std::string::npos;) {
    pos += 4;
    page.headers.push_back(head.substr(pos, head.find("</th>", pos) - pos));
  }
  std::string body = between(html, "<tbody>", "</tbody>");
  for (std::size_t pos = 0; (pos = body.find("<tr", pos)) != std::string::npos;) {
    std::size_t end = body.find("</tr>", pos);
    std::string row = body.substr(pos, end - pos);
    std::vector<std::string> cells;
    for (std::size_t c = 0; (c = row.find("<td>", c)) != std::string::npos;) {
      c += 4;
      cells.push_back(decode_entities(row.substr(c, row.find("</td>", c) - c)));
    }
    if (!cells.empty()) {
      cells.erase(cells.begin()); // "1.", "2.", ...
    }
    page.rows.push_back(std::move(cells));
    pos = end;
  }
  std::sort(page.rows.begin(), page.rows.end());
  return page;
}

// Cargo's embedded data.
struct CargoData {
  json units;
  json concurrency;
};

CargoData read_cargo_data(const std::string& html) {
  CargoData data;
  data.units = json::parse(between(html, "const UNIT_DATA = ", ";\nconst CONCURRENCY_DATA"));
  data.concurrency = json::parse(between(html, "const CONCURRENCY_DATA = ", ";\nconst CPU_USAGE"));
  return data;
}

// Every number of cargo's UNIT_DATA and CONCURRENCY_DATA, from our result.
void expect_cargo_data(const v1::RunTimings& timings, const CargoData& cargo) {
  std::map<uint32_t, const v1::UnitTiming*> ours;
  for (const v1::UnitTiming& unit : timings.units()) {
    ours[unit.unit().index()] = &unit;
  }
  ASSERT_EQ(ours.size(), cargo.units.size());
  for (const json& expected : cargo.units) {
    uint32_t index = expected["i"].get<uint32_t>();
    SCOPED_TRACE("unit " + std::to_string(index) + " " + expected["name"].get<std::string>());
    ASSERT_TRUE(ours.count(index) != 0);
    const v1::UnitTiming& unit = *ours[index];
    const v1::UnitRef& ref = unit.unit();
    EXPECT_EQ(ref.name(), expected["name"].get<std::string>());
    EXPECT_EQ(ref.version().empty() ? "N/A" : ref.version(),
              expected["version"].get<std::string>());
    EXPECT_EQ(ref.target_description(), expected["target"].get<std::string>());
    EXPECT_EQ(ref.mode() == "run-custom-build" ? "run-custom-build" : "todo",
              expected["mode"].get<std::string>());
    EXPECT_EQ(std::vector<std::string>(ref.features().begin(), ref.features().end()),
              expected["features"].get<std::vector<std::string>>());
    EXPECT_NEAR(round_cs(unit.start()), expected["start"].get<double>(), k_eps);
    EXPECT_NEAR(round_cs(unit.duration()), expected["duration"].get<double>(), k_eps);
    EXPECT_EQ(std::vector<uint32_t>(unit.unblocked_units().begin(), unit.unblocked_units().end()),
              expected["unblocked_units"].get<std::vector<uint32_t>>());
    EXPECT_EQ(std::vector<uint32_t>(unit.unblocked_rmeta_units().begin(),
                                    unit.unblocked_rmeta_units().end()),
              expected["unblocked_rmeta_units"].get<std::vector<uint32_t>>());
    const json& sections = expected["sections"];
    if (sections.is_null()) {
      EXPECT_EQ(unit.sections_size(), 0);
      EXPECT_FALSE(unit.has_rmeta_time());
      continue;
    }
    ASSERT_EQ(static_cast<std::size_t>(unit.sections_size()), sections.size());
    for (std::size_t i = 0; i < sections.size(); ++i) {
      const v1::SectionTiming& section = unit.sections(static_cast<int>(i));
      EXPECT_EQ(section.name(), sections[i][0].get<std::string>());
      EXPECT_NEAR(section.start(), sections[i][1]["start"].get<double>(), k_eps);
      EXPECT_NEAR(section.end(), sections[i][1]["end"].get<double>(), k_eps);
    }
    // Without rustc's sections, cargo's frontend is exactly the rmeta time.
    if (sections.size() == 2 && sections[1][0] == "codegen") {
      ASSERT_TRUE(unit.has_rmeta_time());
      EXPECT_NEAR(round_cs(unit.rmeta_time()), sections[0][1]["end"].get<double>(), k_eps);
    }
  }

  ASSERT_EQ(static_cast<std::size_t>(timings.concurrency_size()), cargo.concurrency.size());
  uint32_t max_active = 0;
  for (std::size_t i = 0; i < cargo.concurrency.size(); ++i) {
    SCOPED_TRACE("concurrency sample " + std::to_string(i));
    const v1::ConcurrencySample& sample = timings.concurrency(static_cast<int>(i));
    const json& expected = cargo.concurrency[i];
    EXPECT_NEAR(sample.t(), expected["t"].get<double>(), k_eps);
    EXPECT_EQ(sample.active(), expected["active"].get<uint32_t>());
    EXPECT_EQ(sample.waiting(), expected["waiting"].get<uint32_t>());
    EXPECT_EQ(sample.inactive(), expected["inactive"].get<uint32_t>());
    max_active = std::max(max_active, expected["active"].get<uint32_t>());
  }
  EXPECT_EQ(timings.max_concurrency(), max_active);
}

// Our page against cargo's: the unit table, and the summary rows both have.
void expect_cargo_page(const std::string& our_html, const std::string& cargo_html) {
  Page ours = read_page(our_html);
  Page cargo = read_page(cargo_html);
  EXPECT_EQ(ours.headers, cargo.headers);
  EXPECT_EQ(ours.rows.size(), cargo.rows.size());
  EXPECT_EQ(ours.rows, cargo.rows);
  for (const char* row : {"Targets:", "Profile:", "Fresh units:", "Dirty units:", "Total units:",
                          "Max concurrency:", "Build start:", "Total time:", "rustc:"}) {
    ASSERT_TRUE(cargo.summary.count(row) != 0) << row;
    EXPECT_EQ(ours.summary[row], cargo.summary[row]) << row;
  }
}

// --- the corpus ------------------------------------------------------------------------------

struct CorpusRun {
  std::string workspace;
  std::string run_id;
};

std::vector<CorpusRun> corpus_runs() {
  std::vector<CorpusRun> runs;
  for (const char* workspace : {"A", "C"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(
             test::fixture_path(std::string("corpus/") + workspace + "/logs"), ec)) {
      if (entry.path().extension() == ".jsonl") {
        runs.push_back({workspace, entry.path().stem().string()});
      }
    }
  }
  std::sort(runs.begin(), runs.end(), [](const CorpusRun& a, const CorpusRun& b) {
    return a.workspace + a.run_id < b.workspace + b.run_id;
  });
  return runs;
}

void PrintTo(const CorpusRun& run, std::ostream* os) {
  *os << run.workspace << "/" << run.run_id;
}

std::string corpus_test_name(const testing::TestParamInfo<CorpusRun>& param) {
  std::string name = param.param.workspace + "_" + param.param.run_id;
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return name;
}

class CorpusTimings : public testing::TestWithParam<CorpusRun> {
protected:
  void SetUp() override {
    const CorpusRun& run = GetParam();
    fs::path log = test::fixture_path("corpus/" + run.workspace + "/logs/" + run.run_id + ".jsonl");
    std::vector<v1::Event> events = decode_lines(test::read_file(log), log.string());
    m_timings = compute_timings(events, summary_of(events));
    m_cargo_html = test::read_file(
        test::fixture_path("corpus/" + run.workspace + "/reports/timings-" + run.run_id + ".html"));
  }

  v1::RunTimings m_timings;
  std::string m_cargo_html;
};

TEST_P(CorpusTimings, unit_data_and_concurrency_are_cargos) {
  expect_cargo_data(m_timings, read_cargo_data(m_cargo_html));
}

TEST_P(CorpusTimings, unit_table_and_summary_are_cargos) {
  expect_cargo_page(render::render_timings_html(m_timings), m_cargo_html);
}

TEST_P(CorpusTimings, critical_path_is_a_dependency_chain_ending_last) {
  if (m_timings.critical_path().empty()) {
    for (const v1::UnitTiming& unit : m_timings.units()) {
      EXPECT_FALSE(unit.started()); // a no-op build: nothing ran
    }
    return;
  }
  std::map<uint32_t, const v1::UnitTiming*> by_index;
  double last_end = 0;
  for (const v1::UnitTiming& unit : m_timings.units()) {
    by_index[unit.unit().index()] = &unit;
    last_end = std::max(last_end, unit.start() + unit.duration());
    EXPECT_EQ(unit.critical(),
              std::count(m_timings.critical_path().begin(), m_timings.critical_path().end(),
                         unit.unit().index()) == 1);
  }
  const v1::UnitTiming& last = *by_index.at(*m_timings.critical_path().rbegin());
  EXPECT_DOUBLE_EQ(last.start() + last.duration(), last_end);
  for (int i = 1; i < m_timings.critical_path_size(); ++i) {
    const v1::UnitTiming& before = *by_index.at(m_timings.critical_path(i - 1));
    const v1::UnitTiming& after = *by_index.at(m_timings.critical_path(i));
    EXPECT_LE(before.start(), after.start());
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTimings, testing::ValuesIn(corpus_runs()), corpus_test_name);

// Corpus A step 4: wscore's lib (84) -> wsmid (87, unblocked on 84's metadata) -> wsapp (83).
TEST(Timings, corpus_cascade) {
  fs::path log = test::fixture_path("corpus/A/logs/20261123T062733765Z-28b99174ef2c2ad6.jsonl");
  std::vector<v1::Event> events = decode_lines(test::read_file(log), log.string());
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  EXPECT_EQ(std::vector<uint32_t>(timings.critical_path().begin(), timings.critical_path().end()),
            (std::vector<uint32_t>{84, 87, 83}));
  EXPECT_EQ(timings.total_units(), 88U);
  EXPECT_EQ(timings.fresh_units(), 85U);
  EXPECT_EQ(timings.dirty_units(), 3U);
  EXPECT_EQ(timings.max_concurrency(), 2U);
  EXPECT_NEAR(timings.total_time(), 0.43, k_eps); // 0.17 + 0.26: the rounded start + duration
  EXPECT_EQ(timings.build_start(), "2026-11-23T06:27:33.765Z");
  EXPECT_EQ(timings.profile(), "dev");
  EXPECT_EQ(timings.jobs(), 2U);
  EXPECT_EQ(timings.num_cpus(), 2U);
  for (const v1::UnitTiming& unit : timings.units()) {
    if (unit.unit().index() == 84) {
      EXPECT_TRUE(unit.started());
      EXPECT_TRUE(unit.finished());
      EXPECT_NEAR(unit.start(), 0.050498887, k_eps);
      EXPECT_NEAR(unit.duration(), 0.151995521 - 0.050498887, k_eps);
      EXPECT_NEAR(unit.rmeta_time(), 0.094352227 - 0.050498887, k_eps);
    }
  }
}

// --- a log with rustc's sections, against cargo 1.95 -----------------------------------------

// Hand-written: pipelining on metadata, `-Zsection-timings` sections (one never finished, one
// with an upper-case name), a build script and its run, a unit that wrote metadata and never
// finished, a unit without metadata, a fresh unit, two requested units, two platforms, no
// `num_cpus`, and a run id whose milliseconds end in zeros.
constexpr std::string_view k_sections_log = R"log(
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"build-started","command":["cargo","build"],"cwd":"/tmp/ch_reports/ws","host":"x86_64-unknown-linux-gnu","jobs":4,"profile":"release","rustc_version":"1.95.0","rustc_version_verbose":"rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\n","target_dir":"/tmp/ch_reports/ws/target","workspace_root":"/tmp/ch_reports/ws"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"registry+https://github.com/rust-lang/crates.io-index#alpha@1.0.0","target":{"name":"alpha","kind":"lib"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":0,"features":["default","std"]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"registry+https://github.com/rust-lang/crates.io-index#beta@2.0.0","target":{"name":"beta","kind":"lib"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":1,"dependencies":[0]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws#app@0.1.0","target":{"name":"app","kind":"bin"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":2,"requested":true,"dependencies":[0,1,5]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"registry+https://github.com/rust-lang/crates.io-index#fresh@1.0.0","target":{"name":"fresh","kind":"lib"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":3}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws#app@0.1.0","target":{"name":"build-script-build","kind":"build-script"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":4}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws#app@0.1.0","target":{"name":"build-script-build","kind":"build-script"},"mode":"run-custom-build","platform":"x86_64-unknown-linux-gnu","index":5,"dependencies":[4]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"registry+https://github.com/rust-lang/crates.io-index#gamma@0.3.0","target":{"name":"gamma","kind":"lib"},"mode":"build","platform":"wasm32-unknown-unknown","index":6}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-registered","package_id":"path+file:///tmp/ch_reports/ws#app@0.1.0","target":{"name":"app","kind":"lib"},"mode":"build","platform":"x86_64-unknown-linux-gnu","index":7,"requested":true,"dependencies":[0]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":0,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":1,"status":"dirty","cause":{"dirty_reason":"forced"}}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":2,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":3,"status":"fresh"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":4,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":5,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":6,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-fingerprint","index":7,"status":"new"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":4,"elapsed":0.004}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":0,"elapsed":0.1}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":4,"elapsed":0.303,"unblocked":[5]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":5,"elapsed":0.312}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":5,"elapsed":0.334}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-rmeta-finished","index":0,"elapsed":0.351,"unblocked":[1,7]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-started","index":0,"elapsed":0.362,"section":"codegen"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":1,"elapsed":0.404}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":7,"elapsed":0.405}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":6,"elapsed":0.41}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-finished","index":0,"elapsed":0.801,"section":"codegen"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":0,"elapsed":0.905}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-started","index":1,"elapsed":0.5,"section":"codegen"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-rmeta-finished","index":6,"elapsed":0.6}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":7,"elapsed":1.0}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":1,"elapsed":1.2049,"unblocked":[2]}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-started","index":2,"elapsed":1.25}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-started","index":2,"elapsed":1.3,"section":"codegen"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-finished","index":2,"elapsed":1.6,"section":"codegen"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-started","index":2,"elapsed":1.61,"section":"Link"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-section-finished","index":2,"elapsed":1.9,"section":"Link"}
{"run_id":"20261201T000001500Z-00000000000000aa","timestamp":"2026-12-01T00:00:01.500000000Z","reason":"unit-finished","index":2,"elapsed":2.0}
)log";

// What cargo 1.95.0 wrote for `k_sections_log` (`cargo -Zbuild-analysis report timings --id
// 20261201T000001500Z-00000000000000aa`): its summary table, unit table and data, verbatim but
// for the data's JSON, re-printed compactly (same numbers, shortest round-trip form).
constexpr std::string_view k_sections_cargo_html = R"html(
<table class="my-table summary-table">
<tr>
<td>Targets:</td><td>app 0.1.0 ( app "bin")<br>app 0.1.0 (lib)</td>
</tr>
<tr>
<td>Profile:</td><td>release</td>
</tr>
<tr>
<td>Fresh units:</td><td>1</td>
</tr>
<tr>
<td>Dirty units:</td><td>7</td>
</tr>
<tr>
<td>Total units:</td><td>8</td>
</tr>
<tr>
<td>Max concurrency:</td><td>4 (jobs=4 ncpu=n/a)</td>
</tr>
<tr>
<td>Build start:</td><td>2026-12-01T00:00:01.5Z</td>
</tr>
<tr>
<td>Total time:</td><td>2.0s</td>
</tr>
<tr>
<td>rustc:</td><td>rustc 1.95.0 (59807616e 2026-04-14)<br>Host: x86_64-unknown-linux-gnu<br>Target: wasm32-unknown-unknown, x86_64-unknown-linux-gnu</td>
</tr>

</table>

<table class="my-table">
<thead>
<tr>
  <th></th>
  <th>Unit</th>
  <th>Total</th>
  <th>Frontend</th>
<th>Codegen</th>
  <th>Features</th>
</tr>
</thead>
<tbody>

<tr>
<td>1.</td>
<td>alpha v1.0.0</td>
<td>0.8s</td>
<td>0.3s (32%)</td>
<td>0.4s (54%)</td>
<td>default, std</td>
</tr>

<tr>
<td>2.</td>
<td>beta v2.0.0</td>
<td>0.8s</td>
<td>0.1s (12%)</td>
<td>0.7s (88%)</td>
<td></td>
</tr>

<tr>
<td>3.</td>
<td>app v0.1.0 app "bin"</td>
<td>0.8s</td>
<td>0.1s (7%)</td>
<td>0.3s (41%)</td>
<td></td>
</tr>

<tr>
<td>4.</td>
<td>app v0.1.0</td>
<td>0.6s</td>
<td></td>
<td></td>
<td></td>
</tr>

<tr>
<td>5.</td>
<td>app v0.1.0 build-script</td>
<td>0.3s</td>
<td></td>
<td></td>
<td></td>
</tr>

<tr>
<td>6.</td>
<td>gamma v0.3.0</td>
<td>0.2s</td>
<td>0.2s (100%)</td>
<td></td>
<td></td>
</tr>

<tr>
<td>7.</td>
<td>app v0.1.0 build-script (run)</td>
<td>0.0s</td>
<td></td>
<td></td>
<td></td>
</tr>

<tr>
<td>8.</td>
<td>fresh v1.0.0</td>
<td>0.0s</td>
<td></td>
<td></td>
<td></td>
</tr>
</tbody>
</table>
<script>
DURATION = 2;
const UNIT_DATA = [{"i":3,"name":"fresh","version":"1.0.0","mode":"todo","target":"","features":[],"start":0.0,"duration":0.0,"unblocked_units":[],"unblocked_rmeta_units":[],"sections":null},{"i":4,"name":"app","version":"0.1.0","mode":"todo","target":" build-script","features":[],"start":0.0,"duration":0.3,"unblocked_units":[5],"unblocked_rmeta_units":[],"sections":null},{"i":0,"name":"alpha","version":"1.0.0","mode":"todo","target":"","features":["default","std"],"start":0.1,"duration":0.81,"unblocked_units":[],"unblocked_rmeta_units":[1,7],"sections":[["frontend",{"start":0.0,"end":0.262}],["codegen",{"start":0.26,"end":0.7}],["other",{"start":0.7,"end":0.81}]]},{"i":5,"name":"app","version":"0.1.0","mode":"run-custom-build","target":" build-script (run)","features":[],"start":0.31,"duration":0.02,"unblocked_units":[],"unblocked_rmeta_units":[],"sections":null},{"i":1,"name":"beta","version":"2.0.0","mode":"todo","target":"","features":[],"start":0.4,"duration":0.8,"unblocked_units":[2],"unblocked_rmeta_units":[],"sections":[["frontend",{"start":0.0,"end":0.09599999999999997}],["codegen",{"start":0.1,"end":0.8}],["other",{"start":0.8,"end":0.8}]]},{"i":6,"name":"gamma","version":"0.3.0","mode":"todo","target":"","features":[],"start":0.41,"duration":0.19,"unblocked_units":[],"unblocked_rmeta_units":[],"sections":[["frontend",{"start":0.0,"end":0.19}],["codegen",{"start":0.19,"end":0.19}]]},{"i":7,"name":"app","version":"0.1.0","mode":"todo","target":"","features":[],"start":0.41,"duration":0.6,"unblocked_units":[],"unblocked_rmeta_units":[],"sections":null},{"i":2,"name":"app","version":"0.1.0","mode":"todo","target":" app \"bin\"","features":[],"start":1.25,"duration":0.75,"unblocked_units":[],"unblocked_rmeta_units":[],"sections":[["frontend",{"start":0.0,"end":0.050000000000000044}],["codegen",{"start":0.05,"end":0.3600000000000001}],["link",{"start":0.36,"end":0.65}],["other",{"start":0.65,"end":0.75}]]}];
const CONCURRENCY_DATA = [{"t":0.0,"active":1,"waiting":0,"inactive":6},{"t":0.1,"active":2,"waiting":0,"inactive":5},{"t":0.3,"active":1,"waiting":1,"inactive":4},{"t":0.31,"active":2,"waiting":0,"inactive":4},{"t":0.33,"active":1,"waiting":0,"inactive":4},{"t":0.362,"active":1,"waiting":2,"inactive":2},{"t":0.4,"active":2,"waiting":1,"inactive":2},{"t":0.41,"active":4,"waiting":0,"inactive":1},{"t":0.6,"active":3,"waiting":0,"inactive":1},{"t":0.91,"active":2,"waiting":0,"inactive":1},{"t":1.01,"active":1,"waiting":0,"inactive":1},{"t":1.2000000000000002,"active":0,"waiting":1,"inactive":0},{"t":1.25,"active":1,"waiting":0,"inactive":0},{"t":2.0,"active":0,"waiting":0,"inactive":0}];
const CPU_USAGE = [];
)html";

TEST(TimingsSections, data_is_cargos) {
  std::vector<v1::Event> events = decode_lines(std::string(k_sections_log), "k_sections_log");
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  expect_cargo_data(timings, read_cargo_data(std::string(k_sections_cargo_html)));
}

TEST(TimingsSections, unit_table_and_summary_are_cargos) {
  std::vector<v1::Event> events = decode_lines(std::string(k_sections_log), "k_sections_log");
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  expect_cargo_page(render::render_timings_html(timings), std::string(k_sections_cargo_html));
  EXPECT_EQ(timings.build_start(), "2026-12-01T00:00:01.5Z");
  EXPECT_EQ(timings.num_cpus(), 0U);
}

TEST(TimingsSections, unit_that_never_finished) {
  std::vector<v1::Event> events = decode_lines(std::string(k_sections_log), "k_sections_log");
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  for (const v1::UnitTiming& unit : timings.units()) {
    if (unit.unit().name() == "gamma") {
      EXPECT_TRUE(unit.started());
      EXPECT_FALSE(unit.finished());
      EXPECT_NEAR(unit.duration(), unit.rmeta_time(), k_eps); // until its metadata
    }
    if (unit.unit().name() == "fresh") {
      EXPECT_FALSE(unit.started());
      EXPECT_FALSE(unit.critical());
    }
  }
  // alpha (metadata) -> beta (finished) -> app "bin" finished last.
  EXPECT_EQ(std::vector<uint32_t>(timings.critical_path().begin(), timings.critical_path().end()),
            (std::vector<uint32_t>{0, 1, 2}));
}

// --- critical path on hand-made runs ---------------------------------------------------------

// Builds a run from (index, start, rmeta or -1, end, deps, unblocked, unblocked_rmeta).
struct Spec {
  uint32_t index;
  double start;
  double rmeta;
  double end;
  std::vector<uint32_t> deps;
  std::vector<uint32_t> unblocked;
  std::vector<uint32_t> unblocked_rmeta;
};

std::vector<v1::Event> run_of(const std::vector<Spec>& specs, bool with_unblocked_lists) {
  std::vector<v1::Event> events;
  for (const Spec& spec : specs) {
    v1::Event event;
    v1::UnitRegistered* unit = event.mutable_unit_registered();
    unit->set_index(spec.index);
    unit->set_package_id("registry+https://r#u" + std::to_string(spec.index) + "@1.0.0");
    unit->mutable_target()->set_name("u" + std::to_string(spec.index));
    unit->mutable_target()->set_kind("lib");
    unit->set_mode("build");
    unit->mutable_dependencies()->Add(spec.deps.begin(), spec.deps.end());
    events.push_back(event);
  }
  // Log order: by time, as cargo writes.
  struct Timed {
    double t;
    v1::Event event;
  };
  std::vector<Timed> timed;
  for (const Spec& spec : specs) {
    v1::Event started;
    started.mutable_unit_started()->set_index(spec.index);
    started.mutable_unit_started()->set_elapsed(spec.start);
    timed.push_back({spec.start, started});
    if (spec.rmeta >= 0) {
      v1::Event rmeta;
      rmeta.mutable_unit_rmeta_finished()->set_index(spec.index);
      rmeta.mutable_unit_rmeta_finished()->set_elapsed(spec.rmeta);
      if (with_unblocked_lists) {
        rmeta.mutable_unit_rmeta_finished()->mutable_unblocked()->Add(spec.unblocked_rmeta.begin(),
                                                                      spec.unblocked_rmeta.end());
      }
      timed.push_back({spec.rmeta, rmeta});
    }
    v1::Event finished;
    finished.mutable_unit_finished()->set_index(spec.index);
    finished.mutable_unit_finished()->set_elapsed(spec.end);
    if (with_unblocked_lists) {
      finished.mutable_unit_finished()->mutable_unblocked()->Add(spec.unblocked.begin(),
                                                                 spec.unblocked.end());
    }
    timed.push_back({spec.end, finished});
  }
  std::stable_sort(timed.begin(), timed.end(),
                   [](const Timed& a, const Timed& b) { return a.t < b.t; });
  for (Timed& t : timed) {
    events.push_back(std::move(t.event));
  }
  return events;
}

std::vector<uint32_t> critical_path_of(const std::vector<Spec>& specs, bool with_lists) {
  v1::RunTimings timings = compute_timings(run_of(specs, with_lists), {});
  for (const v1::UnitTiming& unit : timings.units()) {
    bool on_path = std::count(timings.critical_path().begin(), timings.critical_path().end(),
                              unit.unit().index()) == 1;
    EXPECT_EQ(unit.critical(), on_path) << unit.unit().index();
  }
  return {timings.critical_path().begin(), timings.critical_path().end()};
}

// a -> b -> c (c depends on b, b on a), c slow; x is an early dependency of c, d runs alongside.
TEST(CriticalPath, chain_with_a_slow_end) {
  enum : uint32_t { a = 0, b = 1, c = 2, x = 3, d = 4 };
  std::vector<Spec> specs = {
      {a, 0.0, -1, 1.0, {}, {b}, {}},     {b, 1.0, -1, 2.0, {a}, {c}, {}},
      {c, 2.0, -1, 10.0, {b, x}, {}, {}}, {x, 0.0, -1, 0.4, {}, {}, {}},
      {d, 0.4, -1, 3.0, {}, {}, {}},
  };
  EXPECT_EQ(critical_path_of(specs, true), (std::vector<uint32_t>{a, b, c}));
  // Without cargo's unblocked lists, the same answer from the dependencies' finish times.
  EXPECT_EQ(critical_path_of(specs, false), (std::vector<uint32_t>{a, b, c}));
}

// b is pipelined on a's metadata; c (a bin) needs all of a, which finishes after b: a -> c.
TEST(CriticalPath, full_dependency_beats_a_pipelined_one) {
  enum : uint32_t { a = 0, b = 1, c = 2 };
  std::vector<Spec> specs = {
      {a, 0.0, 0.5, 3.0, {}, {c}, {b}},
      {b, 0.5, 1.0, 1.5, {a}, {}, {}},
      {c, 3.0, -1, 4.0, {a, b}, {}, {}},
  };
  EXPECT_EQ(critical_path_of(specs, true), (std::vector<uint32_t>{a, c}));
  EXPECT_EQ(critical_path_of(specs, false), (std::vector<uint32_t>{a, c}));
}

// b is pipelined on a's metadata and is the slow one: the path goes through a's rmeta.
TEST(CriticalPath, through_metadata) {
  enum : uint32_t { a = 0, b = 1 };
  std::vector<Spec> specs = {
      {a, 0.0, 0.5, 3.0, {}, {}, {b}},
      {b, 0.5, 4.0, 5.0, {a}, {}, {}},
  };
  EXPECT_EQ(critical_path_of(specs, true), (std::vector<uint32_t>{a, b}));
  // b started before a finished, so it can only have waited for a's metadata.
  EXPECT_EQ(critical_path_of(specs, false), (std::vector<uint32_t>{a, b}));
}

TEST(CriticalPath, nothing_ran) {
  EXPECT_TRUE(compute_critical_path({}).empty());
  std::vector<CriticalPathUnit> fresh(2);
  fresh[1].index = 1;
  EXPECT_TRUE(compute_critical_path(fresh).empty());
}

TEST(CriticalPath, cycles_in_a_malformed_log_end_the_walk) {
  std::vector<CriticalPathUnit> units(2);
  units[0] = {0, 0.0, 1.0, -1, true, {1}, {1}, {}};
  units[1] = {1, 1.0, 2.0, -1, true, {0}, {0}, {}};
  std::vector<uint32_t> path = compute_critical_path(units);
  EXPECT_EQ(path.size(), 2U);
}

// --- rendering -------------------------------------------------------------------------------

TEST(RenderTimings, html_is_self_contained) {
  fs::path log = test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl");
  std::vector<v1::Event> events = decode_lines(test::read_file(log), log.string());
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  std::string html = render::render_timings_html(timings);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find(" href="), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("critical-outline"), std::string::npos);
  EXPECT_NE(html.find("critical-link"), std::string::npos);
  EXPECT_NE(html.find("stroke=\"green\""), std::string::npos); // concurrency: active
  // The embedded report message reads back as the same message.
  std::string data = between(html, "id=\"timings-data\">", "</script>");
  json parsed = json::parse(data);
  EXPECT_EQ(parsed["run"]["run_id"], "20261123T063006342Z-dd457d2f2595ee60");
  EXPECT_EQ(parsed["units"].size(), static_cast<std::size_t>(timings.units_size()));
}

TEST(RenderTimings, text_summary_and_slowest_units) {
  std::vector<v1::Event> events = decode_lines(std::string(k_sections_log), "k_sections_log");
  v1::RunTimings timings = compute_timings(events, summary_of(events));
  EXPECT_EQ(render::render_timings_text(timings, false),
            "Session:         20261201T000001500Z-00000000000000aa\n"
            "Total time:      2.0s\n"
            "Units:           8 (7 dirty, 1 fresh)\n"
            "Max concurrency: 4 (jobs=4 ncpu=n/a)\n"
            "Critical path:   3 units, 1.9s\n"
            "    0.10s +0.81s  alpha@1.0.0\n"
            "    0.40s +0.80s  beta@2.0.0\n"
            "    1.25s +0.75s  app@0.1.0 app \"bin\"\n"
            "\n"
            "Slowest units:\n"
            "  1.    0.81s  alpha@1.0.0  (frontend 0.26s, codegen 0.44s)  [critical]\n"
            "  2.    0.80s  beta@2.0.0  (frontend 0.10s, codegen 0.70s)  [critical]\n"
            "  3.    0.75s  app@0.1.0 app \"bin\"  (frontend 0.05s, codegen 0.31s, link 0.29s)  "
            "[critical]\n"
            "  4.    0.60s  app@0.1.0\n"
            "  5.    0.30s  app@0.1.0 build-script\n"
            "  6.    0.19s  gamma@0.3.0  (frontend 0.19s, codegen 0.00s)\n"
            "  7.    0.02s  app@0.1.0 build-script (run)\n");
}

TEST(RenderTimings, text_keeps_the_ten_slowest) {
  std::vector<Spec> specs;
  for (uint32_t i = 0; i < 12; ++i) {
    specs.push_back({i, 0.0, -1, 1.0 + i, {}, {}, {}});
  }
  v1::RunTimings timings = compute_timings(run_of(specs, true), {});
  std::string text = render::render_timings_text(timings, false);
  EXPECT_NE(text.find(" 10.   "), std::string::npos);
  EXPECT_EQ(text.find(" 11.   "), std::string::npos);
  EXPECT_NE(text.find("12.00s  u11@1.0.0"), std::string::npos);
  EXPECT_EQ(text.find("u0@1.0.0\n"), std::string::npos); // the fastest is left out
}

} // namespace
} // namespace ca::query
