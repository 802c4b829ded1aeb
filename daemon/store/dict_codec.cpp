#include "daemon/store/dict_codec.hpp"

#include "daemon/store/raw_log.hpp"

#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace ca::store {

namespace {

// A frame made with a dictionary may refer back into all of it: the window must cover the
// dictionary and the data (zstd's level-1 default, 256-512 KiB, would not reach the start of a
// large dictionary). 16 MiB bounds what a reader must allow; zstd decodes up to 128 MiB windows.
constexpr int k_max_window_log = 24;
// The newest dictionaries of a scope tried before a new one is made: a workspace that alternates
// between two kinds of build (`check` and `build --release`) keeps one for each.
constexpr int k_dicts_tried = 3;
// A result this small against the raw bytes is good enough without comparing it with the plain
// frame (plain zstd keeps ~1/10 of cargo's JSONL).
constexpr size_t k_good_enough_divisor = 20;
// Dictionaries kept in a connection's cache before it is cleared.
constexpr size_t k_max_cached_dicts = 16;

int window_log_for(size_t bytes) {
  int log = 10;
  while (log < k_max_window_log && (size_t{1} << log) < bytes) {
    ++log;
  }
  return log;
}

struct Cctx {
  Cctx() : c(ZSTD_createCCtx()) {}
  ~Cctx() { ZSTD_freeCCtx(c); }
  Cctx(const Cctx&) = delete;
  Cctx& operator=(const Cctx&) = delete;
  ZSTD_CCtx* c;
};

std::string compress_with(std::string_view bytes, std::string_view dict, int level) {
  thread_local Cctx cctx;
  ZSTD_CCtx_reset(cctx.c, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_windowLog, window_log_for(dict.size() + bytes.size()));
  ZSTD_CCtx_refPrefix(cctx.c, dict.data(), dict.size());
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  size_t n = ZSTD_compress2(cctx.c, out.data(), out.size(), bytes.data(), bytes.size());
  // Only a too-small destination or a bad parameter fail, and neither can happen here.
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

// The content of dictionary `id`, read once per connection.
Result<const std::string*> dictionary(Database& db, int64_t id) {
  auto& cache = db.dictionary_cache();
  if (auto it = cache.find(id); it != cache.end()) {
    return &it->second;
  }
  CA_TRY_ASSIGN(Statement * s, db.prepare_cached("SELECT body FROM zstd_dicts WHERE id = ?1"));
  auto g = s->bind(id);
  CA_TRY_ASSIGN(bool row, s->step());
  if (!row) {
    return unexpected(ErrorCode::database, "compression dictionary " + std::to_string(id) +
                                               " is missing (corrupt database)");
  }
  CA_TRY_ASSIGN(std::string body, zstd_decompress(s->column_blob_view(0),
                                                  "compression dictionary " + std::to_string(id)));
  if (cache.size() >= k_max_cached_dicts) {
    cache.clear();
  }
  return &cache.emplace(id, std::move(body)).first->second;
}

Result<std::vector<int64_t>> newest_dicts(Database& db, std::string_view scope) {
  CA_TRY_ASSIGN(Statement * s, db.prepare_cached("SELECT id FROM zstd_dicts WHERE scope = ?1 "
                                                 "ORDER BY id DESC LIMIT ?2"));
  auto g = s->bind(scope, k_dicts_tried);
  std::vector<int64_t> ids;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    ids.push_back(s->column_int(0));
  }
  return ids;
}

// Stores `content` as a dictionary of `scope`; returns its id and the cached copy (compress
// against the copy: zstd ignores a dictionary that overlaps the input in memory).
Result<std::pair<int64_t, const std::string*>>
insert_dict(Database& db, std::string_view scope, std::string_view content) {
  CA_TRY_ASSIGN(Statement * s, db.prepare_cached("INSERT INTO zstd_dicts(scope, created_ms, body) "
                                                 "VALUES (?1, ?2, ?3)"));
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string body = zstd_compress(content, 3);
  {
    auto g = s->bind(scope, now, Blob{body});
    CA_TRY(s->run());
  }
  const int64_t id = db.last_insert_rowid();
  auto& cache = db.dictionary_cache();
  if (cache.size() >= k_max_cached_dicts) {
    cache.clear();
  }
  const std::string* copy = &cache.insert_or_assign(id, std::string(content)).first->second;
  return std::make_pair(id, copy);
}

} // namespace

std::string raw_scope(std::string_view workspace_root) {
  return "raw " + std::string(workspace_root);
}

std::string report_scope(int kind, std::string_view workspace_root) {
  return "report" + std::to_string(kind) + " " + std::string(workspace_root);
}

Result<Packed> pack(Database& db, std::string_view scope, std::string_view bytes, int level) {
  CA_TRY_ASSIGN(std::vector<int64_t> ids, newest_dicts(db, scope));
  std::optional<Packed> best;
  std::optional<size_t> plain_size;
  for (int64_t id : ids) {
    CA_TRY_ASSIGN(const std::string* dict, dictionary(db, id));
    Packed p{id, compress_with(bytes, *dict, level)};
    if (p.data.empty()) {
      continue;
    }
    if (!best || p.data.size() < best->data.size()) {
      best = std::move(p);
    }
    if (best->data.size() * k_good_enough_divisor <= bytes.size()) {
      return std::move(*best);
    }
    if (!plain_size) {
      plain_size = zstd_compress(bytes, level).size();
    }
    if (best->data.size() * 2 <= *plain_size) {
      return std::move(*best);
    }
  }
  if (bytes.size() >= k_min_dict_source) {
    // No dictionary of this scope saves half: these bytes become its newest.
    CA_TRY_ASSIGN(auto dict, insert_dict(db, scope, bytes.substr(0, k_max_dict_bytes)));
    return Packed{dict.first, compress_with(bytes, *dict.second, level)};
  }
  Packed plain{0, zstd_compress(bytes, level)};
  if (best && best->data.size() < plain.data.size()) {
    return std::move(*best);
  }
  return plain;
}

Result<std::string>
unpack(Database& db, int64_t dict, std::string_view frame, std::string_view what) {
  if (dict == 0) {
    return zstd_decompress(frame, what);
  }
  CA_TRY_ASSIGN(const std::string* content, dictionary(db, dict));
  return zstd_decompress(frame, what, *content);
}

Result<uint64_t> delete_unused_dicts(Database& db) {
  CA_TRY(db.exec("DELETE FROM zstd_dicts WHERE id NOT IN (SELECT MAX(id) FROM zstd_dicts "
                 "GROUP BY scope) "
                 "AND NOT EXISTS (SELECT 1 FROM raw_blocks b WHERE b.dict = zstd_dicts.id) "
                 "AND NOT EXISTS (SELECT 1 FROM run_reports p WHERE p.dict = zstd_dicts.id)"));
  db.dictionary_cache().clear();
  return static_cast<uint64_t>(sqlite3_changes(db.handle()));
}

} // namespace ca::store
