// Client-side rendering of `report timings` for corpus C (one clean build, 242 units), from the
// RunTimings the daemon sends: the HTML page, the proto JSON it embeds (alone), and the terminal
// text. Reported as medians of the repetitions.
//
// A loop shows the steady state only: the first page a process renders also builds protobuf's
// descriptors for the JSON printer's reflection (~1.8M instructions, a third of the page), which
// the client, one process per command, pays every time. For the client's own cost, count
// instructions: `valgrind --tool=callgrind cargo-analysis-client report timings --id <run>
// --format html -o page.html`, then `callgrind_annotate --inclusive=yes` for
// render_timings_html.
//
// Usage: bench_render [--benchmark_repetitions=N ...]
#include "daemon/query/run_analysis.hpp"
#include "shared/proto_json.hpp"
#include "shared/render/timings_report.hpp"
#include "tests/support/events.hpp"
#include "tests/support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace v1 = cargo_analysis::v1;

constexpr const char* k_run_id = "20261123T063006342Z-dd457d2f2595ee60";
constexpr int k_repetitions = 9;

const v1::RunTimings& corpus_c() {
  static const v1::RunTimings timings = [] {
    const auto path = ca::test::fixture_path(std::string("corpus/C/logs/") + k_run_id + ".jsonl");
    std::vector<v1::Event> events =
        ca::test::decode_lines(ca::test::read_file(path), path.string());
    if (events.empty()) {
      throw std::runtime_error("cannot read " + path.string());
    }
    return ca::query::compute_timings(events, ca::test::summary_of(events));
  }();
  return timings;
}

void bm_timings_html(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string page = ca::render::render_timings_html(corpus_c());
    bytes = page.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void bm_timings_json(benchmark::State& state) {
  for (auto _ : state) {
    auto json = ca::to_json(corpus_c(), {});
    if (!json) {
      throw std::runtime_error(json.error().message);
    }
    benchmark::DoNotOptimize(json);
  }
}

void bm_timings_text(benchmark::State& state) {
  for (auto _ : state) {
    std::string text = ca::render::render_timings_text(corpus_c(), false);
    benchmark::DoNotOptimize(text);
  }
}

BENCHMARK(bm_timings_html)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_timings_json)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);
BENCHMARK(bm_timings_text)->Repetitions(k_repetitions)->ReportAggregatesOnly(true);

} // namespace

BENCHMARK_MAIN();
