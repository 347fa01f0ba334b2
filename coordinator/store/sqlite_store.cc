#include "coordinator/store/sqlite_store.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "coordinator/store/sqlite_error.h"
#include "coordinator/store/sqlite_schema.h"
#include "coordinator/store/sqlite_statement.h"
#include "coordinator/store/sqlite_transaction.h"

// Binds `var` to the value of a Result-returning `expr`, or returns its Status.
#define FL_STORE_TRY(var, expr)                         \
  auto var##_result = (expr);                           \
  if (!var##_result.ok()) return var##_result.status(); \
  auto& var = *var##_result

namespace fl::coordinator {
namespace {

using Mode = SqliteTransaction::Mode;

// --- SQL (prepared once per connection) -------------------------------------

constexpr std::string_view kInsertVersion =
    "INSERT INTO model_versions (model, parent_id, round_id, created_at_ms, stage, model_bytes,"
    " optimizer_state) VALUES (?1, ?2, ?3, ?4, 'candidate', ?5, ?6)";
constexpr std::string_view kInsertMetric =
    "INSERT INTO version_metrics (version_id, name, value) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectVersionStage =
    "SELECT model, stage FROM model_versions WHERE id = ?1";
constexpr std::string_view kSelectVersion =
    "SELECT id, model, parent_id, round_id, created_at_ms, stage, model_bytes, optimizer_state"
    " FROM model_versions WHERE id = ?1";
constexpr std::string_view kSelectMetrics =
    "SELECT name, value FROM version_metrics WHERE version_id = ?1";
constexpr std::string_view kSelectLatestVersionId =
    "SELECT id FROM model_versions WHERE model = ?1 AND (?2 IS NULL OR stage = ?2)"
    " ORDER BY id DESC LIMIT 1";
constexpr std::string_view kListVersions =
    "SELECT id, model, parent_id, round_id, created_at_ms, stage FROM model_versions"
    " WHERE model = ?1 ORDER BY id";
constexpr std::string_view kListMetrics =
    "SELECT m.version_id, m.name, m.value FROM version_metrics m"
    " JOIN model_versions v ON v.id = m.version_id WHERE v.model = ?1";
constexpr std::string_view kSetStage = "UPDATE model_versions SET stage = ?2 WHERE id = ?1";
constexpr std::string_view kRetirePublished =
    "UPDATE model_versions SET stage = 'retired' WHERE model = ?1 AND stage = 'published'";
constexpr std::string_view kSelectPublishedId =
    "SELECT id FROM model_versions WHERE model = ?1 AND stage = 'published'";
constexpr std::string_view kUpsertMetric =
    "INSERT INTO version_metrics (version_id, name, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (version_id, name) DO UPDATE SET value = excluded.value";
constexpr std::string_view kInsertPublication =
    "INSERT INTO publications (model, version_id, previous_version_id, at_ms, reason, actor)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr std::string_view kListPublications =
    "SELECT id, model, version_id, previous_version_id, at_ms, reason, actor FROM publications"
    " WHERE model = ?1 ORDER BY id DESC LIMIT ?2";

constexpr std::string_view kInsertRound =
    "INSERT INTO rounds (population, base_version_id, state, started_at_ms)"
    " VALUES (?1, ?2, 'running', ?3)";
constexpr std::string_view kSelectRound =
    "SELECT id, population, base_version_id, state, failure_reason, selected, advertised,"
    " shared_keys, masked_input, unmasked, started_at_ms, ended_at_ms, result_version_id"
    " FROM rounds WHERE id = ?1";
constexpr std::string_view kListRoundIds = "SELECT id FROM rounds ORDER BY id DESC LIMIT ?1";
constexpr std::string_view kSelectRoundBase =
    "SELECT r.state, r.base_version_id, v.model FROM rounds r"
    " JOIN model_versions v ON v.id = r.base_version_id WHERE r.id = ?1";
// ?1 round, ?2..?6 counts, ?7 ended_at_ms, ?8 result version or failure reason.
constexpr std::string_view kCompleteRound =
    "UPDATE rounds SET state = 'completed', selected = ?2, advertised = ?3, shared_keys = ?4,"
    " masked_input = ?5, unmasked = ?6, ended_at_ms = ?7, result_version_id = ?8"
    " WHERE id = ?1 AND state = 'running'";
constexpr std::string_view kInsertPrivacy =
    "INSERT INTO privacy_ledger (round_id, population, version_id, at_ms, mechanism,"
    " sampling_rate, noise_multiplier, clip, expected_clients, survivors, bits, modular_clips,"
    " epsilon, delta, rdp_order)"
    " VALUES (?1, (SELECT population FROM rounds WHERE id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
    " ?10, ?11, ?12, ?13, ?14)";
constexpr std::string_view kSelectPrivacy =
    "SELECT round_id, population, version_id, at_ms, mechanism, sampling_rate, noise_multiplier,"
    " clip, expected_clients, survivors, bits, modular_clips, epsilon, delta, rdp_order"
    " FROM privacy_ledger WHERE population = ?1 ORDER BY round_id";
// The same columns, newest first, for the tail (privacy_ledger_by_population
// answers both without a sort).
constexpr std::string_view kSelectPrivacyNewest =
    "SELECT round_id, population, version_id, at_ms, mechanism, sampling_rate, noise_multiplier,"
    " clip, expected_clients, survivors, bits, modular_clips, epsilon, delta, rdp_order"
    " FROM privacy_ledger WHERE population = ?1 ORDER BY round_id DESC LIMIT ?2";
constexpr std::string_view kCountPrivacy =
    "SELECT COUNT(*) FROM privacy_ledger WHERE population = ?1";
constexpr std::string_view kFailRound =
    "UPDATE rounds SET state = 'failed', selected = ?2, advertised = ?3, shared_keys = ?4,"
    " masked_input = ?5, unmasked = ?6, ended_at_ms = ?7, failure_reason = ?8"
    " WHERE id = ?1 AND state = 'running'";
constexpr std::string_view kSelectRunningRoundIds =
    "SELECT id FROM rounds WHERE state = 'running' ORDER BY id";
constexpr std::string_view kFailRunningRounds =
    "UPDATE rounds SET state = 'failed', failure_reason = ?1, ended_at_ms = ?2"
    " WHERE state = 'running'";

constexpr std::string_view kInsertClient =
    "INSERT INTO clients (public_key, enrolled_at_ms, label) VALUES (?1, ?2, ?3)";
constexpr std::string_view kSelectClientById =
    "SELECT id, public_key, enrolled_at_ms, label, revoked_at_ms FROM clients WHERE id = ?1";
constexpr std::string_view kSelectClientByKey =
    "SELECT id, public_key, enrolled_at_ms, label, revoked_at_ms FROM clients"
    " WHERE public_key = ?1";
constexpr std::string_view kRevokeClient =
    "UPDATE clients SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL";
constexpr std::string_view kRevokeTokenOfClient =
    "UPDATE device_tokens SET revoked_at_ms = ?2 WHERE client_id = ?1 AND revoked_at_ms IS NULL";

constexpr std::string_view kInsertDeviceToken =
    "INSERT INTO device_tokens (token_hash, label, issued_at_ms) VALUES (?1, ?2, ?3)";
constexpr std::string_view kListDeviceTokens =
    "SELECT id, token_hash, label, issued_at_ms, client_id, spent_at_ms, revoked_at_ms"
    " FROM device_tokens ORDER BY id";
constexpr std::string_view kSelectDeviceTokenByHash =
    "SELECT id, token_hash, label, issued_at_ms, client_id, spent_at_ms, revoked_at_ms"
    " FROM device_tokens WHERE token_hash = ?1";
// At most two rows: enough to tell "one match" from "ambiguous". The prefix
// is validated as hex digits first, so it holds no LIKE wildcard.
constexpr std::string_view kSelectDeviceTokensByPrefix =
    "SELECT id, token_hash, label, issued_at_ms, client_id, spent_at_ms, revoked_at_ms"
    " FROM device_tokens WHERE lower(hex(token_hash)) LIKE ?1 || '%' ORDER BY id LIMIT 2";
constexpr std::string_view kSpendDeviceToken =
    "UPDATE device_tokens SET client_id = ?2, spent_at_ms = ?3"
    " WHERE id = ?1 AND client_id IS NULL AND revoked_at_ms IS NULL";
constexpr std::string_view kRevokeDeviceToken =
    "UPDATE device_tokens SET revoked_at_ms = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL";

// --- Validation and row decoding --------------------------------------------

std::string version_label(int64_t id) { return "model version " + std::to_string(id); }
std::string round_label(int64_t id) { return "round " + std::to_string(id); }

std::string_view key_bytes(const ClientPublicKey& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

// `owner` names what the metrics belong to, for the message.
Status validate(const VersionMetrics& metrics, const std::string& owner) {
  for (const auto& [name, value] : metrics) {
    if (name.empty()) return InvalidArgument("a metric of " + owner + " has no name");
    if (!std::isfinite(value)) {
      return InvalidArgument("metric '" + name + "' of " + owner + " is not finite");
    }
  }
  return Status::Ok();
}

Status validate(const NewVersion& version) {
  if (version.model.empty()) return InvalidArgument("a model version needs a model name");
  return validate(version.metrics, version.model);
}

int64_t clamp_limit(size_t limit) {
  return static_cast<int64_t>(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max()));
}

// Each stage's clients are a subset of the previous stage's (DESIGN.md section 3).
Status validate(const StageCounts& c) {
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (c.selected > kMax) return InvalidArgument("stage count out of range");
  if (c.advertised > c.selected || c.shared_keys > c.advertised || c.masked_input > c.shared_keys ||
      c.unmasked > c.masked_input) {
    return InvalidArgument(
        "stage counts must not grow from one stage to the next: selected " +
        std::to_string(c.selected) + ", advertised " + std::to_string(c.advertised) +
        ", shared_keys " + std::to_string(c.shared_keys) + ", masked_input " +
        std::to_string(c.masked_input) + ", unmasked " + std::to_string(c.unmasked));
  }
  return Status::Ok();
}

void bind_counts(SqliteStatement& s, const StageCounts& c) {
  s.bind_int64(2, static_cast<int64_t>(c.selected));
  s.bind_int64(3, static_cast<int64_t>(c.advertised));
  s.bind_int64(4, static_cast<int64_t>(c.shared_keys));
  s.bind_int64(5, static_cast<int64_t>(c.masked_input));
  s.bind_int64(6, static_cast<int64_t>(c.unmasked));
}

// Columns: id, model, parent_id, round_id, created_at_ms, stage[, model_bytes, optimizer_state].
Result<ModelVersion> version_from_row(const SqliteStatement& s, bool with_payloads) {
  ModelVersion v;
  v.id = s.column_int64(0);
  v.model = s.column_text(1);
  v.parent_id = s.column_optional_int64(2);
  v.round_id = s.column_optional_int64(3);
  v.created_at_ms = s.column_int64(4);
  const std::string stage = s.column_text(5);
  const std::optional<VersionStage> parsed = parse_version_stage(stage);
  if (!parsed) return DataLoss(version_label(v.id) + " has an unknown stage '" + stage + "'");
  v.stage = *parsed;
  if (with_payloads) {
    v.model_bytes = s.column_blob(6);
    v.optimizer_state = s.column_blob(7);
  }
  return v;
}

// Columns as in kSelectRound.
Result<RoundRecord> round_from_row(const SqliteStatement& s) {
  RoundRecord r;
  r.id = s.column_int64(0);
  r.population = s.column_text(1);
  r.base_version_id = s.column_int64(2);
  const std::string state = s.column_text(3);
  const std::optional<RoundState> parsed = parse_round_state(state);
  if (!parsed) return DataLoss(round_label(r.id) + " has an unknown state '" + state + "'");
  r.state = *parsed;
  r.failure_reason = s.column_text(4);
  r.counts.selected = static_cast<uint64_t>(s.column_int64(5));
  r.counts.advertised = static_cast<uint64_t>(s.column_int64(6));
  r.counts.shared_keys = static_cast<uint64_t>(s.column_int64(7));
  r.counts.masked_input = static_cast<uint64_t>(s.column_int64(8));
  r.counts.unmasked = static_cast<uint64_t>(s.column_int64(9));
  r.started_at_ms = s.column_int64(10);
  r.ended_at_ms = s.column_optional_int64(11);
  r.result_version_id = s.column_optional_int64(12);
  return r;
}

// Columns: id, public_key, enrolled_at_ms, label.
Result<ClientEnrolment> client_from_row(const SqliteStatement& s) {
  ClientEnrolment c;
  c.client_id = static_cast<uint64_t>(s.column_int64(0));
  const std::string key = s.column_blob(1);
  if (key.size() != c.public_key.size()) {
    return DataLoss("client " + std::to_string(c.client_id) + " has a " +
                    std::to_string(key.size()) + "-byte public key");
  }
  std::memcpy(c.public_key.data(), key.data(), key.size());
  c.enrolled_at_ms = s.column_int64(2);
  if (!s.column_is_null(3)) c.label = s.column_text(3);
  c.revoked_at_ms = s.column_optional_int64(4);
  return c;
}

// Columns as in kListDeviceTokens.
Result<DeviceToken> token_from_row(const SqliteStatement& s) {
  DeviceToken t;
  t.id = s.column_int64(0);
  const std::string hash = s.column_blob(1);
  if (hash.size() != t.hash.size()) {
    return DataLoss("device token " + std::to_string(t.id) + " has a " +
                    std::to_string(hash.size()) + "-byte hash");
  }
  std::memcpy(t.hash.data(), hash.data(), hash.size());
  if (!s.column_is_null(2)) t.label = s.column_text(2);
  t.issued_at_ms = s.column_int64(3);
  if (auto client = s.column_optional_int64(4)) t.client_id = static_cast<uint64_t>(*client);
  t.spent_at_ms = s.column_optional_int64(5);
  t.revoked_at_ms = s.column_optional_int64(6);
  return t;
}

std::string_view hash_bytes(const DeviceTokenHash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace

// --- Opening ----------------------------------------------------------------

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const SqliteStoreOptions& options) {
  if (path.empty()) return InvalidArgument("store path is empty (use \":memory:\" for tests)");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));  // closes db on every return below
  const Status status = rc == SQLITE_OK ? store->configure(path == ":memory:", options)
                                        : sqlite_status(db, rc, "opening");
  if (!status.ok()) return Status(status.code(), "store " + path + ": " + status.message());
  return store;
}

Status SqliteStore::configure(bool in_memory, const SqliteStoreOptions& options) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);

  // The first statement reads the file header: garbage fails here as NOTADB.
  FL_STORE_TRY(journal, pragma("PRAGMA journal_mode = WAL"));
  if (journal != (in_memory ? "memory" : "wal")) {
    return FailedPrecondition("could not switch to WAL journaling (journal mode is '" + journal +
                              "'); is the file on a network filesystem?");
  }
  // FULL: the WAL is fsync'ed at every commit, so nothing committed (above
  // all, nothing published) is lost to a power cut, not only to a crash.
  FL_RETURN_IF_ERROR(pragma("PRAGMA synchronous = FULL").status());
  FL_RETURN_IF_ERROR(pragma("PRAGMA foreign_keys = ON").status());
  FL_STORE_TRY(foreign_keys, pragma("PRAGMA foreign_keys"));
  if (foreign_keys != "1") return FailedPrecondition("this SQLite cannot enforce foreign keys");
  // A database file is input: do not let its schema run functions with side
  // effects, and check cell sizes so a damaged page is an error, not a read
  // past a buffer.
  FL_RETURN_IF_ERROR(pragma("PRAGMA trusted_schema = OFF").status());
  FL_RETURN_IF_ERROR(pragma("PRAGMA cell_size_check = ON").status());
  return ensure_sqlite_schema(db_);
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}

