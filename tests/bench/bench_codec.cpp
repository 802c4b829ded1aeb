// Codec throughput on real cargo lines: decoding every line of corpus C (one clean build of 242
// units, 1124 lines) with one EventDecoder, and encoding the typed events back. Items are lines.
#include "shared/codec/event_decoder.hpp"
#include "tests/support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace pb = cargo_analysis::v1;

std::vector<std::string> corpus_c_lines() {
  const auto path =
      ca::test::fixture_path("corpus/C/logs/20261123T063006342Z-dd457d2f2595ee60.jsonl");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
  }
  return lines;
}

void bm_decode_corpus_c(benchmark::State& state) {
  const auto lines = corpus_c_lines();
  std::size_t bytes = 0;
  for (const auto& line : lines) {
    bytes += line.size() + 1;
  }
  ca::codec::EventDecoder decoder;
  pb::Event event;
  for (auto _ : state) {
    for (const auto& line : lines) {
      if (!decoder.decode(line, event)) {
        state.SkipWithError("a corpus line did not decode");
        return;
      }
      benchmark::DoNotOptimize(event);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(bm_decode_corpus_c);

void bm_encode_corpus_c(benchmark::State& state) {
  ca::codec::EventDecoder decoder;
  std::vector<pb::Event> events;
  for (const auto& line : corpus_c_lines()) {
    pb::Event event;
    if (!decoder.decode(line, event)) {
      state.SkipWithError("a corpus line did not decode");
      return;
    }
    event.clear_raw(); // encode from the typed fields
    events.push_back(std::move(event));
  }
  for (auto _ : state) {
    for (const auto& event : events) {
      benchmark::DoNotOptimize(ca::codec::encode_event(event));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
}
BENCHMARK(bm_encode_corpus_c);

} // namespace

BENCHMARK_MAIN();
