#include "coordinator/http/request_metrics.h"

namespace fl::http {

void RequestCounters::record(const RequestMetrics& metrics) {
  std::lock_guard lock(mu_);
  ++totals_.requests[Key{std::string(metrics.route), std::string(metrics.method), metrics.status}];
  totals_.bytes_in += metrics.bytes_in;
  totals_.bytes_out += metrics.bytes_out;
}

RequestCounters::Snapshot RequestCounters::snapshot() const {
  std::lock_guard lock(mu_);
  return totals_;
}

MetricsSink RequestCounters::sink() {
  return [this](const RequestMetrics& metrics) { record(metrics); };
}

}  // namespace fl::http