SqliteStore::~SqliteStore() {
  statements_.clear();  // finalised before the connection closes
  sqlite3_close_v2(db_);
}

Result<std::string> SqliteStore::pragma(std::string_view sql) {
  FL_STORE_TRY(prepared, SqliteStatement::prepare(db_, sql));
  FL_STORE_TRY(row, prepared->step());
  return row ? prepared->column_text(0) : std::string();
}

Result<ScopedStatement> SqliteStore::statement(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    FL_STORE_TRY(prepared, SqliteStatement::prepare(db_, sql));
    it = statements_.emplace(sql, std::move(prepared)).first;
  }
  if (it->second->in_use()) {
    return Internal("statement used twice at once (a store bug): `" + std::string(sql) + "`");
  }
  return ScopedStatement(it->second.get());
}

// --- Model versions ---------------------------------------------------------

Result<int64_t> SqliteStore::insert_version_locked(const NewVersion& version,
                                                   std::optional<int64_t> round_id) {
  if (version.parent_id) {
    // Checked here for a clear NotFound; the foreign key would also refuse it.
    FL_STORE_TRY(parent, statement(kSelectVersionStage));
    parent->bind_int64(1, *version.parent_id);
    FL_STORE_TRY(found, parent->step());
    if (!found) return NotFound("parent " + version_label(*version.parent_id) + " does not exist");
  }
  FL_STORE_TRY(insert, statement(kInsertVersion));
  insert->bind_text(1, version.model);
  insert->bind_optional_int64(2, version.parent_id);
  insert->bind_optional_int64(3, round_id);
  insert->bind_int64(4, version.created_at_ms);
  insert->bind_blob(5, version.model_bytes);
  insert->bind_blob(6, version.optimizer_state);
  FL_RETURN_IF_ERROR(insert->execute());
  const int64_t id = sqlite3_last_insert_rowid(db_);

  for (const auto& [name, value] : version.metrics) {
    FL_STORE_TRY(metric, statement(kInsertMetric));
    metric->bind_int64(1, id);
    metric->bind_text(2, name);
    metric->bind_double(3, value);
    FL_RETURN_IF_ERROR(metric->execute());
  }
  return id;
}

