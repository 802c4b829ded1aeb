#include "daemon/store/trend_index.hpp"

#include <charconv>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ca::store {

namespace v1 = cargo_analysis::v1;

namespace {

constexpr char k_sep = '\x1f';

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += item;
    out += '\x1e';
  }
  return out;
}

// The input a stale item names (the one a report shows), without sizes, mtimes or checksums.
std::string stale_item_subject(const v1::StaleItem& item) {
  const std::string& kind = item.stale_item();
  if (kind == "changed-file") {
    return item.stale();
  }
  if (kind == "changed-checksum") {
    return item.source();
  }
  if (kind == "changed-env") {
    return item.var();
  }
  return item.path();
}

std::vector<uint32_t> parse_indices(std::string_view text) {
  std::vector<uint32_t> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec == std::errc() && end == part.data() + part.size()) {
      out.push_back(value);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace

std::string rebuild_cause_key(const v1::DirtyReason& reason) {
  std::string key = reason.dirty_reason();
  auto add = [&](std::string_view part) {
    key += k_sep;
    key += part;
  };
  switch (reason.detail_case()) {
  case v1::DirtyReason::kStringChange:
    add(reason.string_change().old());
    add(reason.string_change().new_());
    break;
  case v1::DirtyReason::kListChange:
    // Rustflags are the change itself; rerun-if-changed paths are reported as counts only.
    if (reason.dirty_reason() != "rerun-if-changed-output-paths-changed") {
      add(join(reason.list_change().old()));
      add(join(reason.list_change().new_()));
    }
    break;
  case v1::DirtyReason::kCountChange:
    add(std::to_string(reason.count_change().old()));
    add(std::to_string(reason.count_change().new_()));
    break;
  case v1::DirtyReason::kEnvVar:
    add(reason.env_var().name());
    break;
  case v1::DirtyReason::kFsStatus: {
    const v1::FsStatus& status = reason.fs_status();
    add(status.fs_status());
    if (status.fs_status() == "stale-item") {
      add(status.stale_item().stale_item());
      add(stale_item_subject(status.stale_item()));
    }
    break;
  }
  case v1::DirtyReason::kUnit: // an index: means nothing in another run
  case v1::DirtyReason::DETAIL_NOT_SET:
    break;
  }
  return key;
}

Result<void> refresh_root_rebuilds(Database& db, int64_t run) {
  struct Row {
    uint32_t index = 0;
    std::vector<uint32_t> dependencies;
    std::string fingerprint;
    std::optional<std::string> cause; // the DirtyReason blob
    bool root = false;
    std::optional<std::string> key;
  };
  std::vector<Row> rows;
  {
    CA_TRY_ASSIGN(Statement * s,
                  db.prepare_cached("SELECT idx, dependencies, COALESCE(fingerprint, ''), cause, "
                                    "root, cause_key FROM units WHERE run = ?1"));
    auto g = s->bind(run);
    for (;;) {
      CA_TRY_ASSIGN(bool more, s->step());
      if (!more) {
        break;
      }
      Row& r = rows.emplace_back();
      r.index = static_cast<uint32_t>(s->column_int(0));
      r.dependencies = parse_indices(s->column_text_view(1));
      r.fingerprint = s->column_text(2);
      if (!s->column_is_null(3)) {
        r.cause = s->column_text(3);
      }
      r.root = s->column_int(4) != 0;
      if (!s->column_is_null(5)) {
        r.key = s->column_text(5);
      }
    }
  }

  std::unordered_set<uint32_t> rebuilt;
  for (const Row& r : rows) {
    if (r.fingerprint == "new" || r.fingerprint == "dirty") {
      rebuilt.insert(r.index);
    }
  }
  CA_TRY_ASSIGN(Statement * update,
                db.prepare_cached("UPDATE unit_rows SET root = ?3, cause_key = ?4 "
                                  "WHERE run = ?1 AND idx = ?2"));
  for (const Row& r : rows) {
    bool root = rebuilt.count(r.index) != 0;
    for (uint32_t dep : r.dependencies) {
      root = root && rebuilt.count(dep) == 0;
    }
    std::optional<std::string> key;
    if (root && r.fingerprint == "new") {
      key = "fresh-build";
    } else if (root) {
      v1::DirtyReason reason;
      if (r.cause && reason.ParseFromString(*r.cause)) {
        key = rebuild_cause_key(reason);
      } else {
        key = std::string(); // dirty without a readable cause: counted, with no detail
      }
    }
    if (root == r.root && key == r.key) {
      continue;
    }
    auto g = update->bind(run, r.index, root ? 1 : 0, key);
    CA_TRY(update->run());
  }
  return {};
}

Result<void> record_unit_build(Database& db, int64_t run, uint32_t index) {
  CA_TRY_ASSIGN(
      Statement * s,
      db.prepare_cached(
          "INSERT INTO unit_trends(workspace_root, name, target_name, target_kind, mode, "
          "package_id, version, builds, total_secs, max_secs, last_run) "
          "SELECT COALESCE(r.workspace_root, ''), u.name, u.target_name, u.target_kind, u.mode, "
          "u.package_id, u.version, 1, u.finish - u.start, u.finish - u.start, u.run "
          "FROM units u JOIN runs r ON r.id = u.run "
          "WHERE u.run = ?1 AND u.idx = ?2 AND u.start IS NOT NULL AND u.finish IS NOT NULL "
          "ON CONFLICT(workspace_root, name, target_name, target_kind, mode) DO UPDATE SET "
          "builds = builds + 1, total_secs = total_secs + excluded.total_secs, "
          "max_secs = MAX(max_secs, excluded.max_secs), "
          "package_id = CASE WHEN excluded.last_run >= last_run THEN excluded.package_id "
          "ELSE package_id END, "
          "version = CASE WHEN excluded.last_run >= last_run THEN excluded.version "
          "ELSE version END, "
          "last_run = MAX(last_run, excluded.last_run)"));
  auto g = s->bind(run, index);
  return s->run();
}

Result<void> record_unit_build(Database& db, const UnitBuild& u) {
  CA_TRY_ASSIGN(
      Statement * s,
      db.prepare_cached(
          "INSERT INTO unit_trends(workspace_root, name, target_name, target_kind, mode, "
          "package_id, version, builds, total_secs, max_secs, last_run) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8, ?9) "
          "ON CONFLICT(workspace_root, name, target_name, target_kind, mode) DO UPDATE SET "
          "builds = builds + 1, total_secs = total_secs + excluded.total_secs, "
          "max_secs = MAX(max_secs, excluded.max_secs), "
          "package_id = CASE WHEN excluded.last_run >= last_run THEN excluded.package_id "
          "ELSE package_id END, "
          "version = CASE WHEN excluded.last_run >= last_run THEN excluded.version "
          "ELSE version END, "
          "last_run = MAX(last_run, excluded.last_run)"));
  auto g = s->bind(u.workspace_root, u.name, u.target_name, u.target_kind, u.mode, u.package_id,
                   u.version, u.secs, u.run);
  return s->run();
}

} // namespace ca::store
