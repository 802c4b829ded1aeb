// The schema, as an ordered list of migrations recorded in `PRAGMA user_version`.
//
// Migration N takes a database at version N-1 to version N, in one transaction. A database at a
// version newer than the last migration here was written by a newer daemon: we refuse it and
// leave it untouched rather than guess at its shape.
#pragma once

#include "daemon/store/database.hpp"

#include <span>

namespace ca::store {

struct Migration {
  int version;
  const char* sql;
  // Work SQL cannot do (e.g. compressing rows), run after `sql` in the same transaction.
  Result<void> (*code)(Database&) = nullptr;
};

// All migrations, in order; the last one's version is the current schema version.
std::span<const Migration> migrations();
int current_schema_version();

// Brings `db` to the current version. Returns failed_precondition if the database is newer than
// this binary, or the database error of the migration that failed (that migration is rolled
// back; earlier ones stay applied).
Result<void> migrate(Database& db);

// Like migrate(), but stops at `version` (tests migrate every past version).
Result<void> migrate_to(Database& db, int version);

} // namespace ca::store
