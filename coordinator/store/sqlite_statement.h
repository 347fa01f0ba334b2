// A prepared SQLite statement: bind parameters, step through rows, read
// columns. SqliteStore prepares each of its statements once and reuses it.
//
// Binding never fails loudly on its own: the first bind error is remembered
// and returned by the next `step`, so call sites stay a list of binds followed
// by one checked step. `ScopedStatement` resets the statement (ending any read
// it holds open) and clears its bindings when it goes out of scope.
//
// Not for: anything but SqliteStore; the Store interface hides SQL entirely.
//
// Thread-safety: none; the owner serialises all use of a connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace fl::coordinator {

class SqliteStatement {
 public:
  static Result<std::unique_ptr<SqliteStatement>> prepare(sqlite3* db, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are numbered from 1, as in SQL's ?1, ?2, ...
  void bind_int64(int index, int64_t value);
  void bind_optional_int64(int index, std::optional<int64_t> value);  // NULL when empty
  void bind_double(int index, double value);
  void bind_text(int index, std::string_view value);
  void bind_optional_text(int index, const std::optional<std::string>& value);
  void bind_blob(int index, std::string_view bytes);

  // true with a row to read, false when done.
  Result<bool> step();
  // Steps to the end, for statements that return no rows.
  Status execute();
  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const { return sqlite3_changes64(db_); }

  // Columns are numbered from 0.
  bool column_is_null(int index) const;
  int64_t column_int64(int index) const;
  std::optional<int64_t> column_optional_int64(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::string column_blob(int index) const;

  void reset();

  // Set while a ScopedStatement holds it: one statement cannot serve two
  // overlapping uses (the inner reset would cut the outer one short).
  bool in_use() const { return in_use_; }
  void set_in_use(bool in_use) { in_use_ = in_use; }

 private:
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  void note_bind(int rc);

  sqlite3* db_;
  sqlite3_stmt* statement_;
  int bind_error_ = SQLITE_OK;
  bool in_use_ = false;
};

// One use of a cached statement; resets it on destruction.
class ScopedStatement {
 public:
  explicit ScopedStatement(SqliteStatement* statement) : statement_(statement) {
    statement_->set_in_use(true);
  }
  ScopedStatement(ScopedStatement&& other) noexcept
      : statement_(std::exchange(other.statement_, nullptr)) {}
  ScopedStatement& operator=(ScopedStatement&&) = delete;
  ~ScopedStatement() {
    if (statement_ == nullptr) return;
    statement_->reset();
    statement_->set_in_use(false);
  }
  SqliteStatement* operator->() const { return statement_; }
  SqliteStatement& operator*() const { return *statement_; }

 private:
  SqliteStatement* statement_;
};

}  // namespace fl::coordinator
