#include "coordinator/registry/registry.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>

namespace fl::coordinator {
namespace {

// How often a decision is made again when another writer (an admin CLI on
// the same file) changed the published version between reading and
// committing. Such races need a person at a keyboard, so two in a row are
// already unlikely; more than this is a livelock worth reporting (Aborted).
constexpr int kMaxAttempts = 8;

constexpr size_t kWholeHistory = std::numeric_limits<size_t>::max();

std::string version_label(int64_t id) { return "version " + std::to_string(id); }
std::string model_label(std::string_view model) {
  // Appended rather than "'" + ... + "'", which trips GCC 12's -Wrestrict.
  std::string label = "'";
  label.append(model);
  label.push_back('\'');
  return label;
}

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

bool is_rollback(std::string_view reason) {
  return reason == publish_reason::kRollback || reason == publish_reason::kAutoRollback;
}

const ModelVersion* find_version(const std::vector<ModelVersion>& versions, int64_t id) {
  const auto it = std::find_if(versions.begin(), versions.end(),
                               [id](const ModelVersion& v) { return v.id == id; });
  return it == versions.end() ? nullptr : &*it;
}

const ModelVersion* find_published(const std::vector<ModelVersion>& versions) {
  const auto it = std::find_if(versions.begin(), versions.end(), [](const ModelVersion& v) {
    return v.stage == VersionStage::kPublished;
  });
  return it == versions.end() ? nullptr : &*it;
}

// NotFound for an unknown id, FailedPrecondition for another model's, given
// that `id` is not among `model`'s versions.
Status not_a_version_of(Store& store, std::string_view model, int64_t id) {
  Result<ModelVersion> other = store.get_version(id);
  if (!other.ok()) return other.status();
  return FailedPrecondition(version_label(id) + " is a version of " + model_label(other->model) +
                            ", not of " + model_label(model));
}

}  // namespace

Result<std::unique_ptr<Registry>> Registry::create(Store& store, RegistryOptions options) {
  FL_RETURN_IF_ERROR(validate_gate_policy(options.gate));
  if (options.monitor) FL_RETURN_IF_ERROR(validate_monitor_policy(*options.monitor));
  return std::unique_ptr<Registry>(new Registry(store, std::move(options)));
}

Registry::Registry(Store& store, RegistryOptions options)
    : store_(store), options_(std::move(options)) {}

// --- Reading ------------------------------------------------------------------

Result<std::vector<ModelVersion>> Registry::list_versions(std::string_view model) {
  Result<std::vector<ModelVersion>> versions = store_.list_versions(model);
  if (versions.ok() && versions->empty()) {
    return NotFound("model " + model_label(model) + " has no versions");
  }
  return versions;
}

Result<ModelVersion> Registry::show_version(int64_t id) { return store_.get_version(id); }

Result<ModelVersion> Registry::published_version(std::string_view model) {
  return store_.latest_version(model, VersionStage::kPublished);
}

Result<std::vector<Publication>> Registry::publications(std::string_view model, size_t limit) {
  return store_.list_publications(model, limit);
}

// --- Notifications ------------------------------------------------------------

void Registry::post_published(std::string_view model, int64_t version_id, std::string_view reason) {
  if (!options_.callbacks.on_published) return;
  notifications_.post([this, model = std::string(model), version_id, reason = std::string(reason)] {
    options_.callbacks.on_published(model, version_id, reason);
  });
}

void Registry::post_alert(std::string_view model, std::string_view kind, std::string message) {
  if (!options_.callbacks.on_alert) return;
  notifications_.post(
      [this, model = std::string(model), kind = std::string(kind), message = std::move(message)] {
        options_.callbacks.on_alert(model, kind, message);
      });
}

std::string Registry::actor_or_default(std::string_view actor) const {
  return actor.empty() ? options_.actor : std::string(actor);
}

// --- Publish ------------------------------------------------------------------

Status Registry::publish(std::string_view model, int64_t id, std::string_view reason,
                         int64_t now_ms, std::string_view actor) {
  Status status;
  {
    std::lock_guard lock(mu_);
    status = publish_locked(model, id, reason, now_ms, actor_or_default(actor));
  }
  notifications_.deliver();
  return status;
}

Status Registry::publish_locked(std::string_view model, int64_t id, std::string_view reason,
                                int64_t now_ms, const std::string& actor) {
  if (reason.empty()) return InvalidArgument("a publish needs a reason for the history");
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Result<std::vector<ModelVersion>> versions = store_.list_versions(model);
    if (!versions.ok()) return versions.status();
    if (find_version(*versions, id) == nullptr) return not_a_version_of(store_, model, id);
    const ModelVersion* published = find_published(*versions);
    if (published != nullptr && published->id == id) return Status::Ok();  // nothing to tell
    // Expecting what was read makes "did this call change what is served?"
    // exact, so the service is notified once per change even when another
    // process publishes the same version at the same moment.
    Status status =
        store_.publish(model, id,
                       {.at_ms = now_ms,
                        .reason = std::string(reason),
                        .actor = actor,
                        .expected_published = published ? published->id : kNoPublishedVersion});
    if (status.code() == ErrorCode::kAborted) continue;
    if (!status.ok()) return status;
    post_published(model, id, reason);
    return Status::Ok();
  }
  return Aborted("publishing " + version_label(id) + " of " + model_label(model) +
                 ": the published version kept changing under another writer; try again");
}

