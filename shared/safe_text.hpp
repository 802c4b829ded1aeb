// Making any bytes safe to show: in a protobuf `string` field (which must be UTF-8), in one line
// of the daemon's log, and on a terminal.
//
// File names and input lines are bytes chosen by whoever wrote them. A name that is not UTF-8 made
// every Admin.Status answer undecodable; a newline followed by a fake log prefix forged a line of
// the daemon's log; an ESC sequence would drive the user's terminal. Every path or piece of input
// that reaches one of those places goes through these functions at the boundary.
//
// The rules:
// - valid, printable UTF-8 passes unchanged;
// - a byte that is not part of valid UTF-8 (bad lead or continuation byte, overlong form,
//   surrogate, beyond U+10FFFF, cut sequence) becomes `\xNN` (lowercase hex);
// - the control characters `\n`, `\r`, `\t` become those two-character escapes, the other C0
//   controls and DEL become `\xNN` (ESC is `\x1b`), the C1 controls (U+0080-U+009F) and the
//   characters that reorder or break a displayed line (U+061C, U+200E, U+200F, U+2028, U+2029,
//   U+202A-U+202E, U+2066-U+2069) become `\u{NNNN}`.
// A backslash is not escaped: the result is idempotent (safe text passes unchanged), so every
// boundary may apply it without doubling escapes. It is for reading, not for getting the bytes
// back: where a path must round-trip (the watcher's stored read positions) the raw bytes are kept.
#pragma once

#include <string>
#include <string_view>

namespace ca {

// `bytes` as one safe line: valid UTF-8 with no control character at all.
std::string safe_text(std::string_view bytes);

// Appends safe_text(bytes) to `out`.
void append_safe_text(std::string& out, std::string_view bytes);

// `bytes` made safe line by line: safe_text() of each line, the lines kept apart by `\n`. For
// messages of several lines (cargo's `help:` lines under an error) whose every line is shown;
// a `\r` or other control character is still escaped.
std::string safe_lines(std::string_view bytes);

// For output to a terminal: the same, but `\t` (and, when `keep_newlines`, `\n`) are kept as
// they are, and, when `keep_colour`, so are SGR colour sequences (`ESC [ <digits and ;> m`),
// which the renderers write themselves; any other escape sequence is escaped.
std::string safe_terminal_text(std::string_view text, bool keep_colour, bool keep_newlines = true);

// Whether safe_text(bytes) == bytes (no allocation).
bool is_safe_text(std::string_view bytes);

} // namespace ca
