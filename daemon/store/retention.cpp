#include "daemon/store/retention.hpp"

#include "daemon/store/dict_codec.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ca::store {
namespace {

struct SessionRow {
  std::string id;
  int64_t newest_start_ms = 0;
  uint64_t runs = 0;
  uint64_t events = 0;
  uint64_t bytes = 0; // what its rows hold: compressed raw logs, stored reports, unit rows
  bool in_progress = false;
};

// Every session, newest first (ties broken by id, so the order is stable).
Result<std::vector<SessionRow>> list_sessions(Database& db) {
  CA_TRY_ASSIGN(Statement * s,
                db.prepare_cached(
                    "SELECT session_id, MAX(start_unix_ms), COUNT(*), SUM(events), "
                    "MAX(state = 'in_progress'), SUM(units_total * 48 + 256 + "
                    "COALESCE((SELECT SUM(length(data)) FROM raw_blocks b WHERE b.run = r.id), 0) "
                    "+ COALESCE((SELECT SUM(length(body)) FROM run_reports p WHERE p.run = r.id), "
                    "0)) FROM runs r GROUP BY session_id ORDER BY 2 DESC, 1 DESC"));
  auto g = s->bind();
  std::vector<SessionRow> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    SessionRow& r = out.emplace_back();
    r.id = s->column_text(0);
    r.newest_start_ms = s->column_int(1);
    r.runs = static_cast<uint64_t>(s->column_int(2));
    r.events = static_cast<uint64_t>(s->column_int(3));
    r.in_progress = s->column_int(4) != 0;
    r.bytes = static_cast<uint64_t>(s->column_int(5));
  }
  return out;
}

struct PageCounts {
  int64_t pages = 0;
  int64_t free = 0;
  int64_t page_size = 0;
  int64_t trees = 0; // tables and indexes: an empty database holds a page of each
  uint64_t bytes_in_use() const { return static_cast<uint64_t>((pages - free) * page_size); }
  uint64_t bytes_fixed() const { return static_cast<uint64_t>((trees + 1) * page_size); }
};

Result<PageCounts> page_counts(Database& db) {
  PageCounts c;
  CA_TRY_ASSIGN(c.pages, db.query_int("PRAGMA page_count"));
  CA_TRY_ASSIGN(c.free, db.query_int("PRAGMA freelist_count"));
  CA_TRY_ASSIGN(c.page_size, db.query_int("PRAGMA page_size"));
  CA_TRY_ASSIGN(c.trees, db.query_int("SELECT COUNT(*) FROM sqlite_master WHERE rootpage > 0"));
  return c;
}