// --- Rollback -----------------------------------------------------------------

Result<std::vector<int64_t>> Registry::service_stack(std::string_view model, int64_t published_id) {
  Result<std::vector<Publication>> history = store_.list_publications(model, kWholeHistory);
  if (!history.ok()) return history.status();
  std::vector<int64_t> stack;
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    if (!is_rollback(it->reason)) {
      stack.push_back(it->version_id);
      continue;
    }
    // A rollback abandons the version it left, and every version above the
    // one it returned to: a later rollback must not go forward to them.
    if (!stack.empty()) stack.pop_back();
    const auto target = std::find(stack.begin(), stack.end(), it->version_id);
    if (target != stack.end()) {
      stack.erase(target + 1, stack.end());
    } else {
      stack.push_back(it->version_id);  // to a version that had not served before
    }
  }
  // Only a history predating this code (or edited by hand) can disagree with
  // the stages; the stages are what is served, so they win.
  if (stack.empty() || stack.back() != published_id) stack.push_back(published_id);
  return stack;
}

Result<int64_t> Registry::rollback(std::string_view model, std::optional<int64_t> to,
                                   int64_t now_ms, std::string_view actor) {
  Result<int64_t> result = Internal("unreachable");
  {
    std::lock_guard lock(mu_);
    result = rollback_locked(model, to, now_ms, actor_or_default(actor));
  }
  notifications_.deliver();
  return result;
}

Result<int64_t> Registry::rollback_locked(std::string_view model, std::optional<int64_t> to,
                                          int64_t now_ms, const std::string& actor) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Result<std::vector<ModelVersion>> versions = list_versions(model);
    if (!versions.ok()) return versions.status();
    const ModelVersion* published = find_published(*versions);
    if (published == nullptr) {
      return FailedPrecondition("model " + model_label(model) +
                                " has no published version to roll back from");
    }
    const int64_t current = published->id;

    int64_t target = 0;
    if (to) {
      const ModelVersion* wanted = find_version(*versions, *to);
      if (wanted == nullptr) return not_a_version_of(store_, model, *to);
      if (*to == current) {
        return FailedPrecondition(version_label(*to) + " is already the published version of " +
                                  model_label(model));
      }
      if (*to > current) {
        return FailedPrecondition(version_label(*to) + " is newer than the published " +
                                  version_label(current) + " of " + model_label(model) +
                                  "; publish it instead of rolling back to it");
      }
      target = *to;
    } else {
      Result<std::vector<int64_t>> stack = service_stack(model, current);
      if (!stack.ok()) return stack.status();
      if (stack->size() < 2) {
        return FailedPrecondition("nothing to roll back to: no version of " + model_label(model) +
                                  " was published before " + version_label(current) +
                                  " (name one explicitly to roll back to it)");
      }
      target = (*stack)[stack->size() - 2];
    }

    Status status = store_.publish(model, target,
                                   {.at_ms = now_ms,
                                    .reason = std::string(publish_reason::kRollback),
                                    .actor = actor,
                                    .expected_published = current});
    if (status.code() == ErrorCode::kAborted) continue;  // another writer moved it: look again
    if (!status.ok()) return status;
    post_published(model, target, publish_reason::kRollback);
    return target;
  }
  return Aborted("rolling back " + model_label(model) +
                 ": the published version kept changing"
                 " under another writer; try again");
}

// --- Quality gate -------------------------------------------------------------

Result<GateDecision> Registry::consider(int64_t candidate_id, int64_t now_ms) {
  Result<GateDecision> result = Internal("unreachable");
  {
    std::lock_guard lock(mu_);
    result = consider_locked(candidate_id, now_ms, std::nullopt);
  }
  notifications_.deliver();
  return result;
}

Result<GateDecision> Registry::consider_without_federated_evaluation(int64_t candidate_id,
                                                                     std::string_view why,
                                                                     int64_t now_ms) {
  Result<GateDecision> result = Internal("unreachable");
  {
    std::lock_guard lock(mu_);
    result = consider_locked(candidate_id, now_ms, why);
  }
  notifications_.deliver();
  return result;
}

void Registry::alert(std::string_view model, std::string_view kind, std::string message) {
  post_alert(model, kind, std::move(message));
  notifications_.deliver();
}

