// One histogram series: counts of observations (latencies, durations) in
// fixed buckets, plus their sum, exposed as Prometheus' cumulative
// `_bucket{le=...}`, `_sum` and `_count`. Obtained from a HistogramFamily
// (family.h), which fixes the bucket bounds for all its children.
//
// Not for: quantiles computed in-process (summaries); Prometheus computes them
// from the buckets with histogram_quantile().
//
// Thread-safety: observe() is lock-free (one atomic add per bucket and one for
// the sum). A snapshot taken while observations race may show a sum that lags
// the counts by those observations; the counts are always self-consistent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"

namespace fl::metrics {

class Histogram {
 public:
  // `upper_bounds` must have passed validate_bucket_bounds(); the family does that.
  explicit Histogram(std::span<const double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN is ignored: it would make the sum NaN forever after.
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf (= count)
    double sum = 0.0;
    uint64_t count() const { return cumulative_counts.empty() ? 0 : cumulative_counts.back(); }
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> upper_bounds_;
  // Per-bucket, not cumulative, counts: an observation touches one bucket.
  // The last slot is the implicit +Inf bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

// Bounds must be finite and strictly increasing; +Inf is implicit and must not be given.
Status validate_bucket_bounds(std::span<const double> upper_bounds);

// Prometheus' client default, tuned for network request latencies in seconds.
std::vector<double> default_buckets();
// start, start+width, ... (count bounds).
std::vector<double> linear_buckets(double start, double width, int count);
// start, start*factor, ... (count bounds); start > 0, factor > 1.
std::vector<double> exponential_buckets(double start, double factor, int count);

}  // namespace fl::metrics
