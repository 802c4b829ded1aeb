// A small RAII wrapper over SQLite's C API: Database, Statement (+ ResetGuard), Transaction.
//
// - `Database` owns the connection (closed with sqlite3_close_v2) and a cache of prepared
//   statements keyed by SQL text, so call sites keep their SQL inline and readable.
// - `Statement::bind(...)` returns a `ResetGuard`; the guard resets the statement and clears
//   its bindings on every exit path, so a cached statement is always ready for the next use.
// - `Transaction` begins in its constructor and rolls back in its destructor unless committed.
//
// Errors carry sqlite3_errmsg() and the SQL. A Database is used from one thread at a time.
#pragma once

#include "shared/error.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace ca::store {

class Database;

// Bytes to bind as a BLOB (Statement::bind()), e.g. a serialized message.
struct Blob {
  std::string_view bytes;
};

class Statement {
public:
  Statement(Database& db, sqlite3_stmt* stmt, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  class ResetGuard {
  public:
    explicit ResetGuard(Statement& s) : m_s(&s) {}
    ~ResetGuard();
    ResetGuard(const ResetGuard&) = delete;
    ResetGuard& operator=(const ResetGuard&) = delete;

  private:
    Statement* m_s;
  };

  // Binds parameters 1..N in order and returns the guard that resets them. Strings bind as
  // TEXT; bytes that need not be UTF-8 (serialized messages) bind as a BLOB through Blob.
  template <class... Args> [[nodiscard]] ResetGuard bind(const Args&... args) {
    int i = 0;
    (bind_one(++i, args), ...);
    return ResetGuard(*this);
  }

  // Steps once. Returns true if a row is available, false when done, or an error.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Result<void> run();

  int64_t column_int(int col) const;
  double column_double(int col) const;
  std::string column_text(int col) const;
  std::string_view column_text_view(int col) const; // valid until the next step/reset
  std::string_view column_blob_view(int col) const; // valid until the next step/reset
  bool column_is_null(int col) const;

  // Rows changed by the last run() (sqlite3_changes).
  int changes() const;
  const std::string& sql() const { return m_sql; }

private:
  void bind_one(int i, int64_t v);
  void bind_one(int i, int v) { bind_one(i, static_cast<int64_t>(v)); }
  void bind_one(int i, uint32_t v) { bind_one(i, static_cast<int64_t>(v)); }
  void bind_one(int i, uint64_t v) { bind_one(i, static_cast<int64_t>(v)); }
  void bind_one(int i, double v);
  void bind_one(int i, std::string_view v);
  void bind_one(int i, const std::string& v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, const char* v) { bind_one(i, std::string_view(v)); }
  void bind_one(int i, std::nullopt_t);
  void bind_one(int i, Blob v);
  template <class T> void bind_one(int i, const std::optional<T>& v) {
    if (v) {
      bind_one(i, *v);
    } else {
      bind_one(i, std::nullopt);
    }
  }

  Database* m_db;
  sqlite3_stmt* m_stmt;
  std::string m_sql;
};

class Database {
public:
  enum class Mode { read_write_create, read_only };

  // Opens (creating if asked) the database at `path`, sets WAL (read-write only), a busy timeout
  // and foreign keys. Returns a database error naming the path on failure.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path, Mode mode);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Executes one or more statements with no parameters and no rows.
  Result<void> exec(std::string_view sql);

  // Returns a statement prepared once per connection (SQLITE_PREPARE_PERSISTENT) for `sql`.
  // The pointer stays valid for the life of the Database.
  Result<Statement*> prepare_cached(std::string_view sql);

  // Runs `sql` and returns the first column of the first row as an integer (0 if no row).
  Result<int64_t> query_int(std::string_view sql);

  // Reads every page of the file (SQLite's quick_check). Fails with ErrorCode::damaged, naming
  // the file and the first problems, if any part of it cannot be read back.
  Result<void> check_integrity();

  int64_t last_insert_rowid() const;
  sqlite3* handle() const { return m_db.get(); }
  const std::filesystem::path& path() const { return m_path; }
  // The compression dictionaries read on this connection, by id (daemon/store/dict_codec.hpp):
  // a dictionary never changes once stored.
  std::unordered_map<int64_t, std::string>& dictionary_cache() { return m_dictionaries; }

  // "<what>: <sqlite message> (in: <sql>)" as a database Error.
  Error error(std::string_view what, std::string_view sql = {}) const;

private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Database(sqlite3* db, std::filesystem::path path);

  std::unique_ptr<sqlite3, Closer> m_db;
  std::filesystem::path m_path;
  std::unordered_map<std::string, std::unique_ptr<Statement>> m_cache;
  std::unordered_map<int64_t, std::string> m_dictionaries;
};

// BEGIN IMMEDIATE in the constructor, ROLLBACK in the destructor unless commit() succeeded.
class Transaction {
public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // False if BEGIN failed; the error is in begin_error().
  bool ok() const { return m_began; }
  const Error& begin_error() const { return m_begin_error; }
  Result<void> commit();

private:
  Database& m_db;
  bool m_began = false;
  bool m_done = false;
  Error m_begin_error{ErrorCode::internal, {}};
};

} // namespace ca::store
