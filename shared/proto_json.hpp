// Messages as JSON, byte for byte what protobuf 3.21's `util::MessageToJsonString` prints with
// `preserve_proto_field_names = true` (names are always the .proto names), faster.
//
// protobuf's printer serializes the message, parses the bytes back against a google.protobuf.Type
// built from the descriptors and writes through one or two object-writer layers (a tree of nodes
// with always_print); for the timings of corpus C (242 units) that is ~5.5 ms with the CLI's
// options, most of a command, and ~1.8 ms compact. We walk the message with reflection (a plan
// of each message type's fields, cached per descriptor of the generated pool), append to one
// string and print common doubles by exact integer arithmetic (~0.4 ms and ~0.35 ms, -O2;
// bench_render), copying the printer's rules where they are surprising:
// - Without `always_print_primitive_fields` fields come in field-number order (the order of the
//   serialized bytes), and only fields that are serialized: non-default scalars (a double by its
//   bits, so -0.0 counts), non-empty repeated fields, set messages, set oneof members and proto3
//   `optional` fields.
// - With it, fields come in declaration order and defaults are printed too, except that unset
//   message fields and unset oneof members (proto3 `optional` included) are left out, and set
//   oneof members that are not messages come last, in field-number order (protobuf's
//   DefaultValueObjectWriter adds them to its tree after the declared fields).
// - int64/uint64 are quoted; doubles go through protobuf's SimpleDtoa; non-finite doubles are the
//   strings "NaN", "Infinity", "-Infinity"; enums are value names, or numbers when unknown; bytes
//   are base64 with padding.
// - Strings escape `"`, `\`, `<`, `>`, controls, DEL and C1 controls, and the Unicode format
//   characters protobuf's JsonEscaping lists (U+00AD, U+2028, U+FEFF, ...), as lowercase `\uXXXX`
//   (surrogate pairs above U+FFFF); `\b \t \n \f \r` have short forms.
// - `pretty` (protobuf's `add_whitespace`) indents one space per level, writes `"name": value`,
//   keeps empty objects and lists as `{}` and `[]`, and ends the text with a newline.
// Whatever this walk does not handle (maps, well-known types, groups, proto2 files, strings that
// are not valid UTF-8) goes to MessageToJsonString itself, so the output never differs;
// tests/unit/shared/proto_json_test.cpp compares the two on every message type of our schema.
#pragma once

#include "shared/error.hpp"

#include <google/protobuf/message.h>

#include <string>

namespace ca {

// The walk copies protobuf 3.21's printer, rule by rule, and the tests compare the two on every
// type of our schema; another protobuf may print differently (4.x orders and escapes some things
// otherwise). Built against one, append_json() declines and to_json() answers with protobuf's own
// printer: slower, never different from what that protobuf prints.
inline constexpr bool k_fast_json_verified =
    GOOGLE_PROTOBUF_VERSION >= 3021000 && GOOGLE_PROTOBUF_VERSION < 3022000;

struct JsonPrintOptions {
  bool pretty = false;                        // protobuf's add_whitespace
  bool always_print_primitive_fields = false; // protobuf's option of that name
};

// The message as JSON. Returns an internal error only when protobuf's own printer, used as the
// fallback, fails (a message whose types cannot be resolved).
Result<std::string> to_json(const google::protobuf::Message& message,
                            const JsonPrintOptions& options);

// Appends the message as JSON to `out`, without the fallback: returns false, with `out` as it
// was, when the message holds something only protobuf's printer handles (see above).
bool append_json(std::string& out,
                 const google::protobuf::Message& message,
                 const JsonPrintOptions& options);

// What MessageToJsonString prints with the same options (and preserve_proto_field_names), for
// the fallback and for tests that compare the two.
Result<std::string> to_json_with_protobuf(const google::protobuf::Message& message,
                                          const JsonPrintOptions& options);

} // namespace ca