int64_t now_unix_ms(const RetentionPolicy& policy) {
  if (policy.now_unix_ms != 0) {
    return policy.now_unix_ms;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Plan {
  std::vector<bool> doomed; // per session of the list
  uint64_t sessions = 0, runs = 0, events = 0;
  double bytes_freed_estimate = 0;
};

// Decides which sessions go (see the header for the three passes).
Plan plan(const std::vector<SessionRow>& sessions,
          const RetentionPolicy& policy,
          uint64_t bytes_in_use,
          uint64_t bytes_fixed) {
  Plan p;
  p.doomed.assign(sessions.size(), false);
  const int64_t oldest_kept_ms = now_unix_ms(policy) - policy.max_age.count();
  for (size_t i = 0; i < sessions.size(); ++i) {
    const SessionRow& s = sessions[i];
    if (s.in_progress) {
      continue;
    }
    bool too_old = policy.max_age.count() > 0 && s.newest_start_ms < oldest_kept_ms;
    bool too_many = policy.max_sessions > 0 && i >= policy.max_sessions;
    p.doomed[i] = too_old || too_many;
  }

  // Each session frees its share of the pages in use beyond those of an empty database, in
  // proportion to the bytes its rows hold.
  double weight_total = 0;
  for (const SessionRow& s : sessions) {
    weight_total += static_cast<double>(s.bytes);
  }
  const double shared =
      static_cast<double>(bytes_in_use > bytes_fixed ? bytes_in_use - bytes_fixed : 0);
  auto share = [&](const SessionRow& s) {
    return weight_total == 0 ? 0.0 : shared * static_cast<double>(s.bytes) / weight_total;
  };
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (p.doomed[i]) {
      p.bytes_freed_estimate += share(sessions[i]);
    }
  }
  if (policy.max_bytes > 0) {
    for (size_t i = sessions.size(); i-- > 0;) {
      if (static_cast<double>(bytes_in_use) - p.bytes_freed_estimate <=
          static_cast<double>(policy.max_bytes)) {
        break;
      }
      if (p.doomed[i] || sessions[i].in_progress) {
        continue;
      }
      p.doomed[i] = true;
      p.bytes_freed_estimate += share(sessions[i]);
    }
  }

  for (size_t i = 0; i < sessions.size(); ++i) {
    if (p.doomed[i]) {
      ++p.sessions;
      p.runs += sessions[i].runs;
      p.events += sessions[i].events;
    }
  }
  return p;
}

// Runs one statement with no parameters and returns how many rows it changed.
Result<uint64_t> run_counting(Database& db, std::string_view sql) {
  CA_TRY_ASSIGN(Statement * s, db.prepare_cached(sql));
  auto g = s->bind();
  CA_TRY(s->run());
  return static_cast<uint64_t>(s->changes());
}

// Deletes the doomed sessions inside the caller's transaction. The runs' ids and the unit
// identities whose `unit_trends` totals they contributed to go to temporary tables first.
Result<void> delete_sessions(Database& db,
                             const std::vector<SessionRow>& sessions,
                             const Plan& p,
                             GcOutcome& out) {
  CA_TRY(db.exec("CREATE TEMP TABLE IF NOT EXISTS gc_sessions(session_id TEXT PRIMARY KEY);"
                 "CREATE TEMP TABLE IF NOT EXISTS gc_runs(id INTEGER PRIMARY KEY);"
                 "CREATE TEMP TABLE IF NOT EXISTS gc_trend_keys(workspace_root TEXT, name TEXT, "
                 "target_name TEXT, target_kind TEXT, mode TEXT, PRIMARY KEY (workspace_root, "
                 "name, target_name, target_kind, mode));"
                 "DELETE FROM temp.gc_sessions; DELETE FROM temp.gc_runs; "
                 "DELETE FROM temp.gc_trend_keys;"));
  CA_TRY_ASSIGN(Statement * add, db.prepare_cached("INSERT INTO temp.gc_sessions VALUES (?1)"));
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (p.doomed[i]) {
      auto g = add->bind(sessions[i].id);
      CA_TRY(add->run());
    }
  }
  CA_TRY(db.exec("INSERT INTO temp.gc_runs SELECT id FROM runs "
                 "WHERE session_id IN (SELECT session_id FROM temp.gc_sessions);"
                 "INSERT OR IGNORE INTO temp.gc_trend_keys "
                 "SELECT COALESCE(r.workspace_root, ''), u.name, u.target_name, u.target_kind, "
                 "u.mode FROM units u JOIN runs r ON r.id = u.run "
                 "WHERE u.run IN (SELECT id FROM temp.gc_runs) "
                 "AND u.start IS NOT NULL AND u.finish IS NOT NULL;"));

  CA_TRY_ASSIGN(int64_t events, db.query_int("SELECT COALESCE(SUM(events), 0) FROM runs "
                                             "WHERE id IN (SELECT id FROM temp.gc_runs)"));
  out.events_deleted += static_cast<uint64_t>(events);
  CA_TRY(run_counting(db, "DELETE FROM raw_blocks WHERE run IN (SELECT id FROM temp.gc_runs)"));
  CA_TRY(run_counting(db, "DELETE FROM unit_rows WHERE run IN (SELECT id FROM temp.gc_runs)"));
  // Unit identities no run refers to any more.
  CA_TRY(run_counting(db, "DELETE FROM unit_keys WHERE NOT EXISTS "
                          "(SELECT 1 FROM unit_rows r WHERE r.key = unit_keys.id)"));
  CA_TRY(run_counting(db, "DELETE FROM run_reports WHERE run IN (SELECT id FROM temp.gc_runs)"));
  CA_TRY_ASSIGN(uint64_t runs,
                run_counting(db, "DELETE FROM runs WHERE id IN (SELECT id FROM temp.gc_runs)"));
  // Dictionaries that only the deleted runs were compressed with.
  CA_TRY(delete_unused_dicts(db));
  out.runs_deleted += runs;
  out.sessions_deleted += p.sessions;

  // `unit_trends` holds running totals: recompute the touched ones from the units that remain,
  // as migration 2 built them (a unit no longer built anywhere loses its row).
  CA_TRY(db.exec(
      "DELETE FROM unit_trends WHERE (workspace_root, name, target_name, target_kind, mode) IN "
      "(SELECT * FROM temp.gc_trend_keys);"
      "INSERT INTO unit_trends "
      "SELECT k.workspace_root, k.name, k.target_name, k.target_kind, k.mode, u.package_id, "
      "u.version, COUNT(*), SUM(u.finish - u.start), MAX(u.finish - u.start), MAX(u.run) "
      "FROM temp.gc_trend_keys k "
      "JOIN units u ON u.name = k.name AND u.target_kind = k.target_kind AND u.mode = k.mode "
      "AND u.target_name = k.target_name "
      "JOIN runs r ON r.id = u.run AND COALESCE(r.workspace_root, '') = k.workspace_root "
      "WHERE u.start IS NOT NULL AND u.finish IS NOT NULL "
      "GROUP BY 1, 2, 3, 4, 5;"
      "UPDATE unit_trends SET (package_id, version) = ("
      "SELECT u.package_id, u.version FROM units u "
      "WHERE u.run = unit_trends.last_run AND u.name = unit_trends.name "
      "AND u.target_name = unit_trends.target_name AND u.target_kind = unit_trends.target_kind "
      "AND u.mode = unit_trends.mode LIMIT 1) "
      "WHERE (workspace_root, name, target_name, target_kind, mode) IN "
      "(SELECT * FROM temp.gc_trend_keys);"));
  return {};
}

