// to_json against protobuf's MessageToJsonString, byte for byte, with both option sets we use
// (the CLI's pretty + always_print, the HTML report's compact) and the two others:
// - every message type of cargo_analysis.v1, filled through reflection with awkward values in
//   every field (strings with quotes, controls, `</script>`, format characters and astral
//   characters; extreme integers; doubles such as 0.1, 1e21, -0.0, NaN and infinities; unknown
//   enum numbers; 0, 1 and 3 elements in repeated fields; each member of each oneof; proto3
//   `optional` fields set to their default), in many variants;
// - the same types default-constructed;
// - the events of every corpus log, as the codec decodes them.
// The corpus reports (rebuilds, timings) are compared in
// tests/unit/query/proto_json_reports_test.cpp, which links the computations.
#include "cargo_analysis/v1/admin.pb.h"
#include "cargo_analysis/v1/events.pb.h"
#include "cargo_analysis/v1/ingest.pb.h"
#include "cargo_analysis/v1/live.pb.h"
#include "cargo_analysis/v1/local.pb.h"
#include "cargo_analysis/v1/reports.pb.h"
#include "shared/codec/event_decoder.hpp"
#include "shared/proto_json.hpp"
#include "tests/support/temp_dir.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace ca {
namespace {

namespace pb = google::protobuf;
namespace v1 = cargo_analysis::v1;
using pb::FieldDescriptor;

constexpr JsonPrintOptions k_option_sets[] = {
    {.pretty = true, .always_print_primitive_fields = true},   // the CLI's --json
    {.pretty = false, .always_print_primitive_fields = false}, // the HTML report's data
    {.pretty = true, .always_print_primitive_fields = false},
    {.pretty = false, .always_print_primitive_fields = true},
};

std::string describe(const JsonPrintOptions& o) {
  return std::string(o.pretty ? "pretty" : "compact") +
         (o.always_print_primitive_fields ? "+always_print" : "");
}

// Compares both printers on `m` with every option set; `what` names the case in failures.
// Unless `fallback`, our walk must print `m` itself (a fallback to protobuf would make the
// comparison pass by construction).
void expect_same_json(const pb::Message& m, const std::string& what, bool fallback = false) {
  for (const JsonPrintOptions& o : k_option_sets) {
    std::string direct = "prefix";
    ASSERT_EQ(append_json(direct, m, o), !fallback) << what << " (" << describe(o) << ")";
    auto ours = to_json(m, o);
    auto theirs = to_json_with_protobuf(m, o);
    ASSERT_TRUE(theirs) << what << ": " << theirs.error().message;
    ASSERT_TRUE(ours) << what << ": " << ours.error().message;
    ASSERT_EQ(*ours, *theirs) << what << " (" << describe(o) << ")";
    ASSERT_EQ(direct, fallback ? "prefix" : "prefix" + *theirs)
        << what << " (" << describe(o) << ")";
  }
}

// Every message type of our schema, nested types included.
std::vector<const pb::Descriptor*> schema_types() {
  const pb::FileDescriptor* files[] = {
      v1::StatusRequest::descriptor()->file(),  v1::Event::descriptor()->file(),
      v1::PublishRequest::descriptor()->file(), v1::WatchRequest::descriptor()->file(),
      v1::LocalCall::descriptor()->file(),      v1::RunTimings::descriptor()->file(),
  };
  std::vector<const pb::Descriptor*> out;
  auto add = [&](auto&& self, const pb::Descriptor* d) -> void {
    out.push_back(d);
    for (int i = 0; i < d->nested_type_count(); ++i) {
      self(self, d->nested_type(i));
    }
  };
  for (const pb::FileDescriptor* file : files) {
    EXPECT_EQ(file->package(), "cargo_analysis.v1");
    for (int i = 0; i < file->message_type_count(); ++i) {
      add(add, file->message_type(i));
    }
  }
  return out;
}

// --- a generic filler ----------------------------------------------------------------------

const std::vector<std::string> k_strings = {
    "plain",
    "quote \" backslash \\ slash /",
    std::string("controls \x01\x02\x1f\x7f \b\f\n\r\t nul ") + '\0' + " end",
    "</script><script>alert('x&y=1')</script>",
    "non-ASCII: \xc3\xbc\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad",
    "format chars: \xc2\x80\xc2\x9f \xc2\xad \xe2\x80\x8b \xe2\x80\xa8\xe2\x80\xa9 \xef\xbb\xbf "
    "\xef\xbf\xb9 \xf3\xa0\x80\x81 \xf3\xa0\x80\xa0 \xf0\x9d\x85\xb3",
    "",
    "/tmp/corpus/wsA/src/lib.rs",
};
const std::vector<int32_t> k_int32s = {
    -7, 42, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 0, 1};
const std::vector<int64_t> k_int64s = {-1,
                                       std::numeric_limits<int64_t>::min(),
                                       9007199254740993,
                                       std::numeric_limits<int64_t>::max(),
                                       0,
                                       1795415236161};
const std::vector<uint32_t> k_uint32s = {1, std::numeric_limits<uint32_t>::max(), 0, 242};
const std::vector<uint64_t> k_uint64s = {std::numeric_limits<uint64_t>::max(), 1, 0,
                                         18446744073709551557ULL, 9007199254740993ULL};
const std::vector<double> k_doubles = {0.1,
                                       1e21,
                                       1e-7,
                                       2.04,
                                       -0.0,
                                       std::numeric_limits<double>::quiet_NaN(),
                                       std::numeric_limits<double>::infinity(),
                                       -std::numeric_limits<double>::infinity(),
                                       123456.789,
                                       1.0 / 3,
                                       5e-324,
                                       1e300,
                                       100.0,
                                       0.0,
                                       -2.5,
                                       1e15,
                                       1e16,
                                       1e20,
                                       1.7976931348623157e308,
                                       0.30000000000000004,
                                       13.37,
                                       4.9406564584124654e-324,
                                       2.2250738585072014e-308};
const std::vector<std::string> k_bytes = {std::string("\0\xff bytes", 8), "a", "ab", "abc", ""};

// Fills every field of `m`. `variant` picks values from the pools above (shifted per field, so
// that over the variants every field sees every value), the member set in each oneof, whether
// proto3 `optional` fields are set, and how many elements repeated fields get.
void fill(pb::Message& m, unsigned variant, int depth) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    unsigned pick = variant + static_cast<unsigned>(i) * 7;
    if (const pb::OneofDescriptor* oneof = f->real_containing_oneof()) {
      // One member per oneof: the one this variant picks (variants also leave it unset).
      unsigned member = variant % static_cast<unsigned>(oneof->field_count() + 1);
      if (static_cast<int>(member) >= oneof->field_count() || oneof->field(member) != f) {
        continue;
      }
    } else if (f->has_optional_keyword() && variant % 3 == 2) {
      continue; // proto3 `optional` left unset
    }
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && depth >= 4) {
      continue;
    }
    int count = f->is_repeated() ? std::vector<int>{0, 1, 3}[(variant + i) % 3] : 1;
    for (int k = 0; k < count; ++k) {
      unsigned p = pick + static_cast<unsigned>(k) * 3;
      bool rep = f->is_repeated();
      switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v = k_int32s[p % k_int32s.size()];
        rep ? r->AddInt32(&m, f, v) : r->SetInt32(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v = k_int64s[p % k_int64s.size()];
        rep ? r->AddInt64(&m, f, v) : r->SetInt64(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v = k_uint32s[p % k_uint32s.size()];
        rep ? r->AddUInt32(&m, f, v) : r->SetUInt32(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v = k_uint64s[p % k_uint64s.size()];
        rep ? r->AddUInt64(&m, f, v) : r->SetUInt64(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double v = k_doubles[p % k_doubles.size()];
        rep ? r->AddDouble(&m, f, v) : r->SetDouble(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        auto v = static_cast<float>(k_doubles[p % k_doubles.size()]);
        rep ? r->AddFloat(&m, f, v) : r->SetFloat(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v = p % 2 == 0;
        rep ? r->AddBool(&m, f, v) : r->SetBool(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        // Every declared value, then numbers the enum does not know.
        const pb::EnumDescriptor* e = f->enum_type();
        unsigned n = p % static_cast<unsigned>(e->value_count() + 2);
        int v = static_cast<int>(n) < e->value_count()    ? e->value(static_cast<int>(n))->number()
                : static_cast<int>(n) == e->value_count() ? 12345
                                                          : -3;
        rep ? r->AddEnumValue(&m, f, v) : r->SetEnumValue(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        const auto& pool = f->type() == FieldDescriptor::TYPE_BYTES ? k_bytes : k_strings;
        const std::string& v = pool[p % pool.size()];
        rep ? r->AddString(&m, f, v) : r->SetString(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        pb::Message* sub = rep ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
        // Some nested messages stay empty: set but with nothing in them.
        if (p % 5 != 4) {
          fill(*sub, variant + static_cast<unsigned>(k) + 1, depth + 1);
        }
        break;
      }
      }
    }
  }
}

std::unique_ptr<pb::Message> new_message(const pb::Descriptor* d) {
  const pb::Message* prototype = pb::MessageFactory::generated_factory()->GetPrototype(d);
  EXPECT_NE(prototype, nullptr) << d->full_name();
  return std::unique_ptr<pb::Message>(prototype->New());
}

TEST(ProtoJson, SchemaHasManyTypes) {
  // Guards the tests below against an empty type list.
  EXPECT_GE(schema_types().size(), 60u);
}

TEST(ProtoJson, EveryTypeFilledMatchesProtobuf) {
  for (const pb::Descriptor* d : schema_types()) {
    for (unsigned variant = 0; variant < 48; ++variant) {
      auto m = new_message(d);
      fill(*m, variant, 0);
      expect_same_json(*m, d->full_name() + " variant " + std::to_string(variant));
      if (HasFatalFailure()) {
        return;
      }
    }
  }
}

// Whatever our printer writes, protobuf's parser reads back into the same message: the guard
// against a protobuf whose parser no longer accepts what the walk prints (a newer protobuf turns
// the walk off, see k_fast_json_verified, but this also holds the walk itself to the JSON
// mapping, beyond matching 3.21's printer byte for byte).
TEST(ProtoJson, EveryTypeFilledParsesBackToTheSameMessage) {
  pb::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  for (const pb::Descriptor* d : schema_types()) {
    for (unsigned variant = 0; variant < 48; ++variant) {
      auto m = new_message(d);
      fill(*m, variant, 0);
      for (const JsonPrintOptions& o : k_option_sets) {
        auto json = to_json(*m, o);
        ASSERT_TRUE(json) << json.error().message;
        auto back = new_message(d);
        auto status = pb::util::JsonStringToMessage(*json, back.get());
        ASSERT_TRUE(status.ok()) << d->full_name() << " variant " << variant << ": "
                                 << status.ToString() << "\n"
                                 << *json;
        pb::util::MessageDifferencer differ;
        differ.set_field_comparator(&comparator);
        // A field set to -0.0 prints as -0, which protobuf's parser reads as 0, the default: the
        // JSON mapping's loss, protobuf's printer's too. Equivalence compares the values.
        differ.set_message_field_comparison(pb::util::MessageDifferencer::EQUIVALENT);
        std::string diff;
        differ.ReportDifferencesToString(&diff);
        EXPECT_TRUE(differ.Compare(*m, *back))
            << d->full_name() << " variant " << variant << " (" << describe(o) << "): " << diff;
      }
    }
  }
}

// With the protobuf the walk was verified against (Debian 12's 3.21) the walk answers; with
// another, protobuf's printer does (the tests above then compare it with itself), and this says so.
TEST(ProtoJson, TheWalkAnswersOnlyForTheProtobufItWasVerifiedAgainst) {
  v1::CorrelationStatus m;
  m.set_runs_seen(3);
  std::string out;
  if (!k_fast_json_verified) {
    EXPECT_FALSE(append_json(out, m, {}));
    GTEST_SKIP() << "protobuf " << GOOGLE_PROTOBUF_VERSION
                 << " is not the one the walk was verified against: JSON goes through protobuf's "
                    "printer";
  }
  EXPECT_TRUE(append_json(out, m, {}));
  EXPECT_EQ(out, R"({"runs_seen":"3"})");
}

TEST(ProtoJson, EveryTypeDefaultMatchesProtobuf) {
  for (const pb::Descriptor* d : schema_types()) {
    auto m = new_message(d);
    expect_same_json(*m, d->full_name() + " default");
    if (HasFatalFailure()) {
      return;
    }
  }
}

// Each field alone, set to each value of its pool: a field's own formatting, isolated from the
// rest, and proto3 `optional` / oneof members set to their default value.
TEST(ProtoJson, EachFieldAloneMatchesProtobuf) {
  for (const pb::Descriptor* d : schema_types()) {
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        auto m = new_message(d);
        f->is_repeated() ? m->GetReflection()->AddMessage(m.get(), f)
                         : m->GetReflection()->MutableMessage(m.get(), f);
        expect_same_json(*m, d->full_name() + "." + f->name() + " empty message");
        continue;
      }
      for (unsigned v = 0; v < 24; ++v) {
        auto m = new_message(d);
        const pb::Reflection* r = m->GetReflection();
        switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(m.get(), f, k_int32s[v % k_int32s.size()])
                           : r->SetInt32(m.get(), f, k_int32s[v % k_int32s.size()]);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(m.get(), f, k_int64s[v % k_int64s.size()])
                           : r->SetInt64(m.get(), f, k_int64s[v % k_int64s.size()]);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated() ? r->AddUInt32(m.get(), f, k_uint32s[v % k_uint32s.size()])
                           : r->SetUInt32(m.get(), f, k_uint32s[v % k_uint32s.size()]);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? r->AddUInt64(m.get(), f, k_uint64s[v % k_uint64s.size()])
                           : r->SetUInt64(m.get(), f, k_uint64s[v % k_uint64s.size()]);
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          f->is_repeated() ? r->AddDouble(m.get(), f, k_doubles[v % k_doubles.size()])
                           : r->SetDouble(m.get(), f, k_doubles[v % k_doubles.size()]);
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          f->is_repeated()
              ? r->AddFloat(m.get(), f, static_cast<float>(k_doubles[v % k_doubles.size()]))
              : r->SetFloat(m.get(), f, static_cast<float>(k_doubles[v % k_doubles.size()]));
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(m.get(), f, v % 2 == 0)
                           : r->SetBool(m.get(), f, v % 2 == 0);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          int n = static_cast<int>(v) < f->enum_type()->value_count()
                      ? f->enum_type()->value(static_cast<int>(v))->number()
                      : static_cast<int>(v) * 1000;
          f->is_repeated() ? r->AddEnumValue(m.get(), f, n) : r->SetEnumValue(m.get(), f, n);
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          const auto& pool = f->type() == FieldDescriptor::TYPE_BYTES ? k_bytes : k_strings;
          f->is_repeated() ? r->AddString(m.get(), f, pool[v % pool.size()])
                           : r->SetString(m.get(), f, pool[v % pool.size()]);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          break;
        }
        expect_same_json(*m, d->full_name() + "." + f->name() + " value " + std::to_string(v));
        if (HasFatalFailure()) {
          return;
        }
      }
    }
  }
}

// Every code point one by one in a string field, in a few contexts: the escaping table.
TEST(ProtoJson, EveryCodePointMatchesProtobuf) {
  auto utf8 = [](uint32_t c) {
    std::string s;
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xc0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xe0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    }
    return s;
  };
  const JsonPrintOptions compact;
  for (uint32_t c = 0; c <= 0x10ffff; c += c < 0x30000 ? 1 : 0x3f) {
    if (c >= 0xd800 && c <= 0xdfff) {
      continue;
    }
    v1::UnitRef m;
    m.set_package_id("a" + utf8(c) + "b" + utf8(c));
    std::string ours;
    ASSERT_TRUE(append_json(ours, m, compact)) << "U+" << std::hex << c;
    auto theirs = to_json_with_protobuf(m, compact);
    ASSERT_TRUE(theirs);
    ASSERT_EQ(ours, *theirs) << "U+" << std::hex << c;
  }
}

// Doubles of every magnitude against protobuf's SimpleDtoa ("%.15g", or "%.17g" when that does
// not read back), which to_json reaches another way: random bit patterns (normal, subnormal),
// decimal fractions such as timings, integers near 2^53, and the edges of %g's notations.
TEST(ProtoJson, DoublesMatchProtobuf) {
  std::vector<double> values = {0.0,
                                -0.0,
                                1e-5,
                                1e-4,
                                0.0001234,
                                0.00001234,
                                1e14,
                                1e15,
                                1e16,
                                1e17,
                                123456789012345.0,
                                999999999999999.0,
                                9999999999999998.0,
                                1e15 - 0.5,
                                0.5,
                                2.5,
                                DBL_MIN,
                                DBL_MAX,
                                DBL_TRUE_MIN,
                                DBL_EPSILON,
                                1.0 / 7};
  std::mt19937_64 rng(20261123);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isfinite(d)) {
      values.push_back(d);
    }
    values.push_back(static_cast<double>(rng() % 100000000) / std::pow(10.0, rng() % 12));
    values.push_back(static_cast<double>(rng() % (uint64_t{1} << 54)) *
                     std::pow(10.0, static_cast<int>(rng() % 40) - 20));
    values.push_back(std::ldexp(static_cast<double>(rng() % 1000), -1070)); // subnormal
  }
  // Sums of centisecond times, as timings compute them.
  double t = 0;
  for (int i = 0; i < 2000; ++i) {
    t += 0.01 * static_cast<double>(rng() % 500);
    values.push_back(t);
    values.push_back(-t / 3);
  }
  constexpr size_t k_per_message = 1000;
  for (size_t begin = 0; begin < values.size(); begin += k_per_message) {
    v1::RunTimings m;
    for (size_t i = begin; i < std::min(values.size(), begin + k_per_message); ++i) {
      m.add_concurrency()->set_t(values[i]);
    }
    std::string ours;
    ASSERT_TRUE(append_json(ours, m, {}));
    auto theirs = to_json_with_protobuf(m, {});
    ASSERT_TRUE(theirs);
    if (ours != *theirs) {
      for (size_t i = begin; i < std::min(values.size(), begin + k_per_message); ++i) {
        v1::ConcurrencySample one;
        one.set_t(values[i]);
        std::string a;
        ASSERT_TRUE(append_json(a, one, {}));
        ASSERT_EQ(a, *to_json_with_protobuf(one, {})) << std::hexfloat << values[i];
      }
    }
    ASSERT_EQ(ours, *theirs);
  }
}

