#include "coordinator/store/sqlite_error.h"

#include <string>

namespace fl::coordinator {

Status sqlite_status(sqlite3* db, int rc, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  // The connection's message is more specific ("UNIQUE constraint failed:
  // clients.public_key") than the code's generic text, when it is about rc.
  const char* detail =
      db != nullptr && sqlite3_extended_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = std::string(context) + ": " + detail;
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(message + " (the database file is damaged or is not an fl store)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(message + " (another process holds the database; retry)");
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return ResourceExhausted(message);
    case SQLITE_CONSTRAINT:
      return FailedPrecondition(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return FailedPrecondition(message);
    default:
      return Internal(message + " (sqlite code " + std::to_string(rc) + ")");
  }
}

}  // namespace fl::coordinator
