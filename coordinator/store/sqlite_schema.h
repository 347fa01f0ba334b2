// The SQLite schema of the store, and bringing a database up to it.
//
// Version 4 (kSqliteSchemaVersion), one table per record:
//   model_versions  one row per version; payloads as BLOBs; stage as text with
//                   a CHECK; a partial UNIQUE index allows at most one
//                   published row per model, so even a buggy caller or a
//                   hand-written UPDATE cannot publish two.
//   version_metrics (version_id, name) -> value: metrics as rows, not a blob,
//                   so a quality gate or a dashboard can query them.
//   rounds          one row per round; stage counts as columns.
//   clients         one row per enrolment; public_key UNIQUE and 32 bytes;
//                   revoked_at_ms added in version 3.
//   device_tokens   one-time enrolment tokens as BLAKE2b-256 hashes, each
//                   spent by at most one client (device_token.h); version 3.
//   publications    the publication history (publication.h), added in
//                   version 2; written in the transaction that changes stages.
//   privacy_ledger  one row per completed round trained with differential
//                   privacy (privacy_ledger.h), keyed by round; version 4.
//   schema_version  a single row: the version this file was written with.
// Ids are INTEGER PRIMARY KEY AUTOINCREMENT: increasing and never reused. The
// DDL is plain SQL that PostgreSQL also accepts apart from AUTOINCREMENT and
// BLOB (GENERATED ... AS IDENTITY and BYTEA there).
//
// Opening a newer version's file is refused rather than guessed at; an older
// version is migrated forward here, one step per version, in the same
// transaction that bumps schema_version (so a file written by this build
// cannot be opened by a version-1 build again: keep a backup to downgrade).
//
// Thread-safety: call once per connection, before it is shared.
#pragma once

#include <sqlite3.h>

#include "base/status.h"

namespace fl::coordinator {

inline constexpr int kSqliteSchemaVersion = 4;

// Creates the schema in an empty database or checks an existing one's
// version. FailedPrecondition for a newer version or a database that holds
// tables but is not a store; DataLoss for a damaged file. Messages do not name
// the file; the caller adds that.
Status ensure_sqlite_schema(sqlite3* db);

}  // namespace fl::coordinator