Result<int64_t> SqliteStore::add_version(const NewVersion& version) {
  FL_RETURN_IF_ERROR(validate(version));
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  FL_STORE_TRY(id, insert_version_locked(version, std::nullopt));
  FL_RETURN_IF_ERROR(transaction.commit());
  return id;
}

Result<ModelVersion> SqliteStore::read_version_locked(int64_t id) {
  ModelVersion version;
  {
    FL_STORE_TRY(select, statement(kSelectVersion));
    select->bind_int64(1, id);
    FL_STORE_TRY(found, select->step());
    if (!found) return NotFound(version_label(id) + " does not exist");
    FL_STORE_TRY(decoded, version_from_row(*select, /*with_payloads=*/true));
    version = std::move(decoded);
  }
  FL_STORE_TRY(metrics, statement(kSelectMetrics));
  metrics->bind_int64(1, id);
  while (true) {
    FL_STORE_TRY(row, metrics->step());
    if (!row) break;
    version.metrics.emplace(metrics->column_text(0), metrics->column_double(1));
  }
  return version;
}

Result<ModelVersion> SqliteStore::get_version(int64_t id) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  FL_STORE_TRY(version, read_version_locked(id));
  FL_RETURN_IF_ERROR(transaction.commit());
  return std::move(version);
}

