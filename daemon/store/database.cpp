#include "daemon/store/database.hpp"

#include <sqlite3.h>

namespace ca::store {

namespace {

// SQLite's codes for a file that is not (or no longer) a readable database.
bool is_damage(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// SQLite's words, and for the faults a user can fix from outside, what they mean here.
std::string explained(int rc, std::string_view sqlite_msg) {
  std::string text(sqlite_msg);
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    text += ": another process holds its write lock (an open `sqlite3` shell inside a "
            "transaction, a backup?)";
    break;
  case SQLITE_READONLY:
    text += " (read-only: the state dir's file system is mounted read-only, or the file is not "
            "writable)";
    break;
  default:
    break;
  }
  return text;
}

} // namespace

// --- Statement ---------------------------------------------------------------------------------

Statement::Statement(Database& db, sqlite3_stmt* stmt, std::string sql)
    : m_db(&db), m_stmt(stmt), m_sql(std::move(sql)) {}

Statement::~Statement() {
  sqlite3_finalize(m_stmt);
}

Statement::ResetGuard::~ResetGuard() {
  sqlite3_reset(m_s->m_stmt);
  sqlite3_clear_bindings(m_s->m_stmt);
}

void Statement::bind_one(int i, int64_t v) {
  sqlite3_bind_int64(m_stmt, i, v);
}
void Statement::bind_one(int i, double v) {
  sqlite3_bind_double(m_stmt, i, v);
}
void Statement::bind_one(int i, std::string_view v) {
  // SQLITE_TRANSIENT: SQLite copies, so the caller's buffer may go away before step().
  sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void Statement::bind_one(int i, std::nullopt_t) {
  sqlite3_bind_null(m_stmt, i);
}
void Statement::bind_one(int i, Blob v) {
  sqlite3_bind_blob(m_stmt, i, v.bytes.data(), static_cast<int>(v.bytes.size()), SQLITE_TRANSIENT);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return unexpected(m_db->error("step failed", m_sql));
}

Result<void> Statement::run() {
  for (;;) {
    CA_TRY_ASSIGN(bool row, step());
    if (!row) {
      return {};
    }
  }
}

int64_t Statement::column_int(int col) const {
  return sqlite3_column_int64(m_stmt, col);
}
double Statement::column_double(int col) const {
  return sqlite3_column_double(m_stmt, col);
}
std::string Statement::column_text(int col) const {
  return std::string(column_text_view(col));
}
std::string_view Statement::column_text_view(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  if (p == nullptr) {
    return {};
  }
  return {p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col))};
}
std::string_view Statement::column_blob_view(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(m_stmt, col));
  if (p == nullptr) {
    return {};
  }
  return {p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col))};
}
bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}
int Statement::changes() const {
  return sqlite3_changes(m_db->handle());
}

// --- Database ----------------------------------------------------------------------------------

void Database::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Database::Database(sqlite3* db, std::filesystem::path path) : m_db(db), m_path(std::move(path)) {}

