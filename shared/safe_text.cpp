#include "shared/safe_text.hpp"

#include <cstdint>

namespace ca {

namespace {

struct Mode {
  bool keep_tab = false;
  bool keep_newline = false;
  bool keep_colour = false;
};
constexpr Mode k_line{};

constexpr char k_hex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence at `s[i]` and its code point, or 0 if the byte there
// does not start one (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
size_t decode(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len = 0;
  uint32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1fU;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0fU;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07U;
    min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0U) != 0x80) {
      return 0;
    }
    cp = (cp << 6U) | (b & 0x3fU);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

// Code points shown escaped although valid: C1 controls, and those that reorder or break a line.
bool is_hidden(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Length of an SGR sequence `ESC [ [0-9;]* m` at s[i], or 0.
size_t sgr_length(std::string_view s, size_t i) {
  if (i + 2 >= s.size() || s[i + 1] != '[') {
    return 0;
  }
  for (size_t k = i + 2; k < s.size() && k < i + 32; ++k) {
    if (s[k] == 'm') {
      return k - i + 1;
    }
    if ((s[k] < '0' || s[k] > '9') && s[k] != ';') {
      return 0;
    }
  }
  return 0;
}

void append_byte_escape(std::string& out, unsigned char b) {
  out += "\\x";
  out += k_hex[b >> 4U];
  out += k_hex[b & 0x0fU];
}

void append_code_point_escape(std::string& out, uint32_t cp) {
  out += "\\u{";
  bool started = false;
  for (int shift = 20; shift >= 0; shift -= 4) {
    const uint32_t nibble = (cp >> static_cast<uint32_t>(shift)) & 0x0fU;
    if (nibble != 0 || started || shift <= 12) { // at least four digits
      out += k_hex[nibble];
      started = true;
    }
  }
  out += '}';
}

void append(std::string& out, std::string_view s, const Mode& mode) {
  out.reserve(out.size() + s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) { // the common case: printable ASCII
      size_t j = i + 1;
      while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x20 &&
             static_cast<unsigned char>(s[j]) < 0x7f) {
        ++j;
      }
      out.append(s.data() + i, j - i);
      i = j;
      continue;
    }
    if (c < 0x80) { // a C0 control or DEL
      if ((c == '\t' && mode.keep_tab) || (c == '\n' && mode.keep_newline)) {
        out += static_cast<char>(c);
      } else if (size_t n = mode.keep_colour && c == 0x1b ? sgr_length(s, i) : 0; n != 0) {
        out.append(s.data() + i, n);
        i += n;
        continue;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        append_byte_escape(out, c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = decode(s, i, cp);
    if (len == 0) {
      append_byte_escape(out, c);
      ++i;
    } else if (is_hidden(cp)) {
      append_code_point_escape(out, cp);
      i += len;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
}

} // namespace

std::string safe_text(std::string_view bytes) {
  std::string out;
  append(out, bytes, k_line);
  return out;
}

void append_safe_text(std::string& out, std::string_view bytes) {
  append(out, bytes, k_line);
}

std::string safe_lines(std::string_view bytes) {
  std::string out;
  for (;;) {
    auto nl = bytes.find('\n');
    append(out, bytes.substr(0, nl), k_line);
    if (nl == std::string_view::npos) {
      return out;
    }
    out += '\n';
    bytes.remove_prefix(nl + 1);
  }
}

std::string safe_terminal_text(std::string_view text, bool keep_colour, bool keep_newlines) {
  std::string out;
  append(out, text, Mode{true, keep_newlines, keep_colour});
  return out;
}

bool is_safe_text(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = c < 0x80 ? 0 : decode(bytes, i, cp);
    if (len == 0 || is_hidden(cp)) {
      return false;
    }
    i += len;
  }
  return true;
}

} // namespace ca
