// RunReader's queries over a time range of run starts (`--since`/`--until`).
#include "daemon/store/run_reader.hpp"

namespace ca::store {

Result<std::vector<std::string>> RunReader::sessions_in_range(const std::string& workspace_root,
                                                              int64_t since_ms,
                                                              int64_t until_ms,
                                                              size_t limit) {
  // As recent_sessions(): a session's place in time is its first run's, and a workspace's
  // sessions are those with any run in it.
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT session_id, MIN(start_unix_ms) AS first_start "
                                     "FROM runs GROUP BY session_id "
                                     "HAVING (?1 = '' OR MAX(workspace_root = ?1)) "
                                     "AND first_start >= ?2 AND first_start < ?3 "
                                     "ORDER BY first_start DESC, session_id DESC LIMIT ?4"));
  auto g = s->bind(workspace_root, since_ms, until_ms, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    out.push_back(s->column_text(0));
  }
  return out;
}

Result<RunReader::NewestInRange> RunReader::newest_run_in_range(const std::string& workspace_root,
                                                                int64_t since_ms,
                                                                int64_t until_ms) {
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached("SELECT run_id, COUNT(*) OVER () FROM runs "
                                     "WHERE (?1 = '' OR workspace_root = ?1) "
                                     "AND start_unix_ms >= ?2 AND start_unix_ms < ?3 "
                                     "ORDER BY start_unix_ms DESC, run_id DESC LIMIT 1"));
  auto g = s->bind(workspace_root, since_ms, until_ms);
  CA_TRY_ASSIGN(bool row, s->step());
  NewestInRange out;
  if (row) {
    out.run_id = s->column_text(0);
    out.matched = static_cast<uint64_t>(s->column_int(1));
  }
  return out;
}

Result<uint64_t> RunReader::runs_in_range(int64_t since_ms, int64_t until_ms) {
  CA_TRY_ASSIGN(Statement * s, m_db->prepare_cached("SELECT COUNT(*) FROM runs WHERE "
                                                    "start_unix_ms >= ?1 AND start_unix_ms < ?2"));
  auto g = s->bind(since_ms, until_ms);
  CA_TRY_ASSIGN(bool row, s->step());
  return row ? static_cast<uint64_t>(s->column_int(0)) : uint64_t{0};
}

Result<std::vector<CrateTotal>> RunReader::crate_totals(int64_t since_ms, int64_t until_ms) {
  // A unit's time is finish - start, as in `unit_trends` (record_unit_build()): units that did
  // not start or finish (fresh, failed, in progress) cost nothing here.
  CA_TRY_ASSIGN(Statement * s,
                m_db->prepare_cached(
                    "SELECT u.package_id, MAX(u.name), MAX(u.version), COUNT(DISTINCT u.run), "
                    "COUNT(*), SUM(u.finish - u.start) FROM runs r JOIN units u ON u.run = r.id "
                    "WHERE r.start_unix_ms >= ?1 AND r.start_unix_ms < ?2 "
                    "AND u.start IS NOT NULL AND u.finish IS NOT NULL GROUP BY u.package_id"));
  auto g = s->bind(since_ms, until_ms);
  std::vector<CrateTotal> out;
  for (;;) {
    CA_TRY_ASSIGN(bool row, s->step());
    if (!row) {
      break;
    }
    CrateTotal& c = out.emplace_back();
    c.package_id = s->column_text(0);
    c.name = s->column_text(1);
    c.version = s->column_text(2);
    c.runs = static_cast<uint64_t>(s->column_int(3));
    c.compiles = static_cast<uint64_t>(s->column_int(4));
    c.total_secs = s->column_double(5);
  }
  return out;
}

} // namespace ca::store