Result<ModelVersion> SqliteStore::latest_version(std::string_view model,
                                                 std::optional<VersionStage> stage) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  int64_t id = 0;
  {
    FL_STORE_TRY(select, statement(kSelectLatestVersionId));
    select->bind_text(1, model);
    select->bind_optional_text(
        2, stage ? std::optional<std::string>(version_stage_name(*stage)) : std::nullopt);
    FL_STORE_TRY(found, select->step());
    if (!found) {
      return NotFound("model '" + std::string(model) + "' has no " +
                      (stage ? std::string(version_stage_name(*stage)) + " " : std::string()) +
                      "version");
    }
    id = select->column_int64(0);
  }
  FL_STORE_TRY(version, read_version_locked(id));
  FL_RETURN_IF_ERROR(transaction.commit());
  return std::move(version);
}

Result<std::vector<ModelVersion>> SqliteStore::list_versions(std::string_view model) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  std::vector<ModelVersion> versions;
  std::unordered_map<int64_t, size_t> index_of;
  {
    FL_STORE_TRY(select, statement(kListVersions));
    select->bind_text(1, model);
    while (true) {
      FL_STORE_TRY(row, select->step());
      if (!row) break;
      FL_STORE_TRY(version, version_from_row(*select, /*with_payloads=*/false));
      index_of.emplace(version.id, versions.size());
      versions.push_back(std::move(version));
    }
  }
  FL_STORE_TRY(metrics, statement(kListMetrics));
  metrics->bind_text(1, model);
  while (true) {
    FL_STORE_TRY(row, metrics->step());
    if (!row) break;
    const auto it = index_of.find(metrics->column_int64(0));
    if (it == index_of.end()) continue;  // not possible within one snapshot
    versions[it->second].metrics.emplace(metrics->column_text(1), metrics->column_double(2));
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return versions;
}

Result<VersionStage> SqliteStore::stage_of_locked(int64_t id, std::string* model) {
  FL_STORE_TRY(select, statement(kSelectVersionStage));
  select->bind_int64(1, id);
  FL_STORE_TRY(found, select->step());
  if (!found) return NotFound(version_label(id) + " does not exist");
  *model = select->column_text(0);
  const std::string stage = select->column_text(1);
  const std::optional<VersionStage> parsed = parse_version_stage(stage);
  if (!parsed) return DataLoss(version_label(id) + " has an unknown stage '" + stage + "'");
  return *parsed;
}

