#include "daemon/store/migrations.hpp"

#include <string>

namespace ca::store {
namespace {

// Column names follow the proto field names of RunSummary and cargo's event fields, so the
// mapping in run_reader.cpp stays one-to-one.
constexpr Migration k_migrations[] = {
    {1, R"sql(
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  run_id           TEXT NOT NULL UNIQUE,
  session_id       TEXT NOT NULL,
  parent_run_id    TEXT,
  link             TEXT NOT NULL DEFAULT 'none',
  workspace_hash   TEXT NOT NULL,
  start_unix_ms    INTEGER NOT NULL,
  workspace_root   TEXT,
  cwd              TEXT,
  command          TEXT,            -- JSON array of cargo's argv
  profile          TEXT,
  target_dir       TEXT,
  rustc_version    TEXT,
  host             TEXT,
  jobs             INTEGER,
  state            TEXT NOT NULL DEFAULT 'in_progress',
  exit_code        INTEGER,
  pid              INTEGER,
  ppid             INTEGER,
  last_elapsed     REAL NOT NULL DEFAULT 0,  -- largest `elapsed` seen, seconds
  last_event_ns    INTEGER NOT NULL DEFAULT 0,
  end_unix_ms      INTEGER,
  units_total      INTEGER NOT NULL DEFAULT 0,
  units_new        INTEGER NOT NULL DEFAULT 0,
  units_dirty      INTEGER NOT NULL DEFAULT 0,
  units_fresh      INTEGER NOT NULL DEFAULT 0,
  units_started    INTEGER NOT NULL DEFAULT 0,
  units_finished   INTEGER NOT NULL DEFAULT 0,
  events           INTEGER NOT NULL DEFAULT 0,
  source           TEXT
);
CREATE INDEX runs_by_session ON runs(session_id, start_unix_ms);
CREATE INDEX runs_by_workspace ON runs(workspace_root, start_unix_ms);
CREATE INDEX runs_by_start ON runs(start_unix_ms);
CREATE INDEX runs_by_parent ON runs(parent_run_id);

CREATE TABLE units (
  run           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx           INTEGER NOT NULL,
  package_id    TEXT NOT NULL,
  name          TEXT NOT NULL,
  version       TEXT NOT NULL,
  target_name   TEXT NOT NULL,
  target_kind   TEXT NOT NULL,
  mode          TEXT NOT NULL,
  platform      TEXT,
  requested     INTEGER NOT NULL DEFAULT 0,
  dependencies  TEXT NOT NULL DEFAULT '',  -- comma-separated unit indices
  fingerprint   TEXT,                      -- new, dirty, fresh
  cause_kind    TEXT,                      -- DirtyReason.dirty_reason
  cause         BLOB,                      -- DirtyReason, protobuf-encoded
  start         REAL,
  rmeta         REAL,
  finish        REAL,
  PRIMARY KEY (run, idx)
) WITHOUT ROWID;
CREATE INDEX units_by_name ON units(name, target_kind, mode);

-- Every accepted line, verbatim. `line_hash` makes a line received twice (socket and watcher,
-- or a resent file) a no-op.
CREATE TABLE events (
  run        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  line_hash  INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  unix_ns    INTEGER NOT NULL,
  raw        TEXT NOT NULL,
  PRIMARY KEY (run, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_dedup ON events(run, line_hash);

-- Log files tailed by the watcher: the offset reached is committed with the events it produced.
CREATE TABLE sources (
  path        TEXT PRIMARY KEY,
  inode       INTEGER NOT NULL,
  offset      INTEGER NOT NULL,
  run_id      TEXT,
  updated_ms  INTEGER NOT NULL
);
)sql"},
    // Indexes for `report trends`, kept up to date at ingest (daemon/store/trend_index.cpp) so
    // that trends over thousands of sessions read a few thousand rows, not millions of events:
    // - `units.root`: the unit was a root rebuild (rebuilt or new, and none of its direct
    //   dependencies was: cargo's definition), with `cause_key`, the identity of its cause
    //   across runs (see rebuild_cause_key()). Rows stored before this version get `root` from
    //   the same rule in SQL, but a coarser key (the cause's kind alone): the detail is in the
    //   protobuf blob, which SQL cannot read;
    // - `unit_trends`: per workspace and unit (package name, target, mode), how often it was
    //   compiled and for how long in total, for the slowest units over the whole history.
    {2, R"sql(
ALTER TABLE units ADD COLUMN root INTEGER NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN cause_key TEXT;
UPDATE units SET root = 1,
  cause_key = CASE WHEN fingerprint = 'new' THEN 'fresh-build' ELSE COALESCE(cause_kind, '') END
WHERE fingerprint IN ('new', 'dirty') AND NOT EXISTS (
  SELECT 1 FROM units d WHERE d.run = units.run AND d.fingerprint IN ('new', 'dirty')
    AND instr(',' || units.dependencies || ',', ',' || d.idx || ',') > 0);
CREATE INDEX units_dirty_roots ON units(run) WHERE root = 1 AND fingerprint = 'dirty';

CREATE TABLE unit_trends (
  workspace_root  TEXT NOT NULL,
  name            TEXT NOT NULL,
  target_name     TEXT NOT NULL,
  target_kind     TEXT NOT NULL,
  mode            TEXT NOT NULL,
  package_id      TEXT NOT NULL,          -- of the newest build
  version         TEXT NOT NULL,          -- of the newest build
  builds          INTEGER NOT NULL,       -- units that started and finished
  total_secs      REAL NOT NULL,
  max_secs        REAL NOT NULL,
  last_run        INTEGER NOT NULL,       -- runs.id of the newest build
  PRIMARY KEY (workspace_root, name, target_name, target_kind, mode)
) WITHOUT ROWID;
INSERT INTO unit_trends
  SELECT COALESCE(r.workspace_root, ''), u.name, u.target_name, u.target_kind, u.mode,
         u.package_id, u.version, COUNT(*), SUM(u.finish - u.start), MAX(u.finish - u.start),
         MAX(u.run)
  FROM units u JOIN runs r ON r.id = u.run
  WHERE u.start IS NOT NULL AND u.finish IS NOT NULL
  GROUP BY 1, 2, 3, 4, 5;
UPDATE unit_trends SET (package_id, version) = (
  SELECT u.package_id, u.version FROM units u
  WHERE u.run = unit_trends.last_run AND u.name = unit_trends.name
    AND u.target_name = unit_trends.target_name AND u.target_kind = unit_trends.target_kind
    AND u.mode = unit_trends.mode LIMIT 1);
)sql"},
    // Reports computed from a run's events once it ended (daemon/query/report_precomputer.hpp),
    // so that a report on any stored run reads one row instead of every event of the run. A row
    // is used only while `format` (the analysis code's version), `events` and `state` match the
    // run's; otherwise the report is computed again and the row replaced.
    {3, R"sql(
CREATE TABLE run_reports (
  run     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind    INTEGER NOT NULL,
  format  INTEGER NOT NULL,
  events  INTEGER NOT NULL,
  state   TEXT NOT NULL,
  body    BLOB NOT NULL,
  PRIMARY KEY (run, kind)
);
)sql"},
    // Version 4 is another branch's (compressed raw-log storage); migrate_to() applies the
    // versions listed here in order and skips any that are absent, so a database can go 3 -> 5.
    //
    // `units.features`: the unit's activated features as logged in `unit-registered`,
    // comma-separated in cargo's order, so that `report rebuilds` can explain a new unit by the
    // features of its earlier builds and `report thrash` can tell feature sets apart, reading
    // rows rather than events. Rows stored before this version have NULL: features unknown.
    // `units_by_target`: the earlier builds of one package target (name, target name and kind),
    // newest run last, for that lookup.
    {5, R"sql(
ALTER TABLE units ADD COLUMN features TEXT;
CREATE INDEX units_by_target ON units(name, target_name, target_kind, run);
)sql"},
};

} // namespace

std::span<const Migration> migrations() {
  return k_migrations;
}

int current_schema_version() {
  return k_migrations[std::size(k_migrations) - 1].version;
}

Result<void> migrate(Database& db) {
  return migrate_to(db, current_schema_version());
}

Result<void> migrate_to(Database& db, int version) {
  CA_TRY_ASSIGN(int64_t have, db.query_int("PRAGMA user_version"));
  if (have > current_schema_version()) {
    return unexpected(ErrorCode::failed_precondition,
                      "database " + db.path().string() + " has schema version " +
                          std::to_string(have) + ", newer than this daemon's " +
                          std::to_string(current_schema_version()) +
                          " (it was written by a newer cargo-analysisd; left untouched)");
  }
  for (const Migration& m : k_migrations) {
    if (m.version <= have || m.version > version) {
      continue;
    }
    Transaction tx(db);
    if (!tx.ok()) {
      return unexpected(tx.begin_error());
    }
    auto applied = db.exec(m.sql);
    if (!applied) {
      return unexpected(ErrorCode::database, "migration to schema version " +
                                                 std::to_string(m.version) +
                                                 " failed: " + applied.error().message);
    }
    CA_TRY(db.exec("PRAGMA user_version = " + std::to_string(m.version)));
    CA_TRY(tx.commit());
  }
  return {};
}

} // namespace ca::store
