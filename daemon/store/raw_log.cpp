#include "daemon/store/raw_log.hpp"

#include "daemon/store/dict_codec.hpp"

#include <zstd.h>

#include <algorithm>

namespace ca::store {

namespace {

// One compression context and output buffer per thread, reused: a fresh ZSTD_compress() call
// allocates and clears its tables and a bound-sized buffer every time, which cost as much as
// compressing (page faults and memset in the writer's profile).
struct Compressor {
  Compressor() : cctx(ZSTD_createCCtx()) {}
  ~Compressor() { ZSTD_freeCCtx(cctx); }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  ZSTD_CCtx* cctx;
  std::string scratch;
};

} // namespace

std::string zstd_compress(std::string_view bytes, int level) {
  thread_local Compressor c;
  size_t bound = ZSTD_compressBound(bytes.size());
  if (c.scratch.size() < bound) {
    c.scratch.resize(bound);
  }
  size_t n = ZSTD_compressCCtx(c.cctx, c.scratch.data(), bound, bytes.data(), bytes.size(), level);
  // Only a too-small destination or a bad level fail, and neither can happen here.
  return std::string(c.scratch.data(), ZSTD_isError(n) ? 0 : n);
}

Result<std::string>
zstd_decompress(std::string_view frame, std::string_view what, std::string_view dict) {
  unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 32)) {
    return unexpected(ErrorCode::database,
                      std::string(what) + ": not a zstd frame of known size (corrupt block)");
  }
  thread_local struct Dctx {
    Dctx() : d(ZSTD_createDCtx()) {}
    ~Dctx() { ZSTD_freeDCtx(d); }
    ZSTD_DCtx* d;
  } dctx;
  std::string out(static_cast<size_t>(size), '\0');
  // A frame made against a dictionary (daemon/store/dict_codec.hpp) needs its content back.
  size_t n = dict.empty()
                 ? ZSTD_decompressDCtx(dctx.d, out.data(), out.size(), frame.data(), frame.size())
                 : ZSTD_decompress_usingDict(dctx.d, out.data(), out.size(), frame.data(),
                                             frame.size(), dict.data(), dict.size());
  if (ZSTD_isError(n) || n != out.size()) {
    return unexpected(ErrorCode::database,
                      std::string(what) + ": cannot decompress: " +
                          (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  }
  return out;
}

void RawBlock::add(uint64_t position, std::string_view line) {
  positions.push_back(position);
  text.append(line);
  text.push_back('\n');
  ends.push_back(static_cast<uint32_t>(text.size()));
}

std::string_view RawBlock::line(size_t i) const {
  size_t begin = i == 0 ? 0 : ends[i - 1];
  return std::string_view(text).substr(begin, ends[i] - 1 - begin);
}

bool RawBlock::contiguous() const {
  return positions.empty() || positions.back() - positions.front() + 1 == positions.size();
}

uint64_t roll_hash(uint64_t hash, std::string_view line) {
  for (unsigned char c : line) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  hash ^= '\n';
  hash *= 1099511628211ULL;
  return hash;
}

std::string encode_positions(const std::vector<uint64_t>& positions) {
  std::string out;
  uint64_t prev = positions.empty() ? 0 : positions.front();
  for (size_t i = 1; i < positions.size(); ++i) {
    uint64_t d = positions[i] - prev;
    prev = positions[i];
    while (d >= 0x80) {
      out.push_back(static_cast<char>((d & 0x7f) | 0x80));
      d >>= 7;
    }
    out.push_back(static_cast<char>(d));
  }
  return out;
}

Result<std::vector<uint64_t>> decode_positions(std::string_view bytes, uint64_t first) {
  std::vector<uint64_t> out{first};
  uint64_t d = 0;
  int shift = 0;
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    if (shift > 63) {
      return unexpected(ErrorCode::database, "corrupt line positions in a raw block");
    }
    d |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) != 0) {
      shift += 7;
      continue;
    }
    out.push_back(out.back() + d);
    d = 0;
    shift = 0;
  }
  if (shift != 0) {
    return unexpected(ErrorCode::database, "corrupt line positions in a raw block");
  }
  return out;
}