Status SqliteStore::publish_locked(std::string_view model, int64_t id, const PublishInfo& info) {
  std::string owner;
  FL_STORE_TRY(stage, stage_of_locked(id, &owner));
  if (owner != model) {
    return FailedPrecondition(version_label(id) + " is a version of model '" + owner +
                              "', not of '" + std::string(model) + "'");
  }
  std::optional<int64_t> previous;
  {
    FL_STORE_TRY(select, statement(kSelectPublishedId));
    select->bind_text(1, model);
    FL_STORE_TRY(found, select->step());
    if (found) previous = select->column_int64(0);
  }
  if (info.expected_published &&
      previous.value_or(kNoPublishedVersion) != *info.expected_published) {
    const auto describe = [](std::optional<int64_t> v) {
      return v && *v != kNoPublishedVersion ? version_label(*v) : std::string("none");
    };
    return Aborted("publishing " + version_label(id) + " of '" + std::string(model) +
                   "' expected the published version to be " + describe(info.expected_published) +
                   " but it is " + describe(previous) +
                   " (changed by another writer); decide again");
  }
  // Checked after the expectation, so that a caller who expected another
  // version learns of the change even when it is the one it wanted: it must
  // not report a change it did not make.
  if (stage == VersionStage::kPublished) return Status::Ok();  // no change, no entry
  {
    FL_STORE_TRY(retire, statement(kRetirePublished));
    retire->bind_text(1, model);
    FL_RETURN_IF_ERROR(retire->execute());
  }
  {
    FL_STORE_TRY(promote, statement(kSetStage));
    promote->bind_int64(1, id);
    promote->bind_text(2, version_stage_name(VersionStage::kPublished));
    FL_RETURN_IF_ERROR(promote->execute());
  }
  FL_STORE_TRY(record, statement(kInsertPublication));
  record->bind_text(1, model);
  record->bind_int64(2, id);
  record->bind_optional_int64(3, previous);
  record->bind_int64(4, info.at_ms);
  record->bind_text(5, info.reason);
  record->bind_text(6, info.actor);
  return record->execute();
}

Status SqliteStore::publish(std::string_view model, int64_t id) {
  return publish(model, id, PublishInfo{});
}

Status SqliteStore::publish(std::string_view model, int64_t id, const PublishInfo& info) {
  if (info.reason.empty()) return InvalidArgument("a publish needs a reason for the history");
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  FL_RETURN_IF_ERROR(publish_locked(model, id, info));
  return transaction.commit();
}

Result<std::vector<Publication>> SqliteStore::list_publications(std::string_view model,
                                                                size_t limit) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(select, statement(kListPublications));
  select->bind_text(1, model);
  select->bind_int64(2, clamp_limit(limit));
  std::vector<Publication> publications;
  while (true) {
    FL_STORE_TRY(row, select->step());
    if (!row) break;
    Publication p;
    p.id = select->column_int64(0);
    p.model = select->column_text(1);
    p.version_id = select->column_int64(2);
    p.previous_version_id = select->column_optional_int64(3);
    p.at_ms = select->column_int64(4);
    p.reason = select->column_text(5);
    p.actor = select->column_text(6);
    publications.push_back(std::move(p));
  }
  return publications;
}

Status SqliteStore::update_metrics(int64_t id, const VersionMetrics& metrics) {
  FL_RETURN_IF_ERROR(validate(metrics, version_label(id)));
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  {
    std::string model;
    FL_RETURN_IF_ERROR(stage_of_locked(id, &model).status());
  }
  for (const auto& [name, value] : metrics) {
    FL_STORE_TRY(upsert, statement(kUpsertMetric));
    upsert->bind_int64(1, id);
    upsert->bind_text(2, name);
    upsert->bind_double(3, value);
    FL_RETURN_IF_ERROR(upsert->execute());
  }
  return transaction.commit();
}

Status SqliteStore::set_stage(int64_t id, VersionStage stage) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  std::string model;
  FL_STORE_TRY(current, stage_of_locked(id, &model));
  if (stage == VersionStage::kPublished) {
    FL_RETURN_IF_ERROR(publish_locked(model, id, PublishInfo{}));
    return transaction.commit();
  }
  if (current == stage) return Status::Ok();
  if (current == VersionStage::kPublished) {
    return FailedPrecondition(version_label(id) + " is the published version of '" + model +
                              "'; publish another version instead, so one stays published");
  }
  if (stage == VersionStage::kCandidate) {
    return FailedPrecondition(version_label(id) +
                              " is retired and cannot become a candidate again; publish it to"
                              " roll back to it");
  }
  FL_STORE_TRY(update, statement(kSetStage));
  update->bind_int64(1, id);
  update->bind_text(2, version_stage_name(stage));
  FL_RETURN_IF_ERROR(update->execute());
  return transaction.commit();
}

// --- Rounds -----------------------------------------------------------------

Result<int64_t> SqliteStore::begin_round(const NewRound& round) {
  if (round.population.empty()) return InvalidArgument("a round needs a population name");
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  {
    FL_STORE_TRY(base, statement(kSelectVersionStage));
    base->bind_int64(1, round.base_version_id);
    FL_STORE_TRY(found, base->step());
    if (!found) {
      return NotFound("base " + version_label(round.base_version_id) +
                      " of the round does not exist");
    }
  }
  FL_STORE_TRY(insert, statement(kInsertRound));
  insert->bind_text(1, round.population);
  insert->bind_int64(2, round.base_version_id);
  insert->bind_int64(3, round.started_at_ms);
  FL_RETURN_IF_ERROR(insert->execute());
  const int64_t id = sqlite3_last_insert_rowid(db_);
  FL_RETURN_IF_ERROR(transaction.commit());
  return id;
}

