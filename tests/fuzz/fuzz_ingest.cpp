// libFuzzer target: a producer's bytes through the whole ingest path into a real SQLite file.
//
// Bytes -> LineFramer -> LineIngestor (decode, per-source checks) -> EventStore::apply in a
// transaction, as the writer does. Every input is one producer; the database lives across
// inputs, so runs, units and sessions left by earlier inputs meet the later ones.
#include "daemon/ingest/line_framer.hpp"
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "tests/fuzz/fuzz_store.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ca::ingest::SourceStats stats;
  ca::ingest::LineIngestor ingestor("fuzz#1", "socket", stats);
  ca::ingest::LineFramer framer;
  framer.feed(
      std::string_view(reinterpret_cast<const char*>(data), size),
      [&](std::string_view line, uint64_t no) { ingestor.add_line(line, no); },
      [&](uint64_t no, uint64_t) { ingestor.reject(no, "over the line limit"); });
  ca::fuzz::apply_or_abort(ingestor.take_batch());
  return 0;
}
