// Validation of metric and label names against the Prometheus data model
// (https://prometheus.io/docs/concepts/data_model/), so a bad name is refused
// when the metric is registered instead of breaking every scrape later.
//
// Not for: label *values*, which may be any UTF-8 (see utf8.h).
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "base/status.h"

namespace fl::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*. Colons are legal but reserved by Prometheus for
// recording rules; we accept them because the format does.
Status validate_metric_name(std::string_view name);

// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__", which Prometheus
// reserves for its internal labels (__name__, __address__, ...).
Status validate_label_name(std::string_view name);

}  // namespace fl::metrics