namespace {

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

Status validate(const PrivacySpend& p) {
  if (p.mechanism != "central" && p.mechanism != "distributed")
    return InvalidArgument("privacy ledger: mechanism must be central or distributed, not '" +
                           p.mechanism + "'");
  if (!finite_in(p.sampling_rate, 0, 1) || p.sampling_rate <= 0)
    return InvalidArgument("privacy ledger: sampling rate must be in (0, 1]");
  if (!std::isfinite(p.noise_multiplier) || p.noise_multiplier <= 0)
    return InvalidArgument("privacy ledger: noise multiplier must be positive");
  if (!std::isfinite(p.clip) || p.clip <= 0)
    return InvalidArgument("privacy ledger: clip must be positive");
  if (p.expected_clients == 0) return InvalidArgument("privacy ledger: expected clients is 0");
  if (!std::isfinite(p.epsilon) || p.epsilon < 0)
    return InvalidArgument("privacy ledger: epsilon must be finite and >= 0");
  if (!(p.delta > 0 && p.delta < 1)) return InvalidArgument("privacy ledger: delta not in (0, 1)");
  if (!std::isfinite(p.order)) return InvalidArgument("privacy ledger: order must be finite");
  return Status::Ok();
}

}  // namespace

Result<int64_t> SqliteStore::complete_round(int64_t round_id, const StageCounts& counts,
                                            const NewVersion& result, int64_t ended_at_ms,
                                            const std::optional<PrivacySpend>& privacy) {
  FL_RETURN_IF_ERROR(validate(counts));
  FL_RETURN_IF_ERROR(validate(result));
  if (privacy) FL_RETURN_IF_ERROR(validate(*privacy));
  std::lock_guard lock(mu_);
  // One transaction: the round is completed if and only if its version exists.
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  NewVersion version = result;
  {
    FL_STORE_TRY(select, statement(kSelectRoundBase));
    select->bind_int64(1, round_id);
    FL_STORE_TRY(found, select->step());
    if (!found) return NotFound(round_label(round_id) + " does not exist");
    const std::string state = select->column_text(0);
    if (state != round_state_name(RoundState::kRunning)) {
      return FailedPrecondition(round_label(round_id) + " is " + state + ", not running");
    }
    const std::string base_model = select->column_text(2);
    if (base_model != result.model) {
      return FailedPrecondition(round_label(round_id) + " trains model '" + base_model +
                                "', but its result names '" + result.model + "'");
    }
    if (!version.parent_id) version.parent_id = select->column_int64(1);
  }
  FL_STORE_TRY(version_id, insert_version_locked(version, round_id));
  {
    FL_STORE_TRY(update, statement(kCompleteRound));
    update->bind_int64(1, round_id);
    bind_counts(*update, counts);
    update->bind_int64(7, ended_at_ms);
    update->bind_int64(8, version_id);
    FL_RETURN_IF_ERROR(update->execute());
  }
  if (privacy) {
    FL_STORE_TRY(insert, statement(kInsertPrivacy));
    insert->bind_int64(1, round_id);
    insert->bind_int64(2, version_id);
    insert->bind_int64(3, ended_at_ms);
    insert->bind_text(4, privacy->mechanism);
    insert->bind_double(5, privacy->sampling_rate);
    insert->bind_double(6, privacy->noise_multiplier);
    insert->bind_double(7, privacy->clip);
    insert->bind_int64(8, static_cast<int64_t>(privacy->expected_clients));
    insert->bind_int64(9, static_cast<int64_t>(privacy->survivors));
    insert->bind_int64(10, privacy->bits);
    insert->bind_int64(11, static_cast<int64_t>(privacy->modular_clips));
    insert->bind_double(12, privacy->epsilon);
    insert->bind_double(13, privacy->delta);
    insert->bind_double(14, privacy->order);
    FL_RETURN_IF_ERROR(insert->execute());
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return version_id;
}

namespace {

// A row of kSelectPrivacy or kSelectPrivacyNewest.
PrivacyLedgerEntry read_ledger_row(const SqliteStatement& select) {
  PrivacyLedgerEntry e;
  e.round_id = select.column_int64(0);
  e.population = select.column_text(1);
  e.version_id = select.column_int64(2);
  e.at_ms = select.column_int64(3);
  e.spend.mechanism = select.column_text(4);
  e.spend.sampling_rate = select.column_double(5);
  e.spend.noise_multiplier = select.column_double(6);
  e.spend.clip = select.column_double(7);
  e.spend.expected_clients = static_cast<uint64_t>(select.column_int64(8));
  e.spend.survivors = static_cast<uint64_t>(select.column_int64(9));
  e.spend.bits = static_cast<uint32_t>(select.column_int64(10));
  e.spend.modular_clips = static_cast<uint64_t>(select.column_int64(11));
  e.spend.epsilon = select.column_double(12);
  e.spend.delta = select.column_double(13);
  e.spend.order = select.column_double(14);
  return e;
}

}  // namespace

Result<std::vector<PrivacyLedgerEntry>> SqliteStore::privacy_ledger(std::string_view population) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  std::vector<PrivacyLedgerEntry> rows;
  {
    FL_STORE_TRY(select, statement(kSelectPrivacy));
    select->bind_text(1, population);
    while (true) {
      FL_STORE_TRY(row, select->step());
      if (!row) break;
      rows.push_back(read_ledger_row(*select));
    }
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return rows;
}

Result<PrivacyLedgerTail> SqliteStore::privacy_ledger_tail(std::string_view population,
                                                           size_t limit) {
  std::lock_guard lock(mu_);
  // One read transaction: the count and the rows describe the same ledger.
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  PrivacyLedgerTail tail;
  {
    FL_STORE_TRY(count, statement(kCountPrivacy));
    count->bind_text(1, population);
    FL_STORE_TRY(row, count->step());
    if (row) tail.rounds = static_cast<uint64_t>(count->column_int64(0));
  }
  if (limit > 0 && tail.rounds > 0) {
    FL_STORE_TRY(select, statement(kSelectPrivacyNewest));
    select->bind_text(1, population);
    select->bind_int64(2, clamp_limit(limit));
    while (true) {
      FL_STORE_TRY(row, select->step());
      if (!row) break;
      tail.rows.push_back(read_ledger_row(*select));
    }
    std::reverse(tail.rows.begin(), tail.rows.end());
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return tail;
}

Status SqliteStore::fail_round(int64_t round_id, std::string_view reason, const StageCounts& counts,
                               int64_t ended_at_ms) {
  if (reason.empty()) return InvalidArgument("failing a round needs a reason");
  FL_RETURN_IF_ERROR(validate(counts));
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  FL_STORE_TRY(round, read_round_locked(round_id));
  if (round.state != RoundState::kRunning) {
    return FailedPrecondition(round_label(round_id) + " is " +
                              std::string(round_state_name(round.state)) + ", not running");
  }
  FL_STORE_TRY(update, statement(kFailRound));
  update->bind_int64(1, round_id);
  bind_counts(*update, counts);
  update->bind_int64(7, ended_at_ms);
  update->bind_text(8, reason);
  FL_RETURN_IF_ERROR(update->execute());
  return transaction.commit();
}

Result<std::vector<int64_t>> SqliteStore::fail_running_rounds(std::string_view reason,
                                                              int64_t ended_at_ms) {
  if (reason.empty()) return InvalidArgument("failing rounds needs a reason");
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  std::vector<int64_t> ids;
  {
    FL_STORE_TRY(select, statement(kSelectRunningRoundIds));
    while (true) {
      FL_STORE_TRY(row, select->step());
      if (!row) break;
      ids.push_back(select->column_int64(0));
    }
  }
  if (ids.empty()) return ids;
  {
    FL_STORE_TRY(update, statement(kFailRunningRounds));
    update->bind_text(1, reason);
    update->bind_int64(2, ended_at_ms);
    FL_RETURN_IF_ERROR(update->execute());
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return ids;
}

Result<RoundRecord> SqliteStore::read_round_locked(int64_t id) {
  FL_STORE_TRY(select, statement(kSelectRound));
  select->bind_int64(1, id);
  FL_STORE_TRY(found, select->step());
  if (!found) return NotFound(round_label(id) + " does not exist");
  return round_from_row(*select);
}

Result<RoundRecord> SqliteStore::get_round(int64_t id) {
  std::lock_guard lock(mu_);
  return read_round_locked(id);
}

Result<std::vector<RoundRecord>> SqliteStore::list_rounds(size_t limit) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kRead));
  std::vector<int64_t> ids;
  {
    FL_STORE_TRY(select, statement(kListRoundIds));
    select->bind_int64(1, clamp_limit(limit));
    while (true) {
      FL_STORE_TRY(row, select->step());
      if (!row) break;
      ids.push_back(select->column_int64(0));
    }
  }
  std::vector<RoundRecord> rounds;
  rounds.reserve(ids.size());
  for (int64_t id : ids) {
    FL_STORE_TRY(round, read_round_locked(id));
    rounds.push_back(std::move(round));
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return rounds;
}

// --- Clients ----------------------------------------------------------------

Result<uint64_t> SqliteStore::enroll(const ClientPublicKey& public_key, int64_t enrolled_at_ms,
                                     std::optional<std::string> label) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  {
    FL_STORE_TRY(existing, statement(kSelectClientByKey));
    existing->bind_blob(1, key_bytes(public_key));
    FL_STORE_TRY(found, existing->step());
    if (found) {
      return AlreadyExists("this public key is already enrolled as client " +
                           std::to_string(existing->column_int64(0)));
    }
  }
  FL_STORE_TRY(insert, statement(kInsertClient));
  insert->bind_blob(1, key_bytes(public_key));
  insert->bind_int64(2, enrolled_at_ms);
  insert->bind_optional_text(3, label);
  FL_RETURN_IF_ERROR(insert->execute());
  const auto id = static_cast<uint64_t>(sqlite3_last_insert_rowid(db_));
  FL_RETURN_IF_ERROR(transaction.commit());
  return id;
}

