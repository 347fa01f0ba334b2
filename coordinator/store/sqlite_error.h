// Turns SQLite result codes into fl::Status values a person can act on.
//
// Corruption (SQLITE_CORRUPT, SQLITE_NOTADB) is DataLoss, a lock held too long
// by another process is Unavailable, a full disk or an oversized blob is
// ResourceExhausted, a violated constraint is FailedPrecondition, and the rest
// is Internal. The message carries SQLite's own explanation.
//
// Thread-safety: reads the connection's last error message, so call it under
// the same lock as the failing call.
#pragma once

#include <sqlite3.h>

#include <string_view>

#include "base/status.h"

namespace fl::coordinator {

// `rc` is the code a call on `db` returned (db may be null if opening failed);
// `context` says what the store was doing, e.g. "adding a model version".
Status sqlite_status(sqlite3* db, int rc, std::string_view context);

}  // namespace fl::coordinator
