#include "coordinator/registry/quality_gate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fl::coordinator {
namespace {

// Metrics print with 6 significant digits: enough to tell apart values the
// tolerance separates, short enough for an alert.
std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::optional<double> metric_of(const ModelVersion& version, const std::string& name) {
  const auto it = version.metrics.find(name);
  if (it == version.metrics.end()) return std::nullopt;
  return it->second;
}

}  // namespace

Status validate_gate_policy(const GatePolicy& policy) {
  if (policy.metric.empty()) return InvalidArgument("the quality gate needs a metric name");
  if (!std::isfinite(policy.tolerance) || policy.tolerance < 0) {
    return InvalidArgument("the quality gate's tolerance must be finite and >= 0, got " +
                           number(policy.tolerance));
  }
  return Status::Ok();
}

GateDecision judge_candidate(const GatePolicy& policy, const ModelVersion& candidate,
                             const ModelVersion* published) {
  GateDecision d;
  d.candidate_id = candidate.id;
  d.candidate_value = metric_of(candidate, policy.metric);
  const std::string who =
      "version " + std::to_string(candidate.id) + " of '" + candidate.model + "'";
  const auto publish = [&](std::string reason) {
    d.outcome = GateDecision::Outcome::kPublished;
    d.reason = std::move(reason);
    return d;
  };
  const auto hold = [&](std::string reason) {
    d.outcome = GateDecision::Outcome::kHeld;
    d.reason = std::move(reason);
    return d;
  };

  if (!d.candidate_value) {
    if (policy.require_metric) {
      return hold(who + " has no '" + policy.metric + "' metric and the quality gate requires it");
    }
    return publish(who + " has no '" + policy.metric +
                   "' metric; published unchecked (the gate does not require it)");
  }
  const std::string candidate_text = who + " " + policy.metric + " " + number(*d.candidate_value);
  if (published == nullptr) {
    return publish(candidate_text + ": the model's first published version");
  }
  d.baseline_id = published->id;
  d.baseline_value = metric_of(*published, policy.metric);
  const std::string baseline_text = "published version " + std::to_string(published->id);
  if (!d.baseline_value) {
    return publish(candidate_text + "; " + baseline_text + " has no " + policy.metric +
                   " to compare with");
  }
  const double worse_by = policy.higher_is_better ? *d.baseline_value - *d.candidate_value
                                                  : *d.candidate_value - *d.baseline_value;
  // Metrics and tolerances are decimals people type (0.9, 0.02) that binary
  // doubles only approximate; without this slack 0.9 - 0.88 "exceeds" 0.02.
  const double slack = 1e-12 * std::max(1.0, std::abs(*d.baseline_value));
  const std::string direction = policy.higher_is_better ? "higher is better" : "lower is better";
  if (worse_by <= policy.tolerance + slack) {
    return publish(candidate_text + " is within the tolerance " + number(policy.tolerance) +
                   " of " + baseline_text + "'s " + number(*d.baseline_value) + " (" + direction +
                   ")");
  }
  return hold(candidate_text + " is worse than " + baseline_text + "'s " +
              number(*d.baseline_value) + " by " + number(worse_by) + ", more than the tolerance " +
              number(policy.tolerance) + " (" + direction + ")");
}

GateDecision judge_without_federated_evaluation(const GatePolicy& policy,
                                                const ModelVersion& candidate,
                                                const ModelVersion* published,
                                                std::string_view why) {
  const std::string inconclusive = "evaluation inconclusive (" + std::string(why) + ")";
  constexpr std::string_view kFederated = "fed_";
  if (!policy.metric.starts_with(kFederated)) {
    GateDecision d = judge_candidate(policy, candidate, published);
    d.reason = inconclusive + "; " + d.reason;
    return d;
  }
  GatePolicy holdout = policy;
  holdout.metric = policy.metric.substr(kFederated.size());
  holdout.require_metric = true;
  if (metric_of(candidate, holdout.metric)) {
    GateDecision d = judge_candidate(holdout, candidate, published);
    d.reason =
        inconclusive + "; judged on the holdout '" + holdout.metric + "' instead: " + d.reason;
    return d;
  }
  GateDecision d;
  d.outcome = GateDecision::Outcome::kHeld;
  d.candidate_id = candidate.id;
  if (published) d.baseline_id = published->id;
  d.reason = inconclusive + "; version " + std::to_string(candidate.id) + " of '" +
             candidate.model + "' held: no '" + policy.metric + "' and no holdout '" +
             holdout.metric + "' to judge it on";
  return d;
}

bool default_higher_is_better(std::string_view metric) {
  // The base name after any prefixes such as "fed_" or "live_".
  const size_t underscore = metric.rfind('_');
  const std::string_view base =
      underscore == std::string_view::npos ? metric : metric.substr(underscore + 1);
  return !(base == "loss" || base == "mse" || base == "mae");
}

}  // namespace fl::coordinator
