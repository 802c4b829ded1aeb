#include "shared/proto_json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace ca {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

// An append-only text buffer over a std::string, written through raw pointers: libstdc++
// instantiates `push_back` and `append` out of line, and calling them per character was a tenth
// of the time.
class Out {
public:
  explicit Out(std::string& s) : m_s(s), m_p(s.data() + s.size()), m_end(m_p) {}

  // Room for `k` more bytes; write them at the pointer returned, then commit() the end.
  char* room(size_t k) {
    if (static_cast<size_t>(m_end - m_p) < k) {
      grow(k);
    }
    return m_p;
  }
  void commit(char* end) { m_p = end; }

  void put(char c) {
    if (m_p == m_end) {
      grow(1);
    }
    *m_p++ = c;
  }
  void put(std::string_view v) {
    std::memcpy(room(v.size()), v.data(), v.size());
    m_p += v.size();
  }
  void fill(size_t k, char c) {
    std::memset(room(k), c, k);
    m_p += k;
  }

  size_t size() const { return static_cast<size_t>(m_p - m_s.data()); }
  void rewind(size_t n) { m_p = m_s.data() + n; }

  // Gives the string its final size: what was written, or `n` bytes.
  void finish() { m_s.resize(static_cast<size_t>(m_p - m_s.data())); }
  void finish(size_t n) { m_s.resize(n); }

private:
  // Makes room for `k` bytes and a little more. Not by doubling the size: resize zero-fills what
  // it adds, and doubling a long string (a page the JSON is appended to) zero-filled more than
  // the JSON's own size; the capacity still grows geometrically (std::string's own growth).
  [[gnu::noinline]] void grow(size_t k) {
    auto used = static_cast<size_t>(m_p - m_s.data());
    m_s.resize(used + k + 1024);
    m_p = m_s.data() + used;
    m_end = m_s.data() + m_s.size();
  }

  std::string& m_s;
  char* m_p;
  char* m_end;
};

// --- strings, as protobuf's util/internal/json_escaping.cc escapes them ----------------------

// For each ASCII byte: 0 to copy it, 1 for `\uXXXX`, otherwise the letter of a short escape.
constexpr auto k_ascii_escapes = [] {
  std::array<char, 128> t{};
  for (int c = 0; c < 0x20; ++c) {
    t[c] = 1;
  }
  t[0x7f] = 1;
  t['<'] = 1;
  t['>'] = 1;
  t['"'] = '"';
  t['\\'] = '\\';
  t['\b'] = 'b';
  t['\t'] = 't';
  t['\n'] = 'n';
  t['\f'] = 'f';
  t['\r'] = 'r';
  return t;
}();

// Code points above U+007F that protobuf escapes (C1 controls and Unicode format characters).
bool escaped_code_point(uint32_t cp) {
  if (cp < 0xad) {
    return cp <= 0x9f;
  }
  if (cp < 0x600) {
    return cp == 0xad;
  }
  if (cp < 0x2000) {
    return cp <= 0x603 || cp == 0x6dd || cp == 0x70f || cp == 0x17b4 || cp == 0x17b5;
  }
  if (cp < 0xe000) {
    return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f);
  }
  if (cp < 0x10000) {
    return cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
  }
  return (cp >= 0x1d173 && cp <= 0x1d17a) || cp == 0xe0001 || (cp >= 0xe0020 && cp <= 0xe007f);
}

void put_u_escape(Out& out, uint32_t unit) {
  constexpr char k_hex[] = "0123456789abcdef";
  char* p = out.room(6);
  p[0] = '\\';
  p[1] = 'u';
  p[2] = k_hex[(unit >> 12) & 0xf];
  p[3] = k_hex[(unit >> 8) & 0xf];
  p[4] = k_hex[(unit >> 4) & 0xf];
  p[5] = k_hex[unit & 0xf];
  out.commit(p + 6);
}

// The length of the UTF-8 sequence at `s[i]` and its code point, or 0 when it is not valid
// UTF-8 (overlong, a surrogate, above U+10FFFF, truncated). protobuf prints such strings in
// ways of its own (it drops or rewrites bytes), so we leave them to it.
size_t decode_utf8(std::string_view s, size_t i, uint32_t& cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xc0) == 0x80; };
  unsigned char b0 = byte(i);
  if (b0 >= 0xc2 && b0 <= 0xdf && cont(i + 1)) {
    cp = ((b0 & 0x1fu) << 6) | (byte(i + 1) & 0x3fu);
    return 2;
  }
  if (b0 >= 0xe0 && b0 <= 0xef && cont(i + 1) && cont(i + 2)) {
    cp = ((b0 & 0x0fu) << 12) | ((byte(i + 1) & 0x3fu) << 6) | (byte(i + 2) & 0x3fu);
    return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    cp = ((b0 & 0x07u) << 18) | ((byte(i + 1) & 0x3fu) << 12) | ((byte(i + 2) & 0x3fu) << 6) |
         (byte(i + 3) & 0x3fu);
    return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
  }
  return 0;
}