Result<ClientEnrolment> SqliteStore::find_client(uint64_t client_id) {
  const std::string label = "client " + std::to_string(client_id);
  if (client_id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return NotFound(label + " does not exist");
  }
  std::lock_guard lock(mu_);
  FL_STORE_TRY(select, statement(kSelectClientById));
  select->bind_int64(1, static_cast<int64_t>(client_id));
  FL_STORE_TRY(found, select->step());
  if (!found) return NotFound(label + " does not exist");
  return client_from_row(*select);
}

Result<ClientEnrolment> SqliteStore::find_client_by_key(const ClientPublicKey& public_key) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(select, statement(kSelectClientByKey));
  select->bind_blob(1, key_bytes(public_key));
  FL_STORE_TRY(found, select->step());
  if (!found) return NotFound("no client is enrolled with this public key");
  return client_from_row(*select);
}

// --- Device tokens ----------------------------------------------------------

Result<std::vector<int64_t>> SqliteStore::add_device_tokens(
    const std::vector<DeviceTokenHash>& hashes, int64_t issued_at_ms,
    std::optional<std::string> label) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  std::vector<int64_t> ids;
  ids.reserve(hashes.size());
  for (const DeviceTokenHash& hash : hashes) {
    {
      FL_STORE_TRY(existing, statement(kSelectDeviceTokenByHash));
      existing->bind_blob(1, hash_bytes(hash));
      FL_STORE_TRY(found, existing->step());
      if (found) return AlreadyExists("a device token with this hash was already issued");
    }
    FL_STORE_TRY(insert, statement(kInsertDeviceToken));
    insert->bind_blob(1, hash_bytes(hash));
    insert->bind_optional_text(2, label);
    insert->bind_int64(3, issued_at_ms);
    FL_RETURN_IF_ERROR(insert->execute());
    ids.push_back(sqlite3_last_insert_rowid(db_));
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return ids;
}