// VACUUM (if asked or worthwhile) and a TRUNCATE checkpoint. Failures are logged: the deletion
// is committed by now, and the free pages are reused anyway.
bool reclaim_space(Database& db, bool vacuum_asked, bool deleted) {
  auto counts = page_counts(db);
  bool worthwhile =
      counts && counts->pages > 0 &&
      static_cast<double>(counts->free) > k_vacuum_free_ratio * static_cast<double>(counts->pages);
  bool vacuumed = false;
  if (vacuum_asked || worthwhile) {
    auto r = db.exec("VACUUM");
    if (r) {
      vacuumed = true;
    } else {
      spdlog::warn("store: vacuum failed: {}", r.error().message);
    }
  }
  if (vacuumed || deleted) {
    // After a VACUUM in WAL mode the rewritten database sits in the WAL: copy it back and
    // truncate the WAL, so both files shrink.
    int rc = sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                       nullptr);
    if (rc != SQLITE_OK) {
      spdlog::warn("store: checkpoint after garbage collection did not complete: {}",
                   sqlite3_errmsg(db.handle()));
    }
  }
  return vacuumed;
}

// Ends (or, for a dry run, counts) the runs in progress that have been silent for longer than
// policy.stale_after: state `interrupted`, ended at their last sign of life. Inside the caller's
// transaction, before the sessions are listed, so that their sessions can go by the usual rules.
Result<uint64_t> end_stale_runs(Database& db, const RetentionPolicy& policy) {
  if (policy.stale_after.count() <= 0) {
    return uint64_t{0};
  }
  const int64_t cutoff_ms = now_unix_ms(policy) - policy.stale_after.count();
  constexpr std::string_view k_last_sign =
      "MAX(start_unix_ms, last_event_ns / 1000000, COALESCE(end_unix_ms, 0))";
  const std::string where = fmt::format(" WHERE state = 'in_progress' AND {} < ?1", k_last_sign);
  CA_TRY_ASSIGN(Statement * s,
                db.prepare_cached(policy.dry_run
                                      ? "SELECT COUNT(*) FROM runs" + where
                                      : fmt::format("UPDATE runs SET state = 'interrupted', "
                                                    "end_unix_ms = {}{}",
                                                    k_last_sign, where)));
  auto g = s->bind(cutoff_ms);
  if (policy.dry_run) {
    CA_TRY_ASSIGN(bool row, s->step());
    return row ? static_cast<uint64_t>(s->column_int(0)) : 0;
  }
  CA_TRY(s->run());
  const auto n = static_cast<uint64_t>(s->changes());
  if (n > 0) {
    spdlog::info("gc: ended {} runs in progress that had no event for over {} h; they are "
                 "stored as interrupted (their writer is gone)",
                 n, std::chrono::duration_cast<std::chrono::hours>(policy.stale_after).count());
  }
  return n;
}

} // namespace

