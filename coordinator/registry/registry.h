// The model registry (DESIGN.md section 5, "registry/"): every version of a
// model with its lineage, metrics and stage; the quality gate a new candidate
// passes before it is published; rollback to any earlier version, by an
// operator or automatically when the served version's monitored metric falls
// through a floor. It decides; the Store records, and the embedding service
// hears about every change of the published version through `on_published`
// (where it hot-swaps the served model) and about trouble through `on_alert`.
//
// Invariants: a model that has a published version always has exactly one,
// and every change of it is in the publication history with its time, reason
// and actor. The store's transactions keep this across processes (an admin
// CLI with its own Registry on the same SQLite file while the service runs);
// a decision made from a state another process has since changed is detected
// at commit (PublishInfo::expected_published) and made again.
//
// Not for: computing metrics (evaluation.h), training rounds (coordinator/
// rounds, which hands each new candidate to `consider`), serving.
//
// Every change of what is published may also fail with Aborted when another
// process kept changing the published version while this one decided; the
// call changed nothing and can be repeated.
//
// Thread-safety: thread-safe. publish, rollback, consider and observe are
// serialised by one mutex; reads go straight to the (thread-safe) store.
// Callbacks run after the commit, outside that mutex, in commit order (see
// notification_queue.h: possibly on another thread, possibly after the call
// that caused them has returned; they may call the registry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/registry/monitor_policy.h"
#include "coordinator/registry/notification_queue.h"
#include "coordinator/registry/quality_gate.h"
#include "coordinator/store/store.h"

namespace fl::coordinator {

// The reasons the registry records in the publication history.
namespace publish_reason {
inline constexpr std::string_view kAuto = "auto";                   // passed the quality gate
inline constexpr std::string_view kManual = "manual";               // an operator's publish
inline constexpr std::string_view kRollback = "rollback";           // an operator's rollback
inline constexpr std::string_view kAutoRollback = "auto-rollback";  // the monitor's rollback
}  // namespace publish_reason

// The kinds of alert passed to on_alert.
namespace alert_kind {
inline constexpr std::string_view kQualityGate = "quality_gate";  // a candidate was held
inline constexpr std::string_view kRollback = "rollback";         // the monitor rolled back
inline constexpr std::string_view kNoRollbackTarget = "no_rollback_target";  // ... or could not
// A version's federated evaluation could not conclude (the round engine).
inline constexpr std::string_view kEvaluationInconclusive = "evaluation_inconclusive";
}  // namespace alert_kind

struct RegistryCallbacks {
  // The published version of `model` is now `version_id` (committed).
  std::function<void(std::string_view model, int64_t version_id, std::string_view reason)>
      on_published;
  // Something an operator should look at; `message` says what, with values.
  std::function<void(std::string_view model, std::string_view kind, std::string_view message)>
      on_alert;
};

struct RegistryOptions {
  GatePolicy gate;
  std::optional<MonitorPolicy> monitor;  // no automatic rollback without one
  RegistryCallbacks callbacks;
  // Recorded as the actor of publications whose caller names none.
  std::string actor = "coordinator";
};

class Registry {
 public:
  // InvalidArgument for an invalid gate or monitor policy. `store` must
  // outlive the registry.
  static Result<std::unique_ptr<Registry>> create(Store& store, RegistryOptions options);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // --- Reading ------------------------------------------------------------

  // Oldest first, without payloads; NotFound for a model with no versions.
  Result<std::vector<ModelVersion>> list_versions(std::string_view model);
  // One version with its payloads; NotFound for an unknown id.
  Result<ModelVersion> show_version(int64_t id);
  // The version to serve; NotFound when none is published.
  Result<ModelVersion> published_version(std::string_view model);
  // Newest first; empty for a model never published.
  Result<std::vector<Publication>> publications(std::string_view model, size_t limit);

  // --- Changing what is published ------------------------------------------