Result<GateDecision> Registry::consider_locked(int64_t candidate_id, int64_t now_ms,
                                               std::optional<std::string_view> inconclusive) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Result<ModelVersion> candidate = store_.get_version(candidate_id);
    if (!candidate.ok()) return candidate.status();
    if (candidate->stage != VersionStage::kCandidate) {
      return FailedPrecondition(version_label(candidate_id) + " of " +
                                model_label(candidate->model) + " is " +
                                std::string(version_stage_name(candidate->stage)) +
                                "; only candidates go through the quality gate");
    }
    Result<std::vector<ModelVersion>> versions = store_.list_versions(candidate->model);
    if (!versions.ok()) return versions.status();
    const ModelVersion* published = find_published(*versions);

    GateDecision decision = inconclusive ? judge_without_federated_evaluation(
                                               options_.gate, *candidate, published, *inconclusive)
                                         : judge_candidate(options_.gate, *candidate, published);
    // An inconclusive evaluation is worth an alert whatever the gate then
    // decided; its reason says what that was.
    if (inconclusive && attempt == 0)
      post_alert(candidate->model, alert_kind::kEvaluationInconclusive, decision.reason);
    if (!decision.published()) {
      if (!inconclusive) post_alert(candidate->model, alert_kind::kQualityGate, decision.reason);
      return decision;
    }
    // The decision compared against `published`: commit it only if that is
    // still what is served.
    Status status =
        store_.publish(candidate->model, candidate_id,
                       {.at_ms = now_ms,
                        .reason = std::string(publish_reason::kAuto),
                        .actor = options_.actor,
                        .expected_published = published ? published->id : kNoPublishedVersion});
    if (status.code() == ErrorCode::kAborted) continue;
    if (!status.ok()) return status;
    post_published(candidate->model, candidate_id, publish_reason::kAuto);
    return decision;
  }
  return Aborted("the quality gate for " + version_label(candidate_id) +
                 ": the published version kept changing under another writer; try again");
}

// --- Monitoring ---------------------------------------------------------------

Result<std::optional<int64_t>> Registry::observe(std::string_view model, int64_t version_id,
                                                 const VersionMetrics& metrics, int64_t now_ms) {
  Result<std::optional<int64_t>> result = Internal("unreachable");
  {
    std::lock_guard lock(mu_);
    result = observe_locked(model, version_id, metrics, now_ms);
  }
  notifications_.deliver();
  return result;
}

Result<std::optional<int64_t>> Registry::observe_locked(std::string_view model, int64_t version_id,
                                                        const VersionMetrics& metrics,
                                                        int64_t now_ms) {
  {
    Result<std::vector<ModelVersion>> versions = store_.list_versions(model);
    if (!versions.ok()) return versions.status();
    if (find_version(*versions, version_id) == nullptr) {
      return not_a_version_of(store_, model, version_id);
    }
  }
  FL_RETURN_IF_ERROR(store_.update_metrics(version_id, metrics));
  if (!options_.monitor) return std::optional<int64_t>();
  const MonitorPolicy& monitor = *options_.monitor;
  if (meets_floor(monitor, metrics).value_or(true)) return std::optional<int64_t>();

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    // Read after the update, so the observed version's own metrics are current.
    Result<std::vector<ModelVersion>> versions = store_.list_versions(model);
    if (!versions.ok()) return versions.status();
    const ModelVersion* published = find_published(*versions);
    // Bad news about a version no longer served needs no action.
    if (published == nullptr || published->id != version_id) return std::optional<int64_t>();

    const std::string observed =
        model_label(model) + " published " + version_label(version_id) + " has " + monitor.metric +
        " " + number(metrics.find(monitor.metric)->second) + ", " +
        (monitor.higher_is_better ? "below" : "above") + " the floor " + number(monitor.floor);
    Result<std::vector<int64_t>> stack = service_stack(model, version_id);
    if (!stack.ok()) return stack.status();
    std::optional<int64_t> target;
    for (auto it = stack->rbegin(); it != stack->rend(); ++it) {
      if (*it == version_id) continue;
      const ModelVersion* earlier = find_version(*versions, *it);
      if (earlier != nullptr && meets_floor(monitor, earlier->metrics).value_or(false)) {
        target = *it;
        break;
      }
    }
    if (!target) {
      post_alert(model, alert_kind::kNoRollbackTarget,
                 observed + "; no earlier published version has a recorded " + monitor.metric +
                     " meeting the floor, so it stays published");
      return std::optional<int64_t>();
    }
    Status status = store_.publish(model, *target,
                                   {.at_ms = now_ms,
                                    .reason = std::string(publish_reason::kAutoRollback),
                                    .actor = options_.actor,
                                    .expected_published = version_id});
    if (status.code() == ErrorCode::kAborted) continue;
    if (!status.ok()) return status;
    const ModelVersion* restored = find_version(*versions, *target);
    post_alert(model, alert_kind::kRollback,
               observed + "; rolled back to " + version_label(*target) + " (" + monitor.metric +
                   " " + number(restored->metrics.find(monitor.metric)->second) + ")");
    post_published(model, *target, publish_reason::kAutoRollback);
    return target;
  }
  return Aborted("automatic rollback of " + model_label(model) +
                 ": the published version kept changing under another writer");
}

}  // namespace fl::coordinator
