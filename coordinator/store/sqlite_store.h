// The embedded Store: one SQLite database file (DESIGN.md section 5).
//
// Durability: WAL journal with synchronous=FULL, so a commit returns only
// after the WAL is fsync'ed; a committed version survives a process crash and
// a power cut. Every multi-statement write runs in one BEGIN IMMEDIATE
// transaction, so a crash mid-operation leaves it wholly undone. Foreign keys
// are enforced and a partial unique index forbids two published versions of
// one model, so the invariants hold in the file, not only in this code. The
// schema and its versioning are in sqlite_schema.h.
//
// Not for: sharing state between coordinator replicas (DESIGN.md section 8);
// several processes may open one file (SQLite's locks and the busy timeout
// serialise writers) but that is for tools and tests, not for scale.
//
// Thread-safety: thread-safe. One connection, guarded by a mutex: calls are
// serialised, which suits a coordinator whose writes are a few per round.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "coordinator/store/store.h"

struct sqlite3;

namespace fl::coordinator {

class SqliteStatement;
class ScopedStatement;

struct SqliteStoreOptions {
  // How long a write waits for another process's lock before Unavailable.
  int busy_timeout_ms = 5000;
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path`; ":memory:" gives a private
  // in-memory database (for tests; nothing survives). DataLoss when the file
  // is damaged or not a SQLite database; FailedPrecondition when it was
  // written by a newer schema version or belongs to something else.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   const SqliteStoreOptions& options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<int64_t> add_version(const NewVersion& version) override;
  Result<ModelVersion> get_version(int64_t id) override;
  Result<ModelVersion> latest_version(std::string_view model,
                                      std::optional<VersionStage> stage) override;
  Result<std::vector<ModelVersion>> list_versions(std::string_view model) override;
  Status set_stage(int64_t id, VersionStage stage) override;
  Status publish(std::string_view model, int64_t id) override;
  Status publish(std::string_view model, int64_t id, const PublishInfo& info) override;
  Result<std::vector<Publication>> list_publications(std::string_view model, size_t limit) override;
  Status update_metrics(int64_t id, const VersionMetrics& metrics) override;

  Result<int64_t> begin_round(const NewRound& round) override;
  using Store::complete_round;
  Result<int64_t> complete_round(int64_t round_id, const StageCounts& counts,
                                 const NewVersion& result, int64_t ended_at_ms,
                                 const std::optional<PrivacySpend>& privacy) override;
  Status fail_round(int64_t round_id, std::string_view reason, const StageCounts& counts,
                    int64_t ended_at_ms) override;
  Result<std::vector<int64_t>> fail_running_rounds(std::string_view reason,
                                                   int64_t ended_at_ms) override;
  Result<RoundRecord> get_round(int64_t id) override;
  Result<std::vector<RoundRecord>> list_rounds(size_t limit) override;
  Result<std::vector<PrivacyLedgerEntry>> privacy_ledger(std::string_view population) override;
  Result<PrivacyLedgerTail> privacy_ledger_tail(std::string_view population, size_t limit) override;

  Result<uint64_t> enroll(const ClientPublicKey& public_key, int64_t enrolled_at_ms,
                          std::optional<std::string> label) override;
  Result<ClientEnrolment> find_client(uint64_t client_id) override;
  Result<ClientEnrolment> find_client_by_key(const ClientPublicKey& public_key) override;

  Result<std::vector<int64_t>> add_device_tokens(const std::vector<DeviceTokenHash>& hashes,
                                                 int64_t issued_at_ms,
                                                 std::optional<std::string> label) override;
  Result<std::vector<DeviceToken>> list_device_tokens() override;
  Result<uint64_t> enroll_with_token(const DeviceTokenHash& token,
                                     const ClientPublicKey& public_key, int64_t enrolled_at_ms,
                                     std::optional<std::string> label) override;
  Status revoke_client(uint64_t client_id, int64_t at_ms) override;
  Result<DeviceToken> revoke_device_token(std::string_view hex_prefix, int64_t at_ms) override;

 private:
  explicit SqliteStore(sqlite3* db);  // defined where SqliteStatement is complete
  Status configure(bool in_memory, const SqliteStoreOptions& options);

  // The cached prepared statement for `sql` (a string literal), reset on scope exit.
  Result<ScopedStatement> statement(std::string_view sql);

  // The *_locked helpers run inside the caller's transaction, under mu_.
  Result<int64_t> insert_version_locked(const NewVersion& version, std::optional<int64_t> round_id);
  Result<ModelVersion> read_version_locked(int64_t id);
  Result<VersionStage> stage_of_locked(int64_t id, std::string* model);
  Status publish_locked(std::string_view model, int64_t id, const PublishInfo& info);
  Result<RoundRecord> read_round_locked(int64_t id);
  Result<std::string> pragma(std::string_view sql);

  std::mutex mu_;
  sqlite3* db_;
  std::unordered_map<std::string_view, std::unique_ptr<SqliteStatement>> statements_;
};

}  // namespace fl::coordinator
