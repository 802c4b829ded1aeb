// CPU and memory samples of the machine, taken by the daemon while a run is in progress (see
// daemon/server/resource_sampler.hpp), stored with the run.
//
// Storage. A run of a minute has ~600 samples (one per 100 ms, cargo's rate). A row per sample
// would cost more in keys than in values, so samples are stored in chunks, one row per flush
// (`run_samples(run, chunk, data)`, schema 6), each chunk a self-contained blob of varints:
//   version (1), count, first unix ms (zigzag), MemTotal KiB,
//   then per sample: ms since the previous sample, CPU busy in tenths of a percent (0..1000),
//   memory used in KiB as a zigzag delta from the previous sample (the first from 0).
// A sample is 4-6 bytes; a build minute ~3 KB. Chunks are appended, never rewritten.
#pragma once

#include "daemon/store/database.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ca::store {

struct ResourceSample {
  int64_t unix_ms = 0;        // when it was taken (wall clock)
  double cpu_percent = 0;     // machine CPU busy since the previous sample, 0..100 (cargo's)
  uint64_t mem_used_kib = 0;  // MemTotal - MemAvailable
  uint64_t mem_total_kib = 0; // MemTotal
};

// One chunk's blob. CPU is kept to 0.1 %, time to the millisecond (clamped to be monotonic).
std::string encode_resource_samples(std::span<const ResourceSample> samples);

// Appends the samples of a blob made by encode_resource_samples() to `out`. Returns a database
// error naming `what` if the blob is truncated or of an unknown version.
Result<void> decode_resource_samples(std::string_view blob,
                                     const std::string& what,
                                     std::vector<ResourceSample>& out);

// Appends one chunk to the stored run `run_id` (on the writer's connection). Returns how many
// chunks were stored: 0 when no such run is stored (the samples are dropped), or a database error.
Result<int> append_resource_samples(Database& db,
                                    const std::string& run_id,
                                    std::span<const ResourceSample> samples);

} // namespace ca::store