// Strings that are not valid UTF-8 are printed by protobuf (which drops or rewrites bytes).
TEST(ProtoJson, InvalidUtf8FallsBackToProtobuf) {
  for (const std::string bad :
       {"a\xff"
        "b",
        "a\xc3", "\xed\xa0\x80x", "\xc0\x80z", "a\x80z", "\xf4\x90\x80\x80"}) {
    v1::RunTimings m;
    m.mutable_run()->set_run_id("ok");
    m.add_units()->mutable_unit()->set_package_id(bad);
    expect_same_json(m, "invalid UTF-8", /*fallback=*/true);
  }
}

TEST(ProtoJson, PrettyLayout) {
  v1::GetTimingsResponse m;
  v1::RunTimings* run = m.add_runs();
  run->mutable_run()->set_run_id("r");
  run->add_critical_path(3);
  run->add_critical_path(4);
  auto json = to_json(m, {.pretty = true, .always_print_primitive_fields = false});
  ASSERT_TRUE(json);
  EXPECT_EQ(*json, "{\n"
                   " \"runs\": [\n"
                   "  {\n"
                   "   \"run\": {\n"
                   "    \"run_id\": \"r\"\n"
                   "   },\n"
                   "   \"critical_path\": [\n"
                   "    3,\n"
                   "    4\n"
                   "   ]\n"
                   "  }\n"
                   " ]\n"
                   "}\n");
  auto empty = to_json(v1::GetTimingsResponse(), {.pretty = true});
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "{}\n");
}

// Real events: every line of every corpus log, as the codec decodes it.
TEST(ProtoJson, CorpusEventsMatchProtobuf) {
  int events = 0;
  for (const char* workspace : {"A", "C"}) {
    std::filesystem::path logs = test::fixture_path(std::string("corpus/") + workspace + "/logs");
    for (const auto& entry : std::filesystem::directory_iterator(logs)) {
      std::ifstream in(entry.path());
      codec::EventDecoder decoder;
      int number = 0;
      for (std::string line; std::getline(in, line);) {
        ++number;
        if (line.empty()) {
          continue;
        }
        v1::Event event;
        auto decoded = decoder.decode(line, event);
        ASSERT_TRUE(decoded) << entry.path() << ":" << number << ": " << decoded.error().message;
        expect_same_json(event, entry.path().filename().string() + ":" + std::to_string(number));
        if (HasFatalFailure()) {
          return;
        }
        ++events;
      }
    }
  }
  EXPECT_GT(events, 1000);
}

} // namespace
} // namespace ca
