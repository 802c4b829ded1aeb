// libFuzzer target: one line as cargo's log would hold it, through the event decoder.
//
// The decoder must turn any bytes into an event or an error, never crash or read out of bounds.
// A decoded event is encoded and decoded again: what the daemon stores and serves must read
// back as the same event.
#include "shared/codec/event_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ca::codec::EventDecoder decoder;
  cargo_analysis::v1::Event event;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (!decoder.decode(line, event)) {
    return 0;
  }
  std::string again = ca::codec::encode_event(event);
  cargo_analysis::v1::Event round;
  if (!decoder.decode(again, round)) {
    std::abort(); // what we encode must decode
  }
  if (round.SerializeAsString() != event.SerializeAsString()) {
    std::fprintf(stderr, "decoded:\n%s\nread back:\n%s\n", event.DebugString().c_str(),
                 round.DebugString().c_str());
    std::abort(); // and be the same event
  }
  return 0;
}