// Appends `s` quoted and escaped. Returns false (with `out` partly written) when `s` is not
// valid UTF-8.
bool put_string(Out& out, std::string_view s) {
  out.put('"');
  size_t run = 0; // start of the bytes not yet copied
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      char e = k_ascii_escapes[b];
      if (e == 0) {
        ++i;
        continue;
      }
      out.put(s.substr(run, i - run));
      if (e == 1) {
        put_u_escape(out, b);
      } else {
        char* p = out.room(2);
        p[0] = '\\';
        p[1] = e;
        out.commit(p + 2);
      }
      run = ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = decode_utf8(s, i, cp);
    if (n == 0) {
      return false;
    }
    if (escaped_code_point(cp)) {
      out.put(s.substr(run, i - run));
      if (cp >= 0x10000) {
        put_u_escape(out, 0xd800 + ((cp - 0x10000) >> 10));
        put_u_escape(out, 0xdc00 + ((cp - 0x10000) & 0x3ff));
      } else {
        put_u_escape(out, cp);
      }
      run = i + n;
    }
    i += n;
  }
  out.put(s.substr(run));
  out.put('"');
  return true;
}

// --- numbers --------------------------------------------------------------------------------

// protobuf's SimpleDtoa (strutil.cc DoubleToBuffer) for a finite double: printf "%.15g" when
// that reads back as the same double, else "%.17g". printf and strtod made up 40% of the time,
// so we get there from the shortest round-trip digits (std::to_chars): for a normal double
// with at most 15 of them, "%.15g" prints exactly those digits (the 15-digit grid is coarser
// than twice the distance between the double and its shortest digits) and reads back; with
// more, no 15-digit text reads back, so "%.17g" it is, which to_chars prints as printf does.
// Subnormals, where that argument fails, go to protobuf. Needs 32 bytes at `p`.
char* put_double(double v, char* p) {
  if (std::fpclassify(v) == FP_SUBNORMAL) {
    pb::DoubleToBuffer(v, p);
    return p + std::strlen(p);
  }
  char sci[32];
  char* sci_end = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific).ptr;
  const char* q = sci;
  bool negative = *q == '-';
  q += negative ? 1 : 0;
  char digits[20];
  int n = 0;
  for (; q < sci_end && *q != 'e'; ++q) {
    if (*q != '.' && n < 20) {
      digits[n++] = *q;
    }
  }
  if (n > 15) {
    return std::to_chars(p, p + 32, v, std::chars_format::general, 17).ptr;
  }
  // q is at 'e', then a sign and at least two digits.
  int exp10 = 0;
  std::from_chars(q + 2, sci_end, exp10);
  exp10 = q[1] == '-' ? -exp10 : exp10;
  if (negative) {
    *p++ = '-';
  }
  if (exp10 < -4 || exp10 >= 15) { // %g's switch to scientific for precision 15
    *p++ = digits[0];
    if (n > 1) {
      *p++ = '.';
      std::memcpy(p, digits + 1, static_cast<size_t>(n - 1));
      p += n - 1;
    }
    *p++ = 'e';
    *p++ = exp10 < 0 ? '-' : '+';
    int e = exp10 < 0 ? -exp10 : exp10;
    if (e < 10) {
      *p++ = '0';
    }
    return std::to_chars(p, p + 4, e).ptr;
  }
  if (exp10 >= 0) {
    for (int k = 0; k <= exp10; ++k) {
      *p++ = k < n ? digits[k] : '0';
    }
    if (n > exp10 + 1) {
      *p++ = '.';
      std::memcpy(p, digits + exp10 + 1, static_cast<size_t>(n - exp10 - 1));
      p += n - exp10 - 1;
    }
    return p;
  }
  *p++ = '0';
  *p++ = '.';
  for (int k = 0; k < -exp10 - 1; ++k) {
    *p++ = '0';
  }
  std::memcpy(p, digits, static_cast<size_t>(n));
  return p + n;
}

// --- the walk -----------------------------------------------------------------------------

// How the printer visits one field.
struct Step {
  enum class Kind : uint8_t {
    scalar,   // singular without presence: printed unless zero (always_print: printed)
    presence, // singular with presence (message, oneof member, `optional`): printed when set
    repeated, // printed when non-empty (always_print: printed)
  };
  const FieldDescriptor* field;
  Kind kind;
  std::string key; // `"name":`, or `"name": ` when pretty
};

