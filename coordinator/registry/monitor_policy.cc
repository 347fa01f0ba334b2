#include "coordinator/registry/monitor_policy.h"

#include <cmath>

namespace fl::coordinator {

Status validate_monitor_policy(const MonitorPolicy& policy) {
  if (policy.metric.empty()) return InvalidArgument("the rollback monitor needs a metric name");
  if (!std::isfinite(policy.floor)) {
    return InvalidArgument("the rollback monitor's floor for '" + policy.metric +
                           "' must be finite");
  }
  return Status::Ok();
}

std::optional<bool> meets_floor(const MonitorPolicy& policy, const VersionMetrics& metrics) {
  const auto it = metrics.find(policy.metric);
  if (it == metrics.end()) return std::nullopt;
  return policy.higher_is_better ? it->second >= policy.floor : it->second <= policy.floor;
}

}  // namespace fl::coordinator
