// A run's verbatim log, kept once: an append-only sequence of zstd-compressed blocks per run
// (table `raw_blocks`), keyed by (run, position of the block's first line).
//
// Positions are the producer's line numbers within the run, from 1: a log file's line numbers
// (watcher, `ingest`), Publish's `seq`. A rejected line keeps its number and is not stored, so a
// block's positions may skip some; its `gaps` column then lists them (NULL when contiguous).
//
// Exactly-once is a per-run watermark on `runs`: `raw_last` (the highest position taken) and
// `raw_hash` (a rolling hash of the lines taken, in order). A line at or below the watermark is
// compared with the line stored at its position: the same bytes are a duplicate, other bytes a
// divergence (reported, never stored). See EventStore.
#pragma once

#include "daemon/store/database.hpp"
#include "shared/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ca::store {

// zstd levels for appends (on the writer thread) and for compacting a run's blocks into a few
// large ones once it ends. Measured on corpus C's 229 KB log: level 1 packs it 10.4x at 350 MB/s,
// level 6 11.3x at 74 MB/s: 8% of size is not worth 5x the writer's time.
inline constexpr int k_append_level = 1;
inline constexpr int k_compact_level = 1;
// A compacted block holds at most this many bytes of lines (a 230 KB log is one block).
inline constexpr size_t k_max_block_bytes = 4u << 20;

std::string zstd_compress(std::string_view bytes, int level);
// `what` names the data in errors ("run X block 17"); `dict`: the content the frame was
// compressed against, if any.
Result<std::string>
zstd_decompress(std::string_view frame, std::string_view what, std::string_view dict = {});

// A block's lines before compression.
struct RawBlock {
  std::vector<uint64_t> positions; // ascending
  std::string text;                // the lines, each followed by '\n'
  std::vector<uint32_t> ends;      // offset in `text` just past each line's '\n'

  void add(uint64_t position, std::string_view line);
  size_t size() const { return positions.size(); }
  bool empty() const { return positions.empty(); }
  std::string_view line(size_t i) const;
  bool contiguous() const;
};

// Rolling hash of the lines taken (64-bit FNV-1a over each line and its '\n').
uint64_t roll_hash(uint64_t hash, std::string_view line);
inline constexpr uint64_t k_roll_hash_seed = 14695981039346656037ULL;

// The encoded `gaps` column: every position of a non-contiguous block, as varint deltas.
std::string encode_positions(const std::vector<uint64_t>& positions);
Result<std::vector<uint64_t>> decode_positions(std::string_view bytes, uint64_t first);

// How insert_block() compresses: against the dictionary of the run's workspace
// (daemon/store/dict_codec.hpp), or alone (migration 4, older than the dictionaries).
enum class BlockCodec { workspace_dictionary, plain };

// Inserts `block` for run row `run` (compressed at `level`).
Result<void> insert_block(Database& db,
                          int64_t run,
                          const RawBlock& block,
                          int level,
                          BlockCodec codec = BlockCodec::workspace_dictionary);

// Every stored line of run row `run` in position order, decompressed into `out` (appended).
// Errors name the run and block.
Result<void> read_blocks(Database& db, int64_t run, RawBlock& out);

// Replaces the run's blocks by as few as fit k_max_block_bytes, compressed at k_compact_level.
// A run already in one block is left alone. Returns the number of blocks written.
Result<size_t> compact_blocks(Database& db, int64_t run);

} // namespace ca::store
