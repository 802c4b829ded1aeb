// zstd compression against a dictionary shared by the runs of one workspace.
//
// Two builds of one workspace log nearly the same lines: the same package ids, targets, features
// and fingerprint causes, in nearly the same order; and their stored reports list the same units.
// Compressed alone, each run's log still costs ~1/10 of its bytes (corpus C: 229 KB -> 22 KB), and
// its timings report ~20 KB: together about 1/3 of the JSONL the user's builds wrote. Compressed
// against an earlier run of the same workspace, a run costs only what changed.
//
// A dictionary is raw content (zstd's "prefix": the bytes of a block or report that was stored
// earlier), kept once in `zstd_dicts` under a scope (what it serves and which workspace, see
// raw_scope()/report_scope()). pack() compresses against the newest dictionary of its scope and
// keeps the plain frame when that is smaller; when the dictionary saves less than half of the
// plain size (a new workspace, or one that changed a lot) the bytes being stored become the
// scope's new dictionary. A stored frame names its dictionary (0: none), and unpack() reads it
// back through a per-connection cache. Dictionaries no longer named by any row are deleted by the
// garbage collection (delete_unused_dicts()); the newest of each scope is kept for the next run.
#pragma once

#include "daemon/store/database.hpp"
#include "shared/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ca::store {

// Content shorter than this is never made a dictionary: small appended blocks of a build in
// progress use the scope's dictionary if there is one, and make none.
inline constexpr size_t k_min_dict_source = 8 * 1024;
// A dictionary holds at most this much (the first bytes of its source).
inline constexpr size_t k_max_dict_bytes = 1u << 20;

struct Packed {
  int64_t dict = 0; // zstd_dicts.id, 0: a plain frame
  std::string data; // the zstd frame
};

std::string raw_scope(std::string_view workspace_root);
std::string report_scope(int kind, std::string_view workspace_root);

// Compresses `bytes` at `level` for a row of `scope` (see above). Writer thread only.
Result<Packed> pack(Database& db, std::string_view scope, std::string_view bytes, int level);

// The bytes of a frame stored with dictionary `dict` (0: none). `what` names the data in errors.
Result<std::string>
unpack(Database& db, int64_t dict, std::string_view frame, std::string_view what);

// Deletes every dictionary that no raw block or stored report names, except the newest of each
// scope. Returns how many were deleted.
Result<uint64_t> delete_unused_dicts(Database& db);

} // namespace ca::store