  // Publishes `id` as `model`'s served version, bypassing the quality gate
  // (an operator's decision). Publishing the published version is a no-op
  // without a notification. NotFound for an unknown id; FailedPrecondition
  // when `id` belongs to another model; InvalidArgument for an empty reason.
  // `actor` empty means RegistryOptions::actor.
  Status publish(std::string_view model, int64_t id, std::string_view reason, int64_t now_ms,
                 std::string_view actor = {});

  // Republishes an earlier version and returns its id. Without `to`: the
  // version that was published before the current one, undoing one step at a
  // time (a second rollback goes further back, never forward to the version
  // just rolled back from). With `to`: that version, which must be an earlier
  // (lower id) version of `model`, whatever its stage. NotFound for an
  // unknown model or version; FailedPrecondition when the model has no
  // published version, when there is nothing earlier to go back to, when
  // `to` is the published version, a later one or another model's.
  Result<int64_t> rollback(std::string_view model, std::optional<int64_t> to, int64_t now_ms,
                           std::string_view actor = {});

  // Runs the quality gate on a candidate and publishes it (reason "auto") if
  // it passes; otherwise it stays a candidate and a quality_gate alert says
  // why. The round engine calls this after Store::complete_round. NotFound
  // for an unknown id; FailedPrecondition when it is not a candidate.
  Result<GateDecision> consider(int64_t candidate_id, int64_t now_ms);

  // As consider, for a candidate whose federated evaluation could not
  // conclude (`why`), by the rule of judge_without_federated_evaluation
  // (quality_gate.h): a fed_* gate falls back to the holdout metric, else the
  // candidate is held. Always raises an evaluation_inconclusive alert whose
  // message says why and what the gate decided (no quality_gate alert).
  Result<GateDecision> consider_without_federated_evaluation(int64_t candidate_id,
                                                             std::string_view why, int64_t now_ms);

  // Raises an alert through on_alert, as the registry's own alerts are:
  // for collaborators (the round engine) whose trouble an operator should
  // hear about on the same channel, e.g. evaluation_inconclusive for a
  // version the gate does not wait for.
  void alert(std::string_view model, std::string_view kind, std::string message);

  // Records metrics measured on a version (Store::update_metrics). With a
  // monitor, when the version is the published one and `metrics` put the
  // monitored metric on the wrong side of the floor, rolls back (reason
  // "auto-rollback", alert "rollback") to the most recently published earlier
  // version whose recorded metric meets the floor, and returns its id; alert
  // "no_rollback_target" when there is none. NotFound for an unknown
  // version; FailedPrecondition when it belongs to another model.
  Result<std::optional<int64_t>> observe(std::string_view model, int64_t version_id,
                                         const VersionMetrics& metrics, int64_t now_ms);

 private:
  Registry(Store& store, RegistryOptions options);

  // The *_locked helpers run under mu_ and post notifications; the public
  // methods deliver them after unlocking.
  Status publish_locked(std::string_view model, int64_t id, std::string_view reason, int64_t now_ms,
                        const std::string& actor);
  Result<int64_t> rollback_locked(std::string_view model, std::optional<int64_t> to, int64_t now_ms,
                                  const std::string& actor);
  // `inconclusive`: why the candidate's federated evaluation did not conclude.
  Result<GateDecision> consider_locked(int64_t candidate_id, int64_t now_ms,
                                       std::optional<std::string_view> inconclusive);
  Result<std::optional<int64_t>> observe_locked(std::string_view model, int64_t version_id,
                                                const VersionMetrics& metrics, int64_t now_ms);
  // The versions that served `model`, oldest first, with the published one
  // last: the publication history replayed as a stack that rollbacks pop.
  Result<std::vector<int64_t>> service_stack(std::string_view model, int64_t published_id);

  void post_published(std::string_view model, int64_t version_id, std::string_view reason);
  void post_alert(std::string_view model, std::string_view kind, std::string message);
  std::string actor_or_default(std::string_view actor) const;

  Store& store_;
  const RegistryOptions options_;
  std::mutex mu_;  // serialises every change of what is published
  NotificationQueue notifications_;
};

}  // namespace fl::coordinator
