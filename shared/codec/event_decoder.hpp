// Decoding of cargo's build-analysis JSONL lines into typed `cargo_analysis::v1::Event`s.
//
// Cargo's schema is the wire format (cargo `src/cargo/util/log_message.rs`). The decoder is
// lenient where cargo's schema grows and strict where a line cannot be a cargo log line:
// - an unknown `reason` decodes to an Event with `reason` set and no payload;
// - unknown fields are ignored by the typed view (the line stays in `Event.raw`);
// - an unknown `cause.dirty_reason` (or `fs_status`, `stale_item`) kind is kept by name, with no
//   detail; an unknown fingerprint `status` decodes to FINGERPRINT_STATUS_UNSPECIFIED;
// - a known reason with a field of the wrong type, or without a field cargo always writes (one
//   that is neither `Option` nor `#[serde(default)]` in cargo), is rejected: it is not cargo's
//   line, and cargo's own `report` skips such lines too;
// - a line that is not a JSON object, lacks `run_id` or `reason`, has a malformed `run_id`, or
//   is longer than `k_max_line_bytes` is rejected.
// A missing `timestamp` is allowed, and one that is not RFC 3339 is kept as text; in both cases
// `timestamp_unix_ns` is 0.
#pragma once

#include "cargo_analysis/v1/events.pb.h"
#include "shared/error.hpp"

#include <cstddef>
#include <memory>
#include <string_view>

namespace ca::codec {

// Lines longer than this are rejected (cargo's longest real lines are a few KiB).
inline constexpr std::size_t k_max_line_bytes = std::size_t{1} << 20;

// Decodes lines. Holds a reusable parser, so keep one per thread and feed it many lines.
// Not thread-safe.
class EventDecoder {
public:
  EventDecoder();
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes one line (without its trailing newline; a trailing '\r' is tolerated and dropped)
  // into `out`, which is cleared first. `out.raw` gets the line verbatim (less that '\r').
  // Returns an error of code invalid_argument (empty line, not JSON, not an object,
  // missing/ill-typed `run_id`/`reason`, malformed run id, missing or ill-typed known field,
  // e.g. "field `index` of unit-started: expected an unsigned integer") or resource_exhausted
  // (over k_max_line_bytes); the message says what is wrong but not where (the caller knows the
  // source and line number). On error `out` is left cleared.
  Result<void> decode(std::string_view line, cargo_analysis::v1::Event& out);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Encodes an event back into cargo's JSON line shape (used by producers that send typed events
// without `raw`, and by tests for round trips). If `event.raw` is non-empty it is returned as is
// (it is the line the event came from, unknown fields included); otherwise the line is built
// from the typed fields, in the key order of cargo's serializer, so that decoding it gives the
// same event back (with `raw` set). An empty `timestamp` is written from `timestamp_unix_ns`,
// or left out if that is 0 too. Never fails.
std::string encode_event(const cargo_analysis::v1::Event& event);

} // namespace ca::codec
