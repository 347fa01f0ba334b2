// What a scrape reads: every family's name, help, type and the current value
// of each of its series. Registered families and collectors (process metrics)
// both produce these, and the text exposition renders them.
//
// Not for: updating metrics; these are copies taken at scrape time.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fl::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

struct SeriesSnapshot {
  std::vector<std::string> label_values;  // in the family's label_names order
  double value = 0.0;                     // counters and gauges
  // Histograms: one cumulative count per bucket bound, then +Inf (the count).
  std::vector<uint64_t> cumulative_counts;
  double sum = 0.0;
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<double> bucket_bounds;  // histograms only, without +Inf
  std::vector<SeriesSnapshot> series;
};

}  // namespace fl::metrics