uint64_t database_file_bytes(const Database& db) {
  uint64_t size = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto s = std::filesystem::file_size(db.path().string() + suffix, ec);
    if (!ec) {
      size += s;
    }
  }
  return size;
}

std::string describe(const GcOutcome& o) {
  auto mb = [](uint64_t bytes) {
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
  };
  return fmt::format("{} sessions ({} runs, {} events) {}; database {} -> {}{}", o.sessions_deleted,
                     o.runs_deleted, o.events_deleted, o.dry_run ? "would be deleted" : "deleted",
                     mb(o.bytes_before), mb(o.bytes_after), o.vacuumed ? " (vacuumed)" : "");
}

Result<GcOutcome> collect_garbage(Database& db, const RetentionPolicy& policy) {
  GcOutcome out;
  out.dry_run = policy.dry_run;
  out.bytes_before = database_file_bytes(db);

  if (policy.dry_run) {
    CA_TRY_ASSIGN(out.runs_ended_stale, end_stale_runs(db, policy));
    CA_TRY_ASSIGN(auto sessions, list_sessions(db));
    CA_TRY_ASSIGN(auto counts, page_counts(db));
    Plan p = plan(sessions, policy, counts.bytes_in_use(), counts.bytes_fixed());
    out.sessions_deleted = p.sessions;
    out.runs_deleted = p.runs;
    out.events_deleted = p.events;
    out.sessions_kept = sessions.size() - p.sessions;
    double after = static_cast<double>(counts.bytes_in_use()) - p.bytes_freed_estimate;
    out.bytes_after = after > 0 ? static_cast<uint64_t>(after) : 0;
    return out;
  }

  {
    Transaction tx(db);
    if (!tx.ok()) {
      return unexpected(tx.begin_error());
    }
    CA_TRY_ASSIGN(out.runs_ended_stale, end_stale_runs(db, policy));
    // Listed inside the write transaction: what is chosen is what is deleted. The bytes a
    // session frees are estimated; while the data still does not fit, plan again on what is left.
    for (int pass = 0; pass < 8; ++pass) {
      CA_TRY_ASSIGN(auto sessions, list_sessions(db));
      CA_TRY_ASSIGN(auto counts, page_counts(db));
      Plan p = plan(sessions, policy, counts.bytes_in_use(), counts.bytes_fixed());
      out.sessions_kept = sessions.size() - p.sessions;
      if (p.sessions == 0) {
        break;
      }
      CA_TRY(delete_sessions(db, sessions, p, out));
      CA_TRY_ASSIGN(auto after, page_counts(db));
      if (policy.max_bytes == 0 || after.bytes_in_use() <= policy.max_bytes) {
        break;
      }
    }
    if (out.sessions_deleted > 0 || out.runs_ended_stale > 0) {
      CA_TRY(tx.commit());
    }
  }
  if (out.sessions_deleted > 0) {
    // Temporary rows only; a failure here changes nothing stored.
    (void)db.exec("DELETE FROM temp.gc_sessions; DELETE FROM temp.gc_runs; "
                  "DELETE FROM temp.gc_trend_keys;");
  }
  out.vacuumed = reclaim_space(db, policy.vacuum, out.sessions_deleted > 0);
  out.bytes_after = database_file_bytes(db);
  return out;
}

} // namespace ca::store