// The fields of one message type in the orders the printer visits them.
struct Plan {
  bool supported = true;
  std::vector<Step> by_number; // no always_print: field-number order, as serialized
  std::vector<Step> declared;  // always_print: declaration order, then oneof scalars by number
};

Plan make_plan(const pb::Descriptor* d, bool pretty, bool always) {
  Plan p;
  // Maps, well-known types (which print specially) and proto2 (defaults, groups, extensions)
  // are left to protobuf.
  if (d->file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3 || d->options().map_entry() ||
      d->file()->package() == "google.protobuf" || d->extension_range_count() > 0) {
    p.supported = false;
    return p;
  }
  std::vector<Step> oneof_scalars;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map() || f->type() == FieldDescriptor::TYPE_GROUP ||
        (f->message_type() != nullptr &&
         f->message_type()->file()->package() == "google.protobuf")) {
      p.supported = false;
      return p;
    }
    std::string key;
    Out out(key);
    if (!put_string(out, f->name())) {
      p.supported = false;
      return p;
    }
    out.put(pretty ? std::string_view(": ") : std::string_view(":"));
    out.finish();
    Step step{f,
              f->is_repeated()    ? Step::Kind::repeated
              : f->has_presence() ? Step::Kind::presence
                                  : Step::Kind::scalar,
              std::move(key)};
    if (!always) {
      p.by_number.push_back(std::move(step));
    } else if (f->containing_oneof() != nullptr &&
               f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      // DefaultValueObjectWriter gives oneof members (proto3 `optional` included) no default
      // node unless they are messages; when set, such a member is appended after the rest.
      oneof_scalars.push_back(std::move(step));
    } else {
      p.declared.push_back(std::move(step));
    }
  }
  auto by_num = [](const Step& a, const Step& b) { return a.field->number() < b.field->number(); };
  std::sort(p.by_number.begin(), p.by_number.end(), by_num);
  std::sort(oneof_scalars.begin(), oneof_scalars.end(), by_num);
  for (Step& step : oneof_scalars) {
    p.declared.push_back(std::move(step));
  }
  return p;
}

template <class T> bool zero_bits(T value) {
  static_assert(sizeof(T) == sizeof(uint64_t) || sizeof(T) == sizeof(uint32_t));
  using Bits = std::conditional_t<sizeof(T) == sizeof(uint64_t), uint64_t, uint32_t>;
  Bits bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits == 0;
}

class Printer {
public:
  Printer(const JsonPrintOptions& options, Out& out)
      : m_pretty(options.pretty), m_always(options.always_print_primitive_fields), m_out(out) {}

  // Appends the message at nesting `level`; false when it holds something we leave to protobuf.
  bool message(const pb::Message& m, int level) {
    const Plan& p = plan(m.GetDescriptor());
    if (!p.supported) {
      return false;
    }
    const pb::Reflection* r = m.GetReflection();
    m_out.put('{');
    bool first = true;
    for (const Step& step : m_always ? p.declared : p.by_number) {
      const FieldDescriptor* f = step.field;
      switch (step.kind) {
      case Step::Kind::repeated: {
        int n = r->FieldSize(m, f);
        if (n == 0 && !m_always) {
          continue;
        }
        key(step, level + 1, first);
        if (!list(m, r, f, n, level + 1)) {
          return false;
        }
        continue;
      }
      case Step::Kind::presence:
        if (!r->HasField(m, f)) {
          continue;
        }
        key(step, level + 1, first);
        if (value(m, r, f, -1, level + 1) == Put::fail) {
          return false;
        }
        continue;
      case Step::Kind::scalar: {
        // Written, then taken back when zero: one reflection call per field. protobuf
        // serializes, so prints, exactly the non-zero ones (doubles by their bits: -0.0 is
        // printed).
        size_t mark = m_out.size();
        bool was_first = first;
        key(step, level + 1, first);
        Put put = value(m, r, f, -1, level + 1);
        if (put == Put::fail) {
          return false;
        }
        if (put == Put::zero && !m_always) {
          m_out.rewind(mark);
          first = was_first;
        }
        continue;
      }
      }
    }
    if (!first) {
      newline(level);
    }
    m_out.put('}');
    return true;
  }

private:
  enum class Put { ok, zero, fail };

  const Plan& plan(const pb::Descriptor* d) {
    if (d == m_last_descriptor) {
      return *m_last_plan;
    }
    auto it = m_plans.find(d);
    if (it == m_plans.end()) {
      it = m_plans.emplace(d, make_plan(d, m_pretty, m_always)).first;
    }
    m_last_descriptor = d;
    m_last_plan = &it->second;
    return it->second;
  }

  void newline(int level) {
    if (m_pretty) {
      m_out.put('\n');
      m_out.fill(static_cast<size_t>(level), ' ');
    }
  }

