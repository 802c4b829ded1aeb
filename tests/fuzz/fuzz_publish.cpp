// libFuzzer target: Publish items as a gRPC client may send them, typed events above all.
//
// The input is a PublishRequest in protobuf's wire format. A typed event is turned into the
// line cargo would have written (daemon/server/publish_reactor.cpp does the same), and that
// line, or a raw one, goes through the ingestor of its run into the store. Whatever the typed
// fields hold (any strings, numbers, nested messages), encoding must not crash, the line must
// decode or be refused with an error, and the store must take it.
#include "cargo_analysis/v1/ingest.pb.h"
#include "daemon/ingest/line_ingestor.hpp"
#include "daemon/ingest/source_stats.hpp"
#include "shared/codec/event_decoder.hpp"
#include "tests/fuzz/fuzz_store.hpp"

#include <cstddef>
#include <cstdint>

namespace v1 = cargo_analysis::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::PublishRequest item;
  if (!item.ParseFromArray(data, static_cast<int>(size)) || item.run_id().empty() ||
      item.seq() == 0) {
    return 0; // the reactor refuses these before decoding
  }
  std::string line;
  switch (item.event_case()) {
  case v1::PublishRequest::kLine:
    line = item.line();
    break;
  case v1::PublishRequest::kTyped: {
    v1::Event copy = item.typed();
    if (copy.raw().empty() && copy.run_id().empty()) {
      copy.set_run_id(item.run_id());
    }
    line = ca::codec::encode_event(copy);
    break;
  }
  case v1::PublishRequest::EVENT_NOT_SET:
    return 0;
  }
  ca::ingest::SourceStats stats;
  ca::ingest::LineIngestor ingestor("grpc#1", "grpc", stats);
  if (!ingestor.add_line(line, item.seq(), item.run_id()) && ingestor.last_error().empty()) {
    std::abort(); // a refused line says why
  }
  ca::fuzz::apply_or_abort(ingestor.take_batch());
  return 0;
}
