// The coordinator's durable state: model versions (the registry), rounds and
// client enrolments (DESIGN.md section 5, "store/").
//
// An interface so the backend can change: SqliteStore is the embedded default;
// replicated coordinators (DESIGN.md section 8) will share a PostgreSQL
// implementation. Hence the contract is stated in terms any SQL database
// keeps: every operation is atomic (all of it happens or none of it does),
// committed writes survive a crash, ids are assigned by the store, increase
// and are never reused, and the store never reads a clock (times are passed
// in as unix milliseconds), so tests are deterministic.
//
// Errors: NotFound for unknown ids, names or keys; FailedPrecondition for a
// valid request the current state forbids (completing a failed round,
// publishing a version under another model's name); InvalidArgument for
// malformed input; AlreadyExists for a duplicate enrolment; PermissionDenied
// for an enrolment a device token does not allow; DataLoss when the
// stored data is corrupt; Unavailable when the database stays locked by
// another process. Nothing changes when an operation fails.
//
// Not for: model semantics (payloads are opaque bytes), the quality gate or
// selection policy; those are coordinator/registry and coordinator/rounds.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/store/client_enrolment.h"
#include "coordinator/store/device_token.h"
#include "coordinator/store/model_version.h"
#include "coordinator/store/privacy_ledger.h"
#include "coordinator/store/publication.h"
#include "coordinator/store/round_record.h"

namespace fl::coordinator {

class Store {
 public:
  virtual ~Store() = default;

  // --- Model versions -----------------------------------------------------

  // Adds a candidate version and returns its id. InvalidArgument for an empty
  // model name or a non-finite metric; NotFound for an unknown parent.
  virtual Result<int64_t> add_version(const NewVersion& version) = 0;
  virtual Result<ModelVersion> get_version(int64_t id) = 0;
  // The newest (highest id) version of `model`, optionally only among those
  // in `stage`; NotFound when there is none. With kPublished this is the
  // version to serve.
  virtual Result<ModelVersion> latest_version(std::string_view model,
                                              std::optional<VersionStage> stage) = 0;
  // Every version of `model`, oldest first, with metrics but without the
  // payloads. Empty (not NotFound) for an unknown model.
  virtual Result<std::vector<ModelVersion>> list_versions(std::string_view model) = 0;
  // Moves a version between candidate and retired (a candidate that failed
  // the quality gate is retired). kPublished means `publish`. Moving the
  // published version away is FailedPrecondition: publish another instead,
  // so a model that has a published version always keeps exactly one.
  virtual Status set_stage(int64_t id, VersionStage stage) = 0;
  // Makes `id` the only published version of `model`, retiring the previous
  // one in the same transaction; also the rollback path (republishing a
  // retired version). Publishing the published version again is a no-op.
  // FailedPrecondition when `id` is a version of another model. Recorded in
  // the publication history with PublishInfo's defaults (time 0, reason
  // "unspecified"); prefer the overload below.
  virtual Status publish(std::string_view model, int64_t id) = 0;
  // The same, recording `info` in the publication history in the same
  // transaction as the stage change. InvalidArgument for an empty reason;
  // Aborted (nothing changed) when info.expected_published is set and does
  // not match the published version at commit time.
  virtual Status publish(std::string_view model, int64_t id, const PublishInfo& info) = 0;
  // The `limit` most recent publications of `model`, newest first. Empty (not
  // NotFound) for an unknown model or one never published.
  virtual Result<std::vector<Publication>> list_publications(std::string_view model,
                                                             size_t limit) = 0;
  // Merges `metrics` into a version's metrics: names already present take the
  // new value, others are added, none are removed. For metrics measured after
  // the version was created (federated evaluation, monitoring of the served
  // model). InvalidArgument for an empty name or a non-finite value; NotFound
  // for an unknown id.
  virtual Status update_metrics(int64_t id, const VersionMetrics& metrics) = 0;

  // --- Rounds -------------------------------------------------------------