  // A comma unless `first`, the line break and the quoted name.
  void key(const Step& step, int level, bool& first) {
    if (!first) {
      m_out.put(',');
    }
    first = false;
    newline(level);
    m_out.put(step.key);
  }

  bool
  list(const pb::Message& m, const pb::Reflection* r, const FieldDescriptor* f, int n, int level) {
    m_out.put('[');
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        m_out.put(',');
      }
      newline(level + 1);
      if (value(m, r, f, i, level + 1) == Put::fail) {
        return false;
      }
    }
    if (n > 0) {
      newline(level);
    }
    m_out.put(']');
    return true;
  }

  template <class T> Put number(T v) {
    char* p = m_out.room(24);
    m_out.commit(std::to_chars(p, p + 24, v).ptr);
    return v == 0 ? Put::zero : Put::ok;
  }
  template <class T> Put quoted_number(T v) {
    char* p = m_out.room(24);
    *p = '"';
    p = std::to_chars(p + 1, p + 23, v).ptr;
    *p = '"';
    m_out.commit(p + 1);
    return v == 0 ? Put::zero : Put::ok;
  }
  Put floating(double v) {
    if (std::isnan(v)) {
      m_out.put("\"NaN\"");
    } else if (std::isinf(v)) {
      m_out.put(v > 0 ? std::string_view("\"Infinity\"") : std::string_view("\"-Infinity\""));
    } else {
      char* p = m_out.room(32);
      m_out.commit(put_double(v, p));
    }
    return zero_bits(v) ? Put::zero : Put::ok;
  }
  Put floating(float v) {
    if (std::isnan(v)) {
      m_out.put("\"NaN\"");
    } else if (std::isinf(v)) {
      m_out.put(v > 0 ? std::string_view("\"Infinity\"") : std::string_view("\"-Infinity\""));
    } else {
      char buf[pb::kFloatToBufferSize];
      m_out.put(pb::FloatToBuffer(v, buf));
    }
    return zero_bits(v) ? Put::zero : Put::ok;
  }

  // The value of a singular field (`i` < 0) or of element `i` of a repeated one; `zero` when
  // it is a scalar equal to its type's zero.
  Put value(
      const pb::Message& m, const pb::Reflection* r, const FieldDescriptor* f, int i, int level) {
    bool rep = i >= 0;
    switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return number(rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return number(rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return quoted_number(rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return quoted_number(rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return floating(rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return floating(rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v = rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f);
      m_out.put(v ? std::string_view("true") : std::string_view("false"));
      return v ? Put::ok : Put::zero;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v = rep ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
      const pb::EnumValueDescriptor* named = f->enum_type()->FindValueByNumber(v);
      if (named == nullptr) {
        return number(v);
      }
      if (!put_string(m_out, named->name())) {
        return Put::fail;
      }
      return v == 0 ? Put::zero : Put::ok;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, i, &m_scratch)
                                 : r->GetStringReference(m, f, &m_scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        std::string encoded;
        pb::Base64Escape(s, &encoded);
        m_out.put('"');
        m_out.put(encoded);
        m_out.put('"');
      } else if (!put_string(m_out, s)) {
        return Put::fail;
      }
      return s.empty() ? Put::zero : Put::ok;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return message(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), level) ? Put::ok
                                                                                        : Put::fail;
    }
    return Put::fail;
  }

  bool m_pretty;
  bool m_always;
  Out& m_out;
  std::string m_scratch;
  std::unordered_map<const pb::Descriptor*, Plan> m_plans;
  const pb::Descriptor* m_last_descriptor = nullptr;
  const Plan* m_last_plan = nullptr;
};

} // namespace

bool append_json(std::string& out,
                 const google::protobuf::Message& message,
                 const JsonPrintOptions& options) {
  size_t size = out.size();
  Out buffer(out);
  Printer printer(options, buffer);
  if (!printer.message(message, 0)) {
    buffer.finish(size);
    return false;
  }
  if (options.pretty) {
    buffer.put('\n'); // JsonObjectWriter ends the top-level object with a newline
  }
  buffer.finish();
  return true;
}

Result<std::string> to_json(const google::protobuf::Message& message,
                            const JsonPrintOptions& options) {
  std::string out;
  if (!append_json(out, message, options)) {
    return to_json_with_protobuf(message, options);
  }
  return out;
}

Result<std::string> to_json_with_protobuf(const google::protobuf::Message& message,
                                          const JsonPrintOptions& options) {
  pb::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = options.always_print_primitive_fields;
  opts.add_whitespace = options.pretty;
  std::string out;
  auto status = pb::util::MessageToJsonString(message, &out, opts);
  if (!status.ok()) {
    return unexpected(ErrorCode::internal, "cannot encode JSON: " + status.ToString());
  }
  return out;
}

} // namespace ca
