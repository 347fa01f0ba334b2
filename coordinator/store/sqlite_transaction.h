// A SQLite transaction that rolls back unless committed.
//
// Writes begin with BEGIN IMMEDIATE: the write lock is taken up front, so two
// writers (threads of one process are already serialised by SqliteStore's
// mutex; this is about other processes) wait on the busy timeout instead of
// deadlocking on a read-to-write upgrade. Multi-statement reads use a deferred
// transaction so they see one snapshot.
//
// Every early `return` between begin and commit therefore undoes the
// statements already run: that is how a store operation changes all or nothing.
//
// Thread-safety: none; used under the owner's lock.
#pragma once

#include <sqlite3.h>

#include <utility>

#include "base/status.h"

namespace fl::coordinator {

class SqliteTransaction {
 public:
  enum class Mode { kRead, kWrite };

  static Result<SqliteTransaction> begin(sqlite3* db, Mode mode);
  SqliteTransaction(SqliteTransaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();

  // After a failed commit the transaction has been rolled back.
  Status commit();

 private:
  explicit SqliteTransaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or rolled back
};

}  // namespace fl::coordinator
