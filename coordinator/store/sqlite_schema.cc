#include "coordinator/store/sqlite_schema.h"

#include <iterator>
#include <string>

#include "coordinator/store/sqlite_error.h"
#include "coordinator/store/sqlite_statement.h"
#include "coordinator/store/sqlite_transaction.h"

namespace fl::coordinator {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE schema_version (
  version INTEGER NOT NULL
);

CREATE TABLE model_versions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL CHECK (length(model) > 0),
  parent_id INTEGER REFERENCES model_versions (id),
  round_id INTEGER REFERENCES rounds (id),
  created_at_ms INTEGER NOT NULL,
  stage TEXT NOT NULL CHECK (stage IN ('candidate', 'published', 'retired')),
  model_bytes BLOB NOT NULL,
  optimizer_state BLOB NOT NULL
);
CREATE INDEX model_versions_by_model ON model_versions (model, id);
CREATE UNIQUE INDEX model_versions_one_published
  ON model_versions (model) WHERE stage = 'published';

CREATE TABLE version_metrics (
  version_id INTEGER NOT NULL REFERENCES model_versions (id),
  name TEXT NOT NULL CHECK (length(name) > 0),
  value REAL NOT NULL,
  PRIMARY KEY (version_id, name)
) WITHOUT ROWID;

CREATE TABLE rounds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  population TEXT NOT NULL CHECK (length(population) > 0),
  base_version_id INTEGER NOT NULL REFERENCES model_versions (id),
  state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  failure_reason TEXT NOT NULL DEFAULT '',
  selected INTEGER NOT NULL DEFAULT 0,
  advertised INTEGER NOT NULL DEFAULT 0,
  shared_keys INTEGER NOT NULL DEFAULT 0,
  masked_input INTEGER NOT NULL DEFAULT 0,
  unmasked INTEGER NOT NULL DEFAULT 0,
  started_at_ms INTEGER NOT NULL,
  ended_at_ms INTEGER,
  result_version_id INTEGER REFERENCES model_versions (id),
  CHECK ((state = 'running') = (ended_at_ms IS NULL)),
  CHECK ((state = 'completed') = (result_version_id IS NOT NULL))
);
CREATE INDEX rounds_running ON rounds (id) WHERE state = 'running';

CREATE TABLE clients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
  enrolled_at_ms INTEGER NOT NULL,
  label TEXT
);

INSERT INTO schema_version (version) VALUES (1);
)sql";

// Version 2: the publication history (publication.h). A version-1 file knows
// which versions are published but not how they got there, so the history
// starts with one 'schema-migration' entry per published version (time 0:
// unknown); rollback needs the current version to appear in it.
constexpr std::string_view kMigrateV1ToV2 = R"sql(
CREATE TABLE publications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL CHECK (length(model) > 0),
  version_id INTEGER NOT NULL REFERENCES model_versions (id),
  previous_version_id INTEGER REFERENCES model_versions (id),
  at_ms INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (length(reason) > 0),
  actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX publications_by_model ON publications (model, id);
INSERT INTO publications (model, version_id, previous_version_id, at_ms, reason, actor)
  SELECT model, id, NULL, 0, 'schema-migration', '' FROM model_versions
  WHERE stage = 'published' ORDER BY id;
UPDATE schema_version SET version = 2;
)sql";

// Version 3: enrolment an outsider cannot flood (device_token.h). Clients
// can be revoked; one-time device tokens are kept as BLAKE2b-256 hashes only.
// Existing clients stay enrolled and unrevoked. A spent token names its
// client, and spent_at_ms is set exactly when client_id is.
constexpr std::string_view kMigrateV2ToV3 = R"sql(
ALTER TABLE clients ADD COLUMN revoked_at_ms INTEGER;
CREATE TABLE device_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  label TEXT,
  issued_at_ms INTEGER NOT NULL,
  client_id INTEGER UNIQUE REFERENCES clients (id),
  spent_at_ms INTEGER,
  revoked_at_ms INTEGER,
  CHECK ((client_id IS NULL) = (spent_at_ms IS NULL))
);
UPDATE schema_version SET version = 3;
)sql";

