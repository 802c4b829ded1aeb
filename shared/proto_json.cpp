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
#include <memory>
#include <mutex>
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
  // Makes room for `k` bytes and a little more (up to 1 KB; less for a short string such as a
  // key, which would otherwise zero-fill a kilobyte). Not by doubling the size: resize zero-fills
  // what it adds, and doubling a long string (a page the JSON is appended to) zero-filled more
  // than the JSON's own size; the capacity still grows geometrically (std::string's own growth).
  [[gnu::noinline]] void grow(size_t k) {
    auto used = static_cast<size_t>(m_p - m_s.data());
    m_s.resize(used + k + std::min<size_t>(used + 32, 1024));
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

// Whether none of the 16 bytes at `p` needs a look: no escape, no UTF-8. GCC's vector extension
// (SSE2 on x86-64, scalar code elsewhere): a dozen instructions for 16 bytes.
typedef uint8_t Bytes16 __attribute__((vector_size(16)));
typedef uint64_t Words16 __attribute__((vector_size(16)));
bool plain16(const char* p) {
  Bytes16 b;
  std::memcpy(&b, p, sizeof b);
  // bytes below 0x20 or from 0x7f up (DEL, UTF-8), `"`, `\\`, `<`, `>`
  auto flag = (b - 0x20 >= 0x5f) | (b == '"') | (b == '\\') | ((b | 2) == '>');
  Words16 w;
  std::memcpy(&w, &flag, sizeof w);
  return (w[0] | w[1]) == 0;
}

// Appends `s` quoted and escaped. Returns false (with `out` partly written) when `s` is not
// valid UTF-8. Runs of 16 plain ASCII bytes are skipped at once and copied in bulk.
bool put_string(Out& out, std::string_view s) {
  out.put('"');
  size_t run = 0; // start of the bytes not yet copied
  size_t i = 0;
  while (i < s.size()) {
    while (i + 16 <= s.size() && plain16(s.data() + i)) {
      i += 16;
    }
    // Byte by byte up to the end of the block that was not plain (a UTF-8 sequence may end
    // past it).
    size_t stop = std::min(i + 16, s.size());
    while (i < stop) {
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
  }
  out.put(s.substr(run));
  out.put('"');
  return true;
}

// --- numbers --------------------------------------------------------------------------------

__extension__ typedef unsigned __int128 U128;

constexpr auto k_pow10 = [] {
  std::array<uint64_t, 20> t{};
  t[0] = 1;
  for (size_t k = 1; k < t.size(); ++k) {
    t[k] = t[k - 1] * 10;
  }
  return t;
}();

// 1e-4 .. 1e10, as the nearest doubles
constexpr double k_pow10_double[] = {1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3,
                                     1e4,  1e5,  1e6,  1e7,  1e8, 1e9, 1e10};

U128 pow10_wide(int k) {
  return k < 20 ? U128(k_pow10[static_cast<size_t>(k)]) : U128(k_pow10[19]) * 10;
}

constexpr auto k_digit_pairs = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[static_cast<size_t>(2 * i)] = static_cast<char>('0' + i / 10);
    t[static_cast<size_t>(2 * i + 1)] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// Writes N / 10^k (k <= 20) in fixed notation without trailing zeros, as %g does.
char* put_fixed(uint64_t n, int k, char* p) {
  uint64_t int_part = k < 20 ? n / k_pow10[static_cast<size_t>(k)] : 0;
  uint64_t frac = n - (k < 20 ? int_part * k_pow10[static_cast<size_t>(k)] : 0);
  p = std::to_chars(p, p + 20, int_part).ptr;
  if (frac == 0) {
    return p;
  }
  while (frac % 100 == 0) {
    frac /= 100;
    k -= 2;
  }
  if (frac % 10 == 0) {
    frac /= 10;
    --k;
  }
  *p++ = '.';
  char* end = p + k;
  char* q = end;
  for (; q - p >= 2; frac /= 100) {
    q -= 2;
    std::memcpy(q, &k_digit_pairs[static_cast<size_t>(2 * (frac % 100))], 2);
  }
  if (q > p) {
    *--q = static_cast<char>('0' + frac);
  }
  return end;
}

// SimpleDtoa for zeros and for normal doubles with 2^-10 <= |v| < 2^30 (which %g prints in
// fixed notation), in exact integer arithmetic: v = m / 2^s, so v * 10^k = X / 2^s with X =
// m * 10^k below 2^120. "%.17g" is X / 2^s rounded half to even at 17 digits; "%.15g" is the
// same at 15 digits, and it reads back as v when it lies within half an ulp of v (10^k / 2 in
// units of 2^-s; a quarter below a power of two; the bound itself only when m is even, as
// strtod breaks ties to even). Returns nullptr for any other double.
char* put_double_fast(double v, char* p) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  bool negative = (bits >> 63) != 0;
  auto biased = static_cast<int>((bits >> 52) & 0x7ff);
  uint64_t m = (bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1) << 52);
  if ((bits << 1) == 0) {
    if (negative) {
      *p++ = '-';
    }
    *p++ = '0';
    return p;
  }
  if (biased < 1023 - 10 || biased >= 1023 + 30) {
    return nullptr;
  }
  int s = 1075 - biased; // 23..62
  int binary_exp = biased - 1023;
  // floor(log10 |v|), or one off, which the loop below corrects
  int e = ((binary_exp + 1) * 78913) >> 18;
  if (std::fabs(v) < k_pow10_double[static_cast<size_t>(e + 4)]) {
    --e;
  }
  U128 x;
  uint64_t int17;
  for (;;) {
    x = U128(m) * pow10_wide(16 - e);
    int17 = static_cast<uint64_t>(x >> s);
    if (int17 < k_pow10[16]) {
      --e;
    } else if (int17 >= k_pow10[17]) {
      ++e;
    } else {
      break;
    }
  }
  uint64_t rest = static_cast<uint64_t>(x) & ((uint64_t(1) << s) - 1);
  uint64_t half = uint64_t(1) << (s - 1);
  if (negative) {
    *p++ = '-';
  }
  // 15 digits, from the 17-digit integer part and the bits below it.
  uint64_t n15 = int17 / 100;
  uint64_t r = int17 % 100;
  if (r > 50 || (r == 50 && (rest != 0 || (n15 & 1) != 0))) {
    ++n15;
  }
  U128 d15 = U128(n15 * 100) << s;
  U128 dist = d15 > x ? d15 - x : x - d15;
  U128 bound = pow10_wide(16 - e);
  bool even = (m & 1) == 0;
  U128 twice = d15 < x && m == (uint64_t(1) << 52) ? dist << 2 : dist << 1;
  if (twice < bound || (twice == bound && even)) {
    return put_fixed(n15, 14 - e, p);
  }
  uint64_t n17 = int17;
  if (rest > half || (rest == half && (n17 & 1) != 0)) {
    ++n17;
  }
  return put_fixed(n17, 16 - e, p);
}

