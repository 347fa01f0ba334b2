// The quality gate: whether a candidate model version may replace the
// published one, judged on one metric (DESIGN.md section 5, "registry/": a
// quality gate before publishing).
//
// A candidate passes when its metric is not worse than the published
// version's by more than `tolerance`; the first version of a model, and a
// candidate measured against a published version that lacks the metric (the
// untrained initial model has none), pass because there is nothing to compare
// against. A candidate without the metric is held when `require_metric`.
//
// Not for: publishing or alerting (Registry::consider acts on the decision),
// nor for computing metrics (evaluation.h).
//
// Thread-safety: values and a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/store/model_version.h"

namespace fl::coordinator {

struct GatePolicy {
  std::string metric = "accuracy";
  bool higher_is_better = true;
  // How much worse than the published version a candidate may be and still
  // pass, in the metric's units; federated metrics are noisy from round to
  // round (clients differ), so a strict 0 holds many good candidates.
  double tolerance = 0.0;
  bool require_metric = true;
};

// InvalidArgument for an empty metric name or a negative or non-finite tolerance.
Status validate_gate_policy(const GatePolicy& policy);

struct GateDecision {
  enum class Outcome { kPublished, kHeld };
  Outcome outcome = Outcome::kHeld;
  int64_t candidate_id = 0;
  std::optional<int64_t> baseline_id;     // the published version compared against
  std::optional<double> candidate_value;  // the gate metric, when present
  std::optional<double> baseline_value;
  // For a person, with both values, e.g. "version 8 accuracy 0.85 is worse
  // than published version 7's 0.9 by 0.05, more than the tolerance 0.01".
  std::string reason;

  bool published() const { return outcome == Outcome::kPublished; }
};

// Judges `candidate` against `published` (null when the model has none). Does
// not look at stages; the caller passes the right versions.
GateDecision judge_candidate(const GatePolicy& policy, const ModelVersion& candidate,
                             const ModelVersion* published);

// The rule when the candidate's federated evaluation could not conclude
// (`why`: too few valid reports by the deadline, or every report refused),
// so it has no fed_* metric. A gate on a federated metric "fed_X" judges
// the candidate on the server's holdout metric "X" instead (same direction
// and tolerance, against the published version's "X") when the candidate
// has it; otherwise the candidate is held, whatever require_metric says,
// with a reason that starts "evaluation inconclusive". A gate on any other
// metric judges as judge_candidate does. The reason always carries `why`.
GateDecision judge_without_federated_evaluation(const GatePolicy& policy,
                                                const ModelVersion& candidate,
                                                const ModelVersion* published,
                                                std::string_view why);

// Whether a larger value of `metric` is the better one when a policy does not
// say: false for errors and losses ("loss", "mse", "mae", also as "fed_*",
// "live_*"...), true otherwise (accuracy, precision, recall, f1).
bool default_higher_is_better(std::string_view metric);

}  // namespace fl::coordinator
