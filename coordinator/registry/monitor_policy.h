// When the served model has gone bad: a floor on one metric observed after
// publication (live accuracy from federated evaluation, say), below which
// Registry::observe rolls back automatically.
//
// Not for: the decision to publish (quality_gate.h) or the rollback itself
// (Registry).
//
// Thread-safety: values and pure functions.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "coordinator/store/model_version.h"

namespace fl::coordinator {

struct MonitorPolicy {
  std::string metric;
  double floor = 0.0;  // the worst acceptable value; reaching it exactly is still acceptable
  bool higher_is_better = true;
};

// InvalidArgument for an empty metric name or a non-finite floor.
Status validate_monitor_policy(const MonitorPolicy& policy);

// Whether `metrics` are on the good side of the floor; nullopt when they do
// not hold the metric (no evidence either way).
std::optional<bool> meets_floor(const MonitorPolicy& policy, const VersionMetrics& metrics);

}  // namespace fl::coordinator
