#include "coordinator/store/sqlite_transaction.h"

#include "coordinator/store/sqlite_error.h"

namespace fl::coordinator {

Result<SqliteTransaction> SqliteTransaction::begin(sqlite3* db, Mode mode) {
  const char* sql = mode == Mode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "beginning a transaction");
  return SqliteTransaction(db);
}

SqliteTransaction::~SqliteTransaction() {
  // Nothing to report to: a failed rollback leaves SQLite to roll back the
  // journal when the connection closes or the database is next opened.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status SqliteTransaction::commit() {
  sqlite3* db = std::exchange(db_, nullptr);
  const int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Status::Ok();
  Status status = sqlite_status(db, rc, "committing");
  if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

}  // namespace fl::coordinator
