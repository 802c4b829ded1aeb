#include "daemon/store/migrations.hpp"

#include "daemon/store/raw_log.hpp"

#include <string>

namespace ca::store {
namespace {

// Version 4: every run's `events` rows become compressed blocks with the run's watermark, and
// the stored reports are compressed. Line positions are the old arrival order (seq + 1).
Result<void> move_events_to_blocks(Database& db) {
  CA_TRY_ASSIGN(Statement * runs, db.prepare_cached("SELECT id FROM runs ORDER BY id"));
  std::vector<int64_t> ids;
  {
    auto g = runs->bind();
    for (;;) {
      CA_TRY_ASSIGN(bool row, runs->step());
      if (!row) {
        break;
      }
      ids.push_back(runs->column_int(0));
    }
  }
  CA_TRY_ASSIGN(Statement * lines,
                db.prepare_cached("SELECT seq, raw FROM events WHERE run = ?1 ORDER BY seq"));
  CA_TRY_ASSIGN(Statement * mark,
                db.prepare_cached("UPDATE runs SET raw_last = ?2, raw_hash = ?3 WHERE id = ?1"));
  for (int64_t id : ids) {
    RawBlock block;
    uint64_t hash = k_roll_hash_seed;
    uint64_t last = 0;
    {
      auto g = lines->bind(id);
      for (;;) {
        CA_TRY_ASSIGN(bool row, lines->step());
        if (!row) {
          break;
        }
        std::string_view raw = lines->column_text_view(1);
        last = static_cast<uint64_t>(lines->column_int(0)) + 1;
        if (!block.empty() && block.text.size() + raw.size() + 1 > k_max_block_bytes) {
          CA_TRY(insert_block(db, id, block, k_compact_level, BlockCodec::plain));
          block = RawBlock{};
        }
        block.add(last, raw);
        hash = roll_hash(hash, raw);
      }
    }
    CA_TRY(insert_block(db, id, block, k_compact_level, BlockCodec::plain));
    auto g = mark->bind(id, last, static_cast<int64_t>(hash));
    CA_TRY(mark->run());
  }
  CA_TRY(db.exec("DROP INDEX events_dedup; DROP TABLE events"));
  // The stored reports, compressed in place.
  CA_TRY_ASSIGN(Statement * reports,
                db.prepare_cached("SELECT run, kind, body FROM run_reports WHERE codec = 0"));
  CA_TRY_ASSIGN(Statement * update, db.prepare_cached("UPDATE run_reports SET codec = 1, body = ?3 "
                                                      "WHERE run = ?1 AND kind = ?2"));
  std::vector<std::tuple<int64_t, int64_t, std::string>> packed;
  {
    auto g = reports->bind();
    for (;;) {
      CA_TRY_ASSIGN(bool row, reports->step());
      if (!row) {
        break;
      }
      packed.emplace_back(reports->column_int(0), reports->column_int(1),
                          zstd_compress(reports->column_blob_view(2), k_compact_level));
    }
  }
  for (const auto& [run, kind, body] : packed) {
    auto g = update->bind(run, kind, Blob{body});
    CA_TRY(update->run());
  }
  return {};
}

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
    // A run's verbatim lines kept once, as zstd-compressed blocks with a per-run watermark for
    // exactly-once (daemon/store/raw_log.hpp), instead of a row and a unique index entry per
    // line; stored reports compressed (`codec` 1: zstd); the watcher's checkpoint holds the line
    // number reached with the offset, the position of the next line it reads.
    {4, R"sql(
CREATE TABLE raw_blocks (
  run         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  first_line  INTEGER NOT NULL,   -- position of the block's first line in the run, from 1
  last_line   INTEGER NOT NULL,
  lines       INTEGER NOT NULL,   -- lines held (fewer than last - first + 1 if gaps)
  raw_bytes   INTEGER NOT NULL,   -- size of the lines before compression
  gaps        BLOB,               -- NULL if contiguous, else every position (varint deltas)
  data        BLOB NOT NULL       -- zstd frame of the lines, each followed by a newline
);
CREATE UNIQUE INDEX raw_blocks_by_run ON raw_blocks(run, first_line);
ALTER TABLE runs ADD COLUMN raw_last INTEGER NOT NULL DEFAULT 0;  -- highest line position taken
ALTER TABLE runs ADD COLUMN raw_hash INTEGER NOT NULL DEFAULT 0;  -- rolling hash of lines taken
ALTER TABLE run_reports ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN line INTEGER NOT NULL DEFAULT 0;
UPDATE sources SET line = COALESCE((SELECT COUNT(*) FROM events e JOIN runs r ON r.id = e.run
                                    WHERE r.run_id = sources.run_id), 0);

-- A unit's identity (package, target, mode, platform, features) is stored once in `unit_keys`;
-- a run's unit row refers to it. `units` stays, as a view, for every reader.
CREATE TABLE unit_keys (
  id           INTEGER PRIMARY KEY,
  package_id   TEXT NOT NULL,
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  target_name  TEXT NOT NULL,
  target_kind  TEXT NOT NULL,
  mode         TEXT NOT NULL,
  platform     TEXT NOT NULL DEFAULT '',
  features     TEXT NOT NULL DEFAULT '',  -- comma-separated, as cargo lists them; '?': unknown
  UNIQUE (package_id, target_name, target_kind, mode, platform, features)
);
CREATE INDEX unit_keys_by_name ON unit_keys(name, target_kind, mode);
CREATE TABLE unit_rows (
  run           INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx           INTEGER NOT NULL,
  key           INTEGER NOT NULL REFERENCES unit_keys(id),
  requested     INTEGER NOT NULL DEFAULT 0,
  dependencies  TEXT NOT NULL DEFAULT '',
  fingerprint   TEXT,
  cause_kind    TEXT,
  cause         BLOB,
  start         REAL,
  rmeta         REAL,
  finish        REAL,
  root          INTEGER NOT NULL DEFAULT 0,
  cause_key     TEXT,
  PRIMARY KEY (run, idx)
) WITHOUT ROWID;
CREATE INDEX unit_rows_by_key ON unit_rows(key);
-- Rows of earlier versions did not keep the features: '?', read as NULL (unknown).
INSERT OR IGNORE INTO unit_keys(package_id, name, version, target_name, target_kind, mode, platform,
                                features)
  SELECT package_id, name, version, target_name, target_kind, mode, COALESCE(platform, ''), '?'
  FROM units;
INSERT INTO unit_rows
  SELECT u.run, u.idx, k.id, u.requested, u.dependencies, u.fingerprint, u.cause_kind, u.cause,
         u.start, u.rmeta, u.finish, u.root, u.cause_key
  FROM units u JOIN unit_keys k ON k.package_id = u.package_id AND k.target_name = u.target_name
    AND k.target_kind = u.target_kind AND k.mode = u.mode
    AND k.platform = COALESCE(u.platform, '') AND k.features = '?';
DROP TABLE units;
CREATE INDEX unit_rows_dirty_roots ON unit_rows(run) WHERE root = 1 AND fingerprint = 'dirty';
CREATE VIEW units AS
  SELECT r.run, r.idx, k.package_id, k.name, k.version, k.target_name, k.target_kind, k.mode,
         k.platform, r.requested, r.dependencies, r.fingerprint, r.cause_kind, r.cause, r.start,
         r.rmeta, r.finish, r.root, r.cause_key, NULLIF(k.features, '?') AS features, r.key
  FROM unit_rows r JOIN unit_keys k ON k.id = r.key;
)sql",
     move_events_to_blocks},
    // The earlier builds of one package target (name, target name and kind), for `report
    // rebuilds` explaining a new unit and `report thrash` (daemon/query/unit_origin.cpp); the
    // runs of a key come from unit_rows_by_key. (The unit's features are in unit_keys since 4.)
    {5, R"sql(
CREATE INDEX unit_keys_by_target ON unit_keys(name, target_name, target_kind);
)sql"},
    // CPU and memory samples of the machine while a run was in progress, appended in chunks as
    // the daemon takes them (daemon/store/resource_samples.hpp).
    {6, R"sql(
CREATE TABLE run_samples (
  run    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  chunk  INTEGER NOT NULL,
  data   BLOB NOT NULL,
  PRIMARY KEY (run, chunk)
) WITHOUT ROWID;
)sql"},
    // Team export (daemon/export/team_exporter.hpp): the outbox of ended runs not yet
    // acknowledged by ClickHouse. A run is queued by a trigger in the very transaction that ends
    // it (its `end_unix_ms` set), so no crash can lose one between the end and the queueing; and
    // only while `team_export` has its row, i.e. while a team url is configured (the daemon adds
    // or removes the row at start). A run ended again (an exit code learned later) is queued
    // again; ClickHouse keeps its newest row.
    {7, R"sql(
CREATE TABLE team_export (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  since_ms   INTEGER NOT NULL          -- when export was switched on
);
CREATE TABLE team_outbox (
  run_id     TEXT PRIMARY KEY,
  queued_ms  INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,  -- failed sends so far
  last_error TEXT
) WITHOUT ROWID;
CREATE TRIGGER team_outbox_on_end AFTER UPDATE OF end_unix_ms ON runs
  WHEN NEW.end_unix_ms IS NOT NULL AND EXISTS (SELECT 1 FROM team_export)
BEGIN
  INSERT OR REPLACE INTO team_outbox(run_id, queued_ms)
    VALUES (NEW.run_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
)sql"},
    // Compression against a dictionary shared by the runs of a workspace (daemon/store/
    // dict_codec.hpp): a raw block or stored report names the dictionary it was compressed with
    // (0: none, as every row stored before this version).
    {8, R"sql(
CREATE TABLE zstd_dicts (
  id          INTEGER PRIMARY KEY,
  scope       TEXT NOT NULL,      -- what the dictionary serves: "raw <workspace>", "report<kind> <workspace>"
  created_ms  INTEGER NOT NULL,
  body        BLOB NOT NULL       -- zstd frame of the dictionary's content
);
CREATE INDEX zstd_dicts_by_scope ON zstd_dicts(scope, id);
ALTER TABLE raw_blocks ADD COLUMN dict INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_reports ADD COLUMN dict INTEGER NOT NULL DEFAULT 0;
CREATE INDEX raw_blocks_by_dict ON raw_blocks(dict) WHERE dict != 0;
CREATE INDEX run_reports_by_dict ON run_reports(dict) WHERE dict != 0;
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
    if (applied && m.code != nullptr) {
      applied = m.code(db);
    }
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
