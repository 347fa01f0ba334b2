// One gauge series: a value that goes up and down (clients in the current
// stage, the published model version). Obtained from a GaugeFamily
// (family.h), which owns it. A gauge whose value is only known at scrape time
// is a callback child of the family instead (GaugeFamily::set_callback).
//
// Not for: monotonic totals (use Counter, which rate() understands).
//
// Thread-safety: every member is lock-free and may race freely.
#pragma once

#include <atomic>

namespace fl::metrics {

class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace fl::metrics