  // Records a running round; NotFound for an unknown base version.
  virtual Result<int64_t> begin_round(const NewRound& round) = 0;
  // Commits a round's result in one transaction: adds `result` as a candidate
  // version (its round is this round; its parent defaults to the round's base
  // version) and marks the round completed with `counts`. Returns the new
  // version's id. FailedPrecondition unless the round is running or when
  // `result` names another model than the base version's.
  // With `privacy` (a population trained with differential privacy), the
  // round's privacy ledger row is written in the same transaction.
  virtual Result<int64_t> complete_round(int64_t round_id, const StageCounts& counts,
                                         const NewVersion& result, int64_t ended_at_ms,
                                         const std::optional<PrivacySpend>& privacy) = 0;
  Result<int64_t> complete_round(int64_t round_id, const StageCounts& counts,
                                 const NewVersion& result, int64_t ended_at_ms) {
    return complete_round(round_id, counts, result, ended_at_ms, std::nullopt);
  }
  // FailedPrecondition unless the round is running.
  virtual Status fail_round(int64_t round_id, std::string_view reason, const StageCounts& counts,
                            int64_t ended_at_ms) = 0;
  // Fails every running round and returns their ids, oldest first. Called at
  // startup: a round's live state did not survive the restart, so it can only
  // be re-run, never resumed.
  virtual Result<std::vector<int64_t>> fail_running_rounds(std::string_view reason,
                                                           int64_t ended_at_ms) = 0;
  virtual Result<RoundRecord> get_round(int64_t id) = 0;
  // The `limit` most recent rounds, newest first.
  virtual Result<std::vector<RoundRecord>> list_rounds(size_t limit) = 0;
  // The privacy ledger of `population`, oldest round first (privacy_ledger.h).
  // Empty (not NotFound) when the population never trained with DP.
  virtual Result<std::vector<PrivacyLedgerEntry>> privacy_ledger(std::string_view population) = 0;
  // The `limit` most recent rows of that ledger, oldest first, with the
  // ledger's row count, read in one transaction. limit 0 gives the count only.
  virtual Result<PrivacyLedgerTail> privacy_ledger_tail(std::string_view population,
                                                        size_t limit) = 0;

  // --- Clients ------------------------------------------------------------

  // Enrols a new identity key and returns the client id. Enrolling a key
  // again is AlreadyExists (the message names the existing id; look it up
  // with find_client_by_key); keys are never re-bound to a new id.
  virtual Result<uint64_t> enroll(const ClientPublicKey& public_key, int64_t enrolled_at_ms,
                                  std::optional<std::string> label) = 0;
  virtual Result<ClientEnrolment> find_client(uint64_t client_id) = 0;
  virtual Result<ClientEnrolment> find_client_by_key(const ClientPublicKey& public_key) = 0;

  // --- Device tokens (device_token.h) --------------------------------------

  // Records freshly issued tokens (their hashes) in one transaction; returns
  // their ids in order. AlreadyExists if a hash is already known.
  virtual Result<std::vector<int64_t>> add_device_tokens(const std::vector<DeviceTokenHash>& hashes,
                                                         int64_t issued_at_ms,
                                                         std::optional<std::string> label) = 0;
  // Every token, in issue order.
  virtual Result<std::vector<DeviceToken>> list_device_tokens() = 0;
  // Enrols `public_key` with the token hashed to `token`, marking the token
  // spent by the new client in the same transaction. The token's own client
  // presenting it again (a device restarting) gets its id back. Every other
  // case is PermissionDenied and changes nothing: an unknown or revoked
  // token, a token spent by another key, a revoked client. AlreadyExists
  // when the key is already enrolled without this token.
  virtual Result<uint64_t> enroll_with_token(const DeviceTokenHash& token,
                                             const ClientPublicKey& public_key,
                                             int64_t enrolled_at_ms,
                                             std::optional<std::string> label) = 0;
  // Revokes a client (and the token it spent): its signed requests are
  // refused from now on. NotFound for an unknown client; revoking twice
  // keeps the first time.
  virtual Status revoke_client(uint64_t client_id, int64_t at_ms) = 0;
  // Revokes the one token whose lowercase hex hash starts with `hex_prefix`
  // (at least 8 hex digits), and its client if it was spent; returns the
  // token as it is now. NotFound when none matches; InvalidArgument for a
  // short or non-hex prefix or one that matches several tokens.
  virtual Result<DeviceToken> revoke_device_token(std::string_view hex_prefix, int64_t at_ms) = 0;
};

}  // namespace fl::coordinator
