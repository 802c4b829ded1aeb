// libFuzzer target: the NDJSON line framer every line source shares (socket, log watcher).
//
// The input is split into chunks at points the fuzzer chooses (the first bytes say where), as
// reads from a socket would split it. Whatever the split, the framer must hand out the same
// lines, never one longer than its limit, with line numbers that count every newline.
#include "daemon/ingest/line_framer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Framed {
  std::vector<std::pair<std::string, uint64_t>> lines;
  std::vector<uint64_t> oversize_lines;
};

constexpr size_t k_max_line = 64; // small, so that inputs cross it often

Framed frame(std::string_view data, std::string_view cuts) {
  ca::ingest::LineFramer framer(k_max_line);
  Framed out;
  auto on_line = [&](std::string_view line, uint64_t no) {
    if (line.size() > k_max_line || line.find('\n') != std::string_view::npos) {
      std::abort();
    }
    out.lines.emplace_back(std::string(line), no);
  };
  auto on_oversize = [&](uint64_t no, uint64_t bytes) {
    if (bytes <= k_max_line) {
      std::abort();
    }
    if (out.oversize_lines.empty() || out.oversize_lines.back() != no) {
      out.oversize_lines.push_back(no);
    }
  };
  size_t at = 0;
  for (unsigned char c : cuts) {
    size_t n = std::min<size_t>(c, data.size() - at);
    framer.feed(data.substr(at, n), on_line, on_oversize);
    at += n;
  }
  framer.feed(data.substr(at), on_line, on_oversize);
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) {
    return 0;
  }
  size_t n_cuts = std::min<size_t>(bytes[0] % 16, size - 1);
  std::string_view cuts(reinterpret_cast<const char*>(bytes) + 1, n_cuts);
  std::string_view data(reinterpret_cast<const char*>(bytes) + 1 + n_cuts, size - 1 - n_cuts);
  Framed chunked = frame(data, cuts);
  Framed whole = frame(data, {});
  if (chunked.lines != whole.lines || chunked.oversize_lines != whole.oversize_lines) {
    std::abort(); // the split must not matter
  }
  // Line numbers rise, and every complete line within the limit is handed out.
  uint64_t newlines = static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
  uint64_t last = 0;
  for (const auto& [line, no] : whole.lines) {
    if (no <= last || no > newlines) {
      std::abort();
    }
    last = no;
  }
  if (whole.lines.size() + whole.oversize_lines.size() < newlines && whole.oversize_lines.empty()) {
    std::abort(); // lines went missing without being over the limit
  }
  return 0;
}