// Version 4: the privacy ledger (privacy_ledger.h), one row per completed
// round trained with differential privacy, written in the round's commit.
constexpr std::string_view kMigrateV3ToV4 = R"sql(
CREATE TABLE privacy_ledger (
  round_id INTEGER PRIMARY KEY REFERENCES rounds (id),
  population TEXT NOT NULL CHECK (length(population) > 0),
  version_id INTEGER NOT NULL REFERENCES model_versions (id),
  at_ms INTEGER NOT NULL,
  mechanism TEXT NOT NULL CHECK (mechanism IN ('central', 'distributed')),
  sampling_rate REAL NOT NULL CHECK (sampling_rate > 0 AND sampling_rate <= 1),
  noise_multiplier REAL NOT NULL CHECK (noise_multiplier > 0),
  clip REAL NOT NULL CHECK (clip > 0),
  expected_clients INTEGER NOT NULL CHECK (expected_clients > 0),
  survivors INTEGER NOT NULL CHECK (survivors >= 0),
  bits INTEGER NOT NULL CHECK (bits >= 0),
  modular_clips INTEGER NOT NULL CHECK (modular_clips >= 0),
  epsilon REAL NOT NULL CHECK (epsilon >= 0),
  delta REAL NOT NULL CHECK (delta > 0 AND delta < 1),
  rdp_order REAL NOT NULL
);
CREATE INDEX privacy_ledger_by_population ON privacy_ledger (population, round_id);
UPDATE schema_version SET version = 4;
)sql";

// kMigrations[v - 1] takes a version-v database to version v + 1.
constexpr std::string_view kMigrations[] = {kMigrateV1ToV2, kMigrateV2ToV3, kMigrateV3ToV4};
static_assert(std::size(kMigrations) == kSqliteSchemaVersion - 1,
              "one migration per schema version step");

// Runs every migration from `version` to kSqliteSchemaVersion, inside the
// caller's transaction: a crash mid-way leaves the file at its old version.
Status migrate(sqlite3* db, int64_t version) {
  for (int64_t v = version; v < kSqliteSchemaVersion; ++v) {
    const std::string sql(kMigrations[v - 1]);
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return sqlite_status(db, rc,
                           "migrating the schema from version " + std::to_string(v) + " to " +
                               std::to_string(v + 1));
    }
  }
  return Status::Ok();
}

Result<int64_t> count(sqlite3* db, std::string_view sql) {
  auto prepared = SqliteStatement::prepare(db, sql);
  if (!prepared.ok()) return prepared.status();
  Result<bool> row = (*prepared)->step();
  if (!row.ok()) return row.status();
  return *row ? (*prepared)->column_int64(0) : 0;
}

}  // namespace

Status ensure_sqlite_schema(sqlite3* db) {
  auto transaction = SqliteTransaction::begin(db, SqliteTransaction::Mode::kWrite);
  if (!transaction.ok()) return transaction.status();

  Result<int64_t> has_version_table = count(
      db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  if (!has_version_table.ok()) return has_version_table.status();

  if (*has_version_table == 0) {
    Result<int64_t> objects =
        count(db, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
    if (!objects.ok()) return objects.status();
    if (*objects != 0) {
      return FailedPrecondition(
          "this is a SQLite database with other tables and no schema_version:"
          " not an fl store; refusing to write to it");
    }
    const int rc = sqlite3_exec(db, std::string(kSchemaV1).c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(db, rc, "creating the schema");
    // A new file takes the same path as an old one, so the two cannot differ.
    FL_RETURN_IF_ERROR(migrate(db, 1));
    return transaction->commit();
  }

  auto versions = SqliteStatement::prepare(db, "SELECT version FROM schema_version");
  if (!versions.ok()) return versions.status();
  Result<bool> row = (*versions)->step();
  if (!row.ok()) return row.status();
  if (!*row) return DataLoss("schema_version is empty");
  const int64_t version = (*versions)->column_int64(0);
  Result<bool> second_row = (*versions)->step();
  if (!second_row.ok()) return second_row.status();
  if (*second_row) return DataLoss("schema_version holds more than one row");

  if (version > kSqliteSchemaVersion) {
    return FailedPrecondition("the database has schema version " + std::to_string(version) +
                              ", newer than the newest this build understands (" +
                              std::to_string(kSqliteSchemaVersion) +
                              "); run a newer fl-coordinator, or restore a backup written by this"
                              " version");
  }
  if (version < 1) {
    return DataLoss("the database has an impossible schema version " + std::to_string(version));
  }
  (*versions)->reset();  // end the read before the migration writes
  FL_RETURN_IF_ERROR(migrate(db, version));
  return transaction->commit();
}

}  // namespace fl::coordinator