Result<std::vector<DeviceToken>> SqliteStore::list_device_tokens() {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(select, statement(kListDeviceTokens));
  std::vector<DeviceToken> tokens;
  while (true) {
    FL_STORE_TRY(row, select->step());
    if (!row) break;
    FL_STORE_TRY(token, token_from_row(*select));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

Result<uint64_t> SqliteStore::enroll_with_token(const DeviceTokenHash& token_hash,
                                                const ClientPublicKey& public_key,
                                                int64_t enrolled_at_ms,
                                                std::optional<std::string> label) {
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  DeviceToken token;
  {
    FL_STORE_TRY(select, statement(kSelectDeviceTokenByHash));
    select->bind_blob(1, hash_bytes(token_hash));
    FL_STORE_TRY(found, select->step());
    if (!found) return PermissionDenied("unknown device token");
    FL_STORE_TRY(row, token_from_row(*select));
    token = std::move(row);
  }
  if (token.revoked_at_ms) return PermissionDenied("this device token was revoked");
  std::optional<ClientEnrolment> existing;
  {
    FL_STORE_TRY(select, statement(kSelectClientByKey));
    select->bind_blob(1, key_bytes(public_key));
    FL_STORE_TRY(found, select->step());
    if (found) {
      FL_STORE_TRY(client, client_from_row(*select));
      existing = std::move(client);
    }
  }
  if (token.client_id) {
    // Spent: only its own client may present it again (a device restarting).
    if (existing && existing->client_id == *token.client_id) {
      if (existing->revoked_at_ms) return PermissionDenied("this client was revoked");
      FL_RETURN_IF_ERROR(transaction.commit());
      return existing->client_id;
    }
    return PermissionDenied("this device token was already used by another identity");
  }
  if (existing) {
    if (existing->revoked_at_ms) return PermissionDenied("this client was revoked");
    return AlreadyExists("this public key is already enrolled as client " +
                         std::to_string(existing->client_id) + " without this device token");
  }
  FL_STORE_TRY(insert, statement(kInsertClient));
  insert->bind_blob(1, key_bytes(public_key));
  insert->bind_int64(2, enrolled_at_ms);
  insert->bind_optional_text(3, label);
  FL_RETURN_IF_ERROR(insert->execute());
  const int64_t id = sqlite3_last_insert_rowid(db_);
  FL_STORE_TRY(spend, statement(kSpendDeviceToken));
  spend->bind_int64(1, token.id);
  spend->bind_int64(2, id);
  spend->bind_int64(3, enrolled_at_ms);
  FL_RETURN_IF_ERROR(spend->execute());
  if (sqlite3_changes(db_) != 1) return Aborted("the device token changed during enrolment");
  FL_RETURN_IF_ERROR(transaction.commit());
  return static_cast<uint64_t>(id);
}

Status SqliteStore::revoke_client(uint64_t client_id, int64_t at_ms) {
  const std::string label = "client " + std::to_string(client_id);
  if (client_id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return NotFound(label + " does not exist");
  }
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  {
    FL_STORE_TRY(select, statement(kSelectClientById));
    select->bind_int64(1, static_cast<int64_t>(client_id));
    FL_STORE_TRY(found, select->step());
    if (!found) return NotFound(label + " does not exist");
  }
  for (std::string_view sql : {kRevokeClient, kRevokeTokenOfClient}) {
    FL_STORE_TRY(update, statement(sql));
    update->bind_int64(1, static_cast<int64_t>(client_id));
    update->bind_int64(2, at_ms);
    FL_RETURN_IF_ERROR(update->execute());
  }
  return transaction.commit();
}

Result<DeviceToken> SqliteStore::revoke_device_token(std::string_view hex_prefix, int64_t at_ms) {
  std::string prefix;
  for (char ch : hex_prefix) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) {
      return InvalidArgument("a token hash prefix is hex digits; '" + std::string(hex_prefix) +
                             "' is not");
    }
    prefix += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (prefix.size() < 8 || prefix.size() > 64) {
    return InvalidArgument(
        "a token hash prefix needs 8 to 64 hex digits (devices list shows them)");
  }
  std::lock_guard lock(mu_);
  FL_STORE_TRY(transaction, SqliteTransaction::begin(db_, Mode::kWrite));
  DeviceToken token;
  {
    FL_STORE_TRY(select, statement(kSelectDeviceTokensByPrefix));
    select->bind_text(1, prefix);
    FL_STORE_TRY(found, select->step());
    if (!found) return NotFound("no device token hash starts with " + prefix);
    FL_STORE_TRY(row, token_from_row(*select));
    token = std::move(row);
    FL_STORE_TRY(second, select->step());
    if (second) {
      return InvalidArgument("several device token hashes start with " + prefix +
                             "; give more digits");
    }
  }
  if (!token.revoked_at_ms) {
    FL_STORE_TRY(update, statement(kRevokeDeviceToken));
    update->bind_int64(1, token.id);
    update->bind_int64(2, at_ms);
    FL_RETURN_IF_ERROR(update->execute());
    token.revoked_at_ms = at_ms;
  }
  if (token.client_id) {
    FL_STORE_TRY(update, statement(kRevokeClient));
    update->bind_int64(1, static_cast<int64_t>(*token.client_id));
    update->bind_int64(2, at_ms);
    FL_RETURN_IF_ERROR(update->execute());
  }
  FL_RETURN_IF_ERROR(transaction.commit());
  return token;
}

}  // namespace fl::coordinator