Result<void>
insert_block(Database& db, int64_t run, const RawBlock& block, int level, BlockCodec codec) {
  if (block.empty()) {
    return {};
  }
  Packed packed;
  if (codec == BlockCodec::workspace_dictionary) {
    CA_TRY_ASSIGN(Statement * ws, db.prepare_cached("SELECT COALESCE(workspace_root, '') "
                                                    "FROM runs WHERE id = ?1"));
    std::string scope;
    {
      auto g = ws->bind(run);
      CA_TRY_ASSIGN(bool row, ws->step());
      scope = raw_scope(row ? ws->column_text(0) : std::string_view());
    }
    CA_TRY_ASSIGN(packed, pack(db, scope, block.text, level));
  } else {
    packed.data = zstd_compress(block.text, level);
  }
  std::optional<std::string> gaps;
  if (!block.contiguous()) {
    gaps = encode_positions(block.positions);
  }
  // Migration 4 writes blocks before the `dict` column exists (migration 8), without one.
  Statement* s = nullptr;
  if (codec == BlockCodec::workspace_dictionary) {
    CA_TRY_ASSIGN(s, db.prepare_cached("INSERT INTO raw_blocks(run, first_line, last_line, lines, "
                                       "raw_bytes, gaps, data, dict) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  } else {
    CA_TRY_ASSIGN(s, db.prepare_cached("INSERT INTO raw_blocks(run, first_line, last_line, lines, "
                                       "raw_bytes, gaps, data) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  }
  std::optional<Blob> gaps_blob;
  if (gaps) {
    gaps_blob = Blob{*gaps};
  }
  const uint64_t lines = block.size();
  const uint64_t raw_bytes = block.text.size();
  if (codec == BlockCodec::workspace_dictionary) {
    auto g = s->bind(run, block.positions.front(), block.positions.back(), lines, raw_bytes,
                     gaps_blob, Blob{packed.data}, packed.dict);
    return s->run();
  }
  auto g = s->bind(run, block.positions.front(), block.positions.back(), lines, raw_bytes,
                   gaps_blob, Blob{packed.data});
  return s->run();
}

namespace {

// Appends one stored block's lines to `out`.
Result<void> unpack_block(Database& db,
                          int64_t run,
                          int64_t dict,
                          uint64_t first,
                          uint64_t lines,
                          std::optional<std::string_view> gaps,
                          std::string_view data,
                          RawBlock& out) {
  const std::string what =
      "raw block at line " + std::to_string(first) + " of run row " + std::to_string(run);
  CA_TRY_ASSIGN(std::string text, unpack(db, dict, data, what));
  std::vector<uint64_t> positions;
  if (gaps) {
    CA_TRY_ASSIGN(positions, decode_positions(*gaps, first));
  }
  size_t begin = 0;
  size_t i = 0;
  while (begin < text.size()) {
    size_t nl = text.find('\n', begin);
    if (nl == std::string::npos) {
      return unexpected(ErrorCode::database, what + ": last line has no newline (corrupt block)");
    }
    uint64_t pos = gaps ? (i < positions.size() ? positions[i] : 0) : first + i;
    out.add(pos, std::string_view(text).substr(begin, nl - begin));
    begin = nl + 1;
    ++i;
  }
  if (i != lines || (gaps && positions.size() != lines)) {
    return unexpected(ErrorCode::database, what + ": holds " + std::to_string(i) +
                                               " lines, the index says " + std::to_string(lines));
  }
  return {};
}

} // namespace

Result<void> read_blocks(Database& db, int64_t run, RawBlock& out) {
  CA_TRY_ASSIGN(Statement * s, db.prepare_cached("SELECT first_line, lines, gaps, data, dict FROM "
                                                 "raw_blocks WHERE run = ?1 ORDER BY first_line"));
  auto g = s->bind(run);
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    std::optional<std::string_view> gaps;
    if (!s->column_is_null(2)) {
      gaps = s->column_blob_view(2);
    }
    CA_TRY(unpack_block(db, run, s->column_int(4), static_cast<uint64_t>(s->column_int(0)),
                        static_cast<uint64_t>(s->column_int(1)), gaps, s->column_blob_view(3),
                        out));
  }
  return {};
}

Result<size_t> compact_blocks(Database& db, int64_t run) {
  CA_TRY_ASSIGN(Statement * n, db.prepare_cached("SELECT COUNT(*) FROM raw_blocks WHERE run = ?1"));
  {
    auto g = n->bind(run);
    CA_TRY_ASSIGN(bool row, n->step());
    if (!row || n->column_int(0) <= 1) {
      return size_t{0};
    }
  }
  RawBlock all;
  CA_TRY(read_blocks(db, run, all));
  CA_TRY_ASSIGN(Statement * del, db.prepare_cached("DELETE FROM raw_blocks WHERE run = ?1"));
  {
    auto g = del->bind(run);
    CA_TRY(del->run());
  }
  size_t written = 0;
  RawBlock block;
  for (size_t i = 0; i < all.size(); ++i) {
    std::string_view line = all.line(i);
    if (!block.empty() && block.text.size() + line.size() + 1 > k_max_block_bytes) {
      CA_TRY(insert_block(db, run, block, k_compact_level));
      ++written;
      block = RawBlock{};
    }
    block.add(all.positions[i], line);
  }
  CA_TRY(insert_block(db, run, block, k_compact_level));
  return written + (block.empty() ? 0 : 1);
}

} // namespace ca::store
