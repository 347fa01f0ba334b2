// One counter series: a value that only goes up (requests served, bytes sent,
// rounds failed). Obtained from a CounterFamily (family.h), which owns it;
// callers keep the reference and increment it on the hot path.
//
// Not for: values that go down (use Gauge) or distributions (use Histogram).
//
// Thread-safety: inc() and value() are lock-free and may race freely.
#pragma once

#include <atomic>
#include <cmath>

namespace fl::metrics {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // A negative or NaN amount is ignored rather than reported: a counter that
  // went down would be read by Prometheus' rate() as a process restart, and the
  // hot path has nowhere to return an error to.
  void inc(double amount = 1.0) {
    if (!(amount >= 0.0)) return;
    value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  // A double, not a scaled integer, so fractional amounts (CPU seconds) work;
  // integer increments stay exact up to 2^53.
  std::atomic<double> value_{0.0};
};

}  // namespace fl::metrics
