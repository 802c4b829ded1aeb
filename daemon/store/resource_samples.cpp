#include "daemon/store/resource_samples.hpp"

#include "daemon/store/run_reader.hpp"

#include <algorithm>
#include <cmath>

namespace ca::store {

namespace {

constexpr uint8_t k_version = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Reads one varint at `at`; false when the blob ends inside it.
bool get_varint(std::string_view blob, size_t& at, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (at >= blob.size()) {
      return false;
    }
    auto byte = static_cast<uint8_t>(blob[at++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

} // namespace

std::string encode_resource_samples(std::span<const ResourceSample> samples) {
  std::string out;
  out.reserve(16 + 6 * samples.size());
  out.push_back(static_cast<char>(k_version));
  put_varint(out, samples.size());
  if (samples.empty()) {
    return out;
  }
  put_varint(out, zigzag(samples.front().unix_ms));
  put_varint(out, samples.back().mem_total_kib);
  int64_t prev_ms = samples.front().unix_ms;
  int64_t prev_mem = 0;
  for (const ResourceSample& s : samples) {
    put_varint(out, static_cast<uint64_t>(std::max<int64_t>(s.unix_ms - prev_ms, 0)));
    prev_ms = std::max(prev_ms, s.unix_ms);
    double tenths = std::clamp(std::round(s.cpu_percent * 10), 0.0, 1000.0);
    put_varint(out, static_cast<uint64_t>(tenths));
    auto mem = static_cast<int64_t>(s.mem_used_kib);
    put_varint(out, zigzag(mem - prev_mem));
    prev_mem = mem;
  }
  return out;
}

Result<void> decode_resource_samples(std::string_view blob,
                                     const std::string& what,
                                     std::vector<ResourceSample>& out) {
  auto bad = [&what](const char* why) {
    return unexpected(ErrorCode::database, what + ": " + why);
  };
  if (blob.empty() || static_cast<uint8_t>(blob[0]) != k_version) {
    return bad("unknown sample encoding");
  }
  size_t at = 1;
  uint64_t count = 0;
  if (!get_varint(blob, at, count)) {
    return bad("truncated sample chunk");
  }
  if (count == 0) {
    return {};
  }
  if (count > blob.size()) { // every sample takes at least 3 bytes
    return bad("sample count beyond the chunk's size");
  }
  uint64_t first = 0;
  uint64_t total = 0;
  if (!get_varint(blob, at, first) || !get_varint(blob, at, total)) {
    return bad("truncated sample chunk");
  }
  int64_t ms = unzigzag(first);
  int64_t mem = 0;
  out.reserve(out.size() + count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t dt = 0;
    uint64_t cpu = 0;
    uint64_t dmem = 0;
    if (!get_varint(blob, at, dt) || !get_varint(blob, at, cpu) || !get_varint(blob, at, dmem)) {
      return bad("truncated sample chunk");
    }
    ms += static_cast<int64_t>(dt);
    mem += unzigzag(dmem);
    ResourceSample s;
    s.unix_ms = ms;
    s.cpu_percent = static_cast<double>(std::min<uint64_t>(cpu, 1000)) / 10.0;
    s.mem_used_kib = static_cast<uint64_t>(std::max<int64_t>(mem, 0));
    s.mem_total_kib = total;
    out.push_back(s);
  }
  return {};
}

Result<int> append_resource_samples(Database& db,
                                    const std::string& run_id,
                                    std::span<const ResourceSample> samples) {
  if (samples.empty()) {
    return 0;
  }
  CA_TRY_ASSIGN(
      Statement * s,
      db.prepare_cached("INSERT INTO run_samples(run, chunk, data) "
                        "SELECT r.id, COALESCE((SELECT MAX(c.chunk) + 1 FROM run_samples c "
                        "WHERE c.run = r.id), 0), ?2 FROM runs r WHERE r.run_id = ?1"));
  std::string blob = encode_resource_samples(samples);
  auto g = s->bind(run_id, Blob{blob});
  CA_TRY(s->run());
  return s->changes();
}

Result<std::vector<ResourceSample>> RunReader::resource_samples(const std::string& run_id) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached("SELECT c.chunk, c.data FROM run_samples c "
                                                    "JOIN runs r ON r.id = c.run "
                                                    "WHERE r.run_id = ?1 ORDER BY c.chunk"));
  auto g = s->bind(run_id);
  std::vector<ResourceSample> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    CA_TRY(decode_resource_samples(
        s->column_blob_view(1),
        "samples of run " + run_id + " chunk " + std::to_string(s->column_int(0)), out));
  }
  return out;
}

} // namespace ca::store
