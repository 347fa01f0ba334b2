#include "coordinator/store/sqlite_statement.h"

#include "coordinator/store/sqlite_error.h"

namespace fl::coordinator {

Result<std::unique_ptr<SqliteStatement>> SqliteStatement::prepare(sqlite3* db,
                                                                  std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  // PERSISTENT: these statements live as long as the connection.
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(statement);
    return sqlite_status(db, rc, "preparing `" + std::string(sql) + "`");
  }
  return std::unique_ptr<SqliteStatement>(new SqliteStatement(db, statement));
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(statement_); }

void SqliteStatement::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::bind_int64(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(statement_, index, value));
}

void SqliteStatement::bind_optional_int64(int index, std::optional<int64_t> value) {
  note_bind(value ? sqlite3_bind_int64(statement_, index, *value)
                  : sqlite3_bind_null(statement_, index));
}

void SqliteStatement::bind_double(int index, double value) {
  note_bind(sqlite3_bind_double(statement_, index, value));
}

void SqliteStatement::bind_text(int index, std::string_view value) {
  // TRANSIENT: SQLite copies, so the caller's buffer need not outlive the step.
  note_bind(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8));
}

void SqliteStatement::bind_optional_text(int index, const std::optional<std::string>& value) {
  if (value) {
    bind_text(index, *value);
  } else {
    note_bind(sqlite3_bind_null(statement_, index));
  }
}

void SqliteStatement::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob, not NULL, for empty payloads: the columns are NOT NULL.
  note_bind(bytes.empty() ? sqlite3_bind_zeroblob(statement_, index, 0)
                          : sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(),
                                                SQLITE_TRANSIENT));
}

Result<bool> SqliteStatement::step() {
  if (bind_error_ != SQLITE_OK) {
    return sqlite_status(db_, bind_error_,
                         "binding parameters of `" + std::string(sqlite3_sql(statement_)) + "`");
  }
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_status(db_, rc, "running `" + std::string(sqlite3_sql(statement_)) + "`");
}

Status SqliteStatement::execute() {
  while (true) {
    Result<bool> row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

bool SqliteStatement::column_is_null(int index) const {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

int64_t SqliteStatement::column_int64(int index) const {
  return sqlite3_column_int64(statement_, index);
}

std::optional<int64_t> SqliteStatement::column_optional_int64(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_int64(index);
}

double SqliteStatement::column_double(int index) const {
  return sqlite3_column_double(statement_, index);
}

std::string SqliteStatement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, index));
  if (text == nullptr) return {};
  return std::string(text, static_cast<size_t>(sqlite3_column_bytes(statement_, index)));
}

std::string SqliteStatement::column_blob(int index) const {
  const void* blob = sqlite3_column_blob(statement_, index);
  if (blob == nullptr) return {};
  return std::string(static_cast<const char*>(blob),
                     static_cast<size_t>(sqlite3_column_bytes(statement_, index)));
}

void SqliteStatement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  bind_error_ = SQLITE_OK;
}

}  // namespace fl::coordinator
