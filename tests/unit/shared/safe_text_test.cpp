#include "cargo_analysis/v1/admin.pb.h"
#include "shared/safe_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ca {
namespace {

using namespace std::string_literals;

TEST(SafeText, PrintableUtf8PassesUnchanged) {
  const std::string s =
      "/home/ana/.cargo/log/20261202T000000000Z-0123456789abcdef.jsonl é ü 日本 🦀";
  EXPECT_EQ(safe_text(s), s);
  EXPECT_TRUE(is_safe_text(s));
  EXPECT_EQ(safe_text(""), "");
}

TEST(SafeText, InvalidUtf8BytesAreEscaped) {
  EXPECT_EQ(safe_text("a\xff\xfe.jsonl"), "a\\xff\\xfe.jsonl");
  EXPECT_EQ(safe_text("\xc3"), "\\xc3");                            // cut sequence
  EXPECT_EQ(safe_text("\xc3("), "\\xc3(");                          // bad continuation
  EXPECT_EQ(safe_text("\xc0\xaf"), "\\xc0\\xaf");                   // overlong '/'
  EXPECT_EQ(safe_text("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");          // overlong, 3 bytes
  EXPECT_EQ(safe_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");          // a surrogate
  EXPECT_EQ(safe_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); // past U+10FFFF
  EXPECT_EQ(safe_text("\x80"), "\\x80");                            // lone continuation
  EXPECT_FALSE(is_safe_text("a\xff"));
}

TEST(SafeText, ControlCharactersAreEscaped) {
  EXPECT_EQ(safe_text("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(safe_text("\x1b[2J\x07"), "\\x1b[2J\\x07");
  EXPECT_EQ(safe_text("nul\0here"s), "nul\\x00here");
  EXPECT_EQ(safe_text("del\x7f"), "del\\x7f");
  EXPECT_EQ(safe_text("c1\xc2\x9b"), "c1\\u{009b}");       // U+009B, CSI
  EXPECT_EQ(safe_text("rtl\xe2\x80\xae"), "rtl\\u{202e}"); // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(safe_text("ls\xe2\x80\xa8"), "ls\\u{2028}");   // LINE SEPARATOR
  EXPECT_FALSE(is_safe_text("a\nb"));
  EXPECT_FALSE(is_safe_text("rtl\xe2\x80\xae"));
}

TEST(SafeText, ForgedLogLineStaysOnItsLine) {
  const std::string name =
      "x.jsonl\n[2026-12-02 00:00:00.000] [cargo-analysisd] [error] FORGED line";
  const std::string safe = safe_text(name);
  EXPECT_EQ(safe.find('\n'), std::string::npos);
  EXPECT_EQ(safe, "x.jsonl\\n[2026-12-02 00:00:00.000] [cargo-analysisd] [error] FORGED line");
}

TEST(SafeText, IsIdempotent) {
  for (const std::string& s : {"a\xff\n\x1b[1m\\x41"s, "\xe2\x80\xae\t\r\0"s, "plain"s}) {
    const std::string once = safe_text(s);
    EXPECT_TRUE(is_safe_text(once)) << once;
    EXPECT_EQ(safe_text(once), once);
  }
}

TEST(SafeText, ResultFitsAProtobufStringField) {
  cargo_analysis::v1::SourceStatus in;
  in.set_last_error(safe_text("/log/\xff\xfe.jsonl:1: line is not JSON"));
  std::string wire;
  ASSERT_TRUE(in.SerializeToString(&wire));
  cargo_analysis::v1::SourceStatus out;
  ASSERT_TRUE(out.ParseFromString(wire)); // a raw 0xff would fail here
  EXPECT_EQ(out.last_error(), "/log/\\xff\\xfe.jsonl:1: line is not JSON");
}

TEST(SafeTerminalText, KeepsLayoutAndOurColoursOnly) {
  EXPECT_EQ(safe_terminal_text("a\n\tb\r", false), "a\n\tb\\r");
  EXPECT_EQ(safe_terminal_text("\x1b[1;31merror\x1b[0m", true), "\x1b[1;31merror\x1b[0m");
  EXPECT_EQ(safe_terminal_text("\x1b[1;31merror\x1b[0m", false), "\\x1b[1;31merror\\x1b[0m");
  // Not colour: clear screen, a title-setting OSC, a cursor move.
  EXPECT_EQ(safe_terminal_text("\x1b[2J\x1b]0;pwned\x07\x1b[H", true),
            "\\x1b[2J\\x1b]0;pwned\\x07\\x1b[H");
  EXPECT_EQ(safe_terminal_text("\xff\n", true), "\\xff\n");
}

TEST(SafeText, SafeLinesKeepsLineBreaksAndEscapesTheRestOfEachLine) {
  EXPECT_EQ(safe_lines("error\n\nhelp: `x`"), "error\n\nhelp: `x`");
  EXPECT_EQ(safe_lines("a\x1b[2Jb\nc\rd\n"), "a\\x1b[2Jb\nc\\rd\n");
  EXPECT_EQ(safe_lines("\xff"), "\\xff");
  EXPECT_EQ(safe_lines(""), "");
}

} // namespace
} // namespace ca