// protobuf's SimpleDtoa (strutil.cc DoubleToBuffer) for a finite double: printf "%.15g" when
// that reads back as the same double, else "%.17g". printf and strtod made up 40% of the time,
// so we get there from the shortest round-trip digits (std::to_chars): for a normal double
// with at most 15 of them, "%.15g" prints exactly those digits (the 15-digit grid is coarser
// than twice the distance between the double and its shortest digits) and reads back; with
// more, no 15-digit text reads back, so "%.17g" it is, which to_chars prints as printf does.
// Subnormals, where that argument fails, go to protobuf. Needs 32 bytes at `p`.
char* put_double(double v, char* p) {
  if (char* end = put_double_fast(v, p)) {
    return end;
  }
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

// Keys up to this long (all of ours) are stored padded to it and copied as one fixed-size block.
constexpr size_t k_key_block = 48;

// How the printer visits one field.
struct Step {
  enum class Kind : uint8_t {
    scalar,   // singular without presence: printed unless zero (always_print: printed)
    presence, // singular with presence (message, oneof member, `optional`): printed when set
    repeated, // printed when non-empty (always_print: printed)
  };
  const FieldDescriptor* field;
  Kind kind;
  FieldDescriptor::CppType type;
  bool bytes;
  const pb::Descriptor* sub; // the type of a message field
  size_t key_size;
  std::string key; // `"name":`, or `"name": ` when pretty, padded to k_key_block
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
    size_t key_size = key.size();
    key.resize(std::max(key_size, k_key_block));
    Step step{f,
              f->is_repeated()    ? Step::Kind::repeated
              : f->has_presence() ? Step::Kind::presence
                                  : Step::Kind::scalar,
              f->cpp_type(),
              f->type() == FieldDescriptor::TYPE_BYTES,
              f->message_type(),
              key_size,
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

// The plan of a descriptor of the generated pool, which lives as long as the process: built once
// and shared by every thread. (A descriptor of another pool can be freed and its address reused,
// so its plan lives only as long as one printer.) Never destroyed, so that a printer running
// while the process exits finds it.
const Plan& shared_plan(const pb::Descriptor* d, bool pretty, bool always) {
  using Plans = std::unordered_map<const pb::Descriptor*, std::array<std::unique_ptr<Plan>, 4>>;
  static auto* mutex = new std::mutex;
  static auto* plans = new Plans;
  std::lock_guard lock(*mutex);
  std::unique_ptr<Plan>& slot = (*plans)[d][(pretty ? 2 : 0) + (always ? 1 : 0)];
  if (!slot) {
    slot = std::make_unique<Plan>(make_plan(d, pretty, always));
  }
  return *slot;
}

template <class T> bool is_zero(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    // By the bits: -0.0 is serialized, so printed.
    using Bits = std::conditional_t<sizeof(T) == sizeof(uint64_t), uint64_t, uint32_t>;
    static_assert(sizeof(T) == sizeof(Bits));
    Bits bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits == 0;
  } else {
    return value == T{};
  }
}

class Printer {
public:
  Printer(const JsonPrintOptions& options, Out& out)
      : m_pretty(options.pretty), m_always(options.always_print_primitive_fields), m_out(out) {}

  // Appends the message, of type `d`, at nesting `level`; false when it holds something we leave
  // to protobuf.
  bool message(const pb::Message& m, const pb::Descriptor* d, int level) {
    const Plan& p = plan(d);
    if (!p.supported) {
      return false;
    }
    const pb::Reflection* r = m.GetReflection();
    m_out.put('{');
    bool first = true;
    for (const Step& step : m_always ? p.declared : p.by_number) {
      switch (step.kind) {
      case Step::Kind::repeated: {
        int n = r->FieldSize(m, step.field);
        if (n == 0 && !m_always) {
          continue;
        }
        key(step, level + 1, first);
        if (!list(m, r, step, n, level + 1)) {
          return false;
        }
        continue;
      }
      case Step::Kind::presence:
        if (r->HasField(m, step.field) && !singular(m, r, step, level + 1, first, false)) {
          return false;
        }
        continue;
      case Step::Kind::scalar:
        // protobuf serializes, so prints, exactly the non-zero ones.
        if (!singular(m, r, step, level + 1, first, !m_always)) {
          return false;
        }
        continue;
      }
    }
    if (!first) {
      newline(level);
    }
    m_out.put('}');
    return true;
  }

private:
  const Plan& plan(const pb::Descriptor* d) {
    if (d == m_last_descriptor) {
      return *m_last_plan;
    }
    const Plan* found = nullptr;
    for (const auto& [seen, seen_plan] : m_seen) {
      if (seen == d) {
        found = seen_plan;
        break;
      }
    }
    if (found == nullptr) {
      // Not generated_pool(), which builds descriptor.proto's own descriptors on first use.
      if (d->file()->pool() == pb::DescriptorPool::internal_generated_pool()) {
        found = &shared_plan(d, m_pretty, m_always);
      } else {
        m_owned.push_back(std::make_unique<Plan>(make_plan(d, m_pretty, m_always)));
        found = m_owned.back().get();
      }
      m_seen.emplace_back(d, found);
    }
    m_last_descriptor = d;
    m_last_plan = found;
    return *found;
  }

  void newline(int level) {
    if (m_pretty) {
      m_out.put('\n');
      m_out.fill(static_cast<size_t>(level), ' ');
    }
  }

  // A comma unless `first`, the line break and the quoted name.
  void key(const Step& step, int level, bool& first) {
    if (m_pretty || step.key_size > k_key_block) {
      if (!first) {
        m_out.put(',');
      }
      first = false;
      newline(level);
      m_out.put(std::string_view(step.key.data(), step.key_size));
      return;
    }
    char* p = m_out.room(k_key_block + 1);
    *p = ',';
    p += first ? 0 : 1;
    first = false;
    std::memcpy(p, step.key.data(), k_key_block);
    m_out.commit(p + step.key_size);
  }

  bool list(const pb::Message& m, const pb::Reflection* r, const Step& step, int n, int level) {
    m_out.put('[');
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        m_out.put(',');
      }
      newline(level + 1);
      if (!element(m, r, step, i, level + 1)) {
        return false;
      }
    }
    if (n > 0) {
      newline(level);
    }
    m_out.put(']');
    return true;
  }

  // A singular field, with its key; nothing when `skip_zero` and it is its type's zero.
  bool singular(const pb::Message& m,
                const pb::Reflection* r,
                const Step& step,
                int level,
                bool& first,
                bool skip_zero) {
    const FieldDescriptor* f = step.field;
    switch (step.type) {
    case FieldDescriptor::CPPTYPE_INT32:
      return scalar(r->GetInt32(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_UINT32:
      return scalar(r->GetUInt32(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_INT64:
      return scalar(r->GetInt64(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_UINT64:
      return scalar(r->GetUInt64(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return scalar(r->GetDouble(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return scalar(r->GetFloat(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_BOOL:
      return scalar(r->GetBool(m, f), step, level, first, skip_zero);
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v = r->GetEnumValue(m, f);
      if (skip_zero && v == 0) {
        return true;
      }
      key(step, level, first);
      return enum_value(f, v);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string& s = r->GetStringReference(m, f, &m_scratch);
      if (skip_zero && s.empty()) {
        return true;
      }
      key(step, level, first);
      return string_value(step, s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      key(step, level, first);
      return message(r->GetMessage(m, f), step.sub, level);
    }
    return false;
  }

  // Element `i` of a repeated field.
  bool element(const pb::Message& m, const pb::Reflection* r, const Step& step, int i, int level) {
    const FieldDescriptor* f = step.field;
    switch (step.type) {
    case FieldDescriptor::CPPTYPE_INT32:
      put_value(r->GetRepeatedInt32(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      put_value(r->GetRepeatedUInt32(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      put_value(r->GetRepeatedInt64(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      put_value(r->GetRepeatedUInt64(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      put_value(r->GetRepeatedDouble(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_FLOAT:
      put_value(r->GetRepeatedFloat(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      put_value(r->GetRepeatedBool(m, f, i));
      return true;
    case FieldDescriptor::CPPTYPE_ENUM:
      return enum_value(f, r->GetRepeatedEnumValue(m, f, i));
    case FieldDescriptor::CPPTYPE_STRING:
      return string_value(step, r->GetRepeatedStringReference(m, f, i, &m_scratch));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return message(r->GetRepeatedMessage(m, f, i), step.sub, level);
    }
    return false;
  }

  template <class T> bool scalar(T v, const Step& step, int level, bool& first, bool skip_zero) {
    if (skip_zero && is_zero(v)) {
      return true;
    }
    key(step, level, first);
    put_value(v);
    return true;
  }

  void put_value(int32_t v) { number(v); }
  void put_value(uint32_t v) { number(v); }
  void put_value(int64_t v) { quoted_number(v); }
  void put_value(uint64_t v) { quoted_number(v); }
  void put_value(bool v) { m_out.put(v ? std::string_view("true") : std::string_view("false")); }

  template <class T> void number(T v) {
    char* p = m_out.room(24);
    m_out.commit(std::to_chars(p, p + 24, v).ptr);
  }
  template <class T> void quoted_number(T v) {
    char* p = m_out.room(24);
    *p = '"';
    p = std::to_chars(p + 1, p + 23, v).ptr;
    *p = '"';
    m_out.commit(p + 1);
  }
  void put_value(double v) {
    char* p = m_out.room(32);
    if (char* end = put_double_fast(v, p)) {
      m_out.commit(end);
    } else if (std::isnan(v)) {
      m_out.put("\"NaN\"");
    } else if (std::isinf(v)) {
      m_out.put(v > 0 ? std::string_view("\"Infinity\"") : std::string_view("\"-Infinity\""));
    } else {
      m_out.commit(put_double(v, p));
    }
  }
  void put_value(float v) {
    if (std::isnan(v)) {
      m_out.put("\"NaN\"");
    } else if (std::isinf(v)) {
      m_out.put(v > 0 ? std::string_view("\"Infinity\"") : std::string_view("\"-Infinity\""));
    } else {
      char buf[pb::kFloatToBufferSize];
      m_out.put(pb::FloatToBuffer(v, buf));
    }
  }

  bool enum_value(const FieldDescriptor* f, int v) {
    const pb::EnumValueDescriptor* named = f->enum_type()->FindValueByNumber(v);
    if (named == nullptr) {
      number(v);
      return true;
    }
    return put_string(m_out, named->name());
  }

  bool string_value(const Step& step, const std::string& s) {
    if (!step.bytes) {
      return put_string(m_out, s);
    }
    std::string encoded;
    pb::Base64Escape(s, &encoded);
    m_out.put('"');
    m_out.put(encoded);
    m_out.put('"');
    return true;
  }

  bool m_pretty;
  bool m_always;
  Out& m_out;
  std::string m_scratch;
  std::vector<std::pair<const pb::Descriptor*, const Plan*>> m_seen;
  std::vector<std::unique_ptr<Plan>> m_owned; // plans of descriptors not in the generated pool
  const pb::Descriptor* m_last_descriptor = nullptr;
  const Plan* m_last_plan = nullptr;
};

} // namespace

bool append_json(std::string& out,
                 const google::protobuf::Message& message,
                 const JsonPrintOptions& options) {
  if constexpr (!k_fast_json_verified) {
    return false; // another protobuf: its printer answers (see k_fast_json_verified)
  }
  size_t size = out.size();
  Out buffer(out);
  Printer printer(options, buffer);
  if (!printer.message(message, message.GetDescriptor(), 0)) {
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