Database::~Database() {
  m_cache.clear(); // finalize statements before the connection closes
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path, Mode mode) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                       : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) {
    return unexpected(ErrorCode::database,
                      "cannot open database " + path.string() + ": " +
                          (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  // The first statements read the file's header: a file that is not a database fails here.
  auto setup = [&](std::string_view sql) -> Result<void> {
    if (auto r = db->exec(sql); !r) {
      if (r.error().code == ErrorCode::damaged) {
        // SQLite's own words ("file is not a database", "database disk image is malformed")
        // without the statement, which says nothing to the user.
        std::string why = r.error().message.substr(0, r.error().message.find(" (in: "));
        return unexpected(ErrorCode::damaged, path.string() + " is damaged: " + why);
      }
      return unexpected(r.error().code, path.string() + ": " + r.error().message);
    }
    return {};
  };
  if (mode == Mode::read_write_create) {
    // WAL: readers never block the writer. NORMAL sync is durable across process crashes
    // (the WAL is fsynced at checkpoints); only a power loss can drop the last transactions.
    CA_TRY(setup("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  }
  CA_TRY(setup("PRAGMA foreign_keys=ON;"));
  if (mode == Mode::read_only) {
    // Readers scan runs and units for reports: map the file and keep a larger page cache, so a
    // big history is read from memory rather than through pread() page by page.
    CA_TRY(setup("PRAGMA mmap_size=268435456; PRAGMA cache_size=-32768;"));
  }
  return db;
}

Result<void> Database::exec(std::string_view sql) {
  std::string text(sql);
  char* msg = nullptr;
  if (int rc = sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, &msg); rc != SQLITE_OK) {
    std::string why = explained(rc, msg != nullptr ? msg : "unknown error");
    sqlite3_free(msg);
    return unexpected(is_damage(rc) ? ErrorCode::damaged : ErrorCode::database,
                      why + " (in: " + text.substr(0, 200) + ")");
  }
  return {};
}

Result<void> Database::check_integrity() {
  // quick_check: every page readable, every record well formed, every index entry's row there
  // (not: index contents against rows, which integrity_check adds at several times the cost).
  // The first few problems are enough to say what is wrong.
  auto stmt = prepare_cached("PRAGMA quick_check(3)");
  if (!stmt) {
    return unexpected(stmt.error().code,
                      "cannot check " + m_path.string() + ": " + stmt.error().message);
  }
  Statement& check = **stmt;
  Statement::ResetGuard guard(check); // resets the statement when done
  std::string problems;
  for (;;) {
    auto more = check.step();
    if (!more) {
      return unexpected(more.error().code,
                        "cannot check " + m_path.string() + ": " + more.error().message);
    }
    if (!*more) {
      break;
    }
    std::string row = check.column_text(0);
    if (row == "ok") {
      return {};
    }
    problems += (problems.empty() ? "" : "; ") + row;
  }
  return unexpected(ErrorCode::damaged, m_path.string() + " is damaged: " + problems);
}

Result<Statement*> Database::prepare_cached(std::string_view sql) {
  std::string key(sql);
  if (auto it = m_cache.find(key); it != m_cache.end()) {
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(m_db.get(), key.data(), static_cast<int>(key.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return unexpected(error("prepare failed", key));
  }
  auto owned = std::make_unique<Statement>(*this, stmt, key);
  Statement* p = owned.get();
  m_cache.emplace(std::move(key), std::move(owned));
  return p;
}

Result<int64_t> Database::query_int(std::string_view sql) {
  CA_TRY_ASSIGN(Statement * s, prepare_cached(sql));
  auto guard = s->bind();
  CA_TRY_ASSIGN(bool row, s->step());
  return row ? s->column_int(0) : 0;
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(m_db.get());
}

Error Database::error(std::string_view what, std::string_view sql) const {
  int rc = sqlite3_extended_errcode(m_db.get());
  std::string msg = std::string(what) + ": " + explained(rc, sqlite3_errmsg(m_db.get()));
  if (!sql.empty()) {
    msg += " (in: " + std::string(sql.substr(0, 200)) + ")";
  }
  return Error{is_damage(rc) ? ErrorCode::damaged : ErrorCode::database, std::move(msg)};
}

// --- Transaction -------------------------------------------------------------------------------

Transaction::Transaction(Database& db) : m_db(db) {
  auto r = m_db.exec("BEGIN IMMEDIATE");
  m_began = r.has_value();
  if (!m_began) {
    m_begin_error = r.error();
  }
}

Transaction::~Transaction() {
  if (m_began && !m_done) {
    (void)m_db.exec("ROLLBACK");
  }
}

Result<void> Transaction::commit() {
  if (!m_began) {
    return unexpected(m_begin_error);
  }
  CA_TRY(m_db.exec("COMMIT"));
  m_done = true;
  return {};
}

} // namespace ca::store
