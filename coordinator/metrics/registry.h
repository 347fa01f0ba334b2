// The set of metric families one process exposes, and the scrape that reads
// them all. Registration validates everything Prometheus would otherwise
// reject at scrape time (names, the `_total` suffix of counters, label names,
// bucket bounds, clashes between families) and reports it as a Status.
//
// Not for: rendering (text_exposition.h) or serving /metrics (the HTTP layer
// calls render_text(registry.collect())).
//
// Thread-safety: every member is thread-safe. Families live as long as the
// registry; the pointers add_* returns may be cached.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "coordinator/metrics/family.h"
#include "coordinator/metrics/family_snapshot.h"

namespace fl::metrics {

struct RegistryOptions {
  // Per family. Far above any legitimate label set of ours (routes x methods x
  // codes is a few hundred), low enough that a runaway label stays a few MB.
  size_t max_series_per_family = 10'000;
};

// Produces families whose values exist only at scrape time (process_* read
// from /proc). Called under the registry's lock: it must not use the registry.
using Collector = std::function<std::vector<FamilySnapshot>()>;

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();

  // Registering the same name again with the same type, help, labels (and
  // buckets) returns the existing family, so independent components can share
  // one; anything else under that name is AlreadyExists. Counter names must
  // end in "_total". Help text must be UTF-8.
  Result<CounterFamily*> add_counter(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names = {});
  Result<GaugeFamily*> add_gauge(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names = {});
  // `bucket_bounds` without +Inf (implicit); see histogram.h for helpers.
  Result<HistogramFamily*> add_histogram(std::string_view name, std::string_view help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> bucket_bounds);

  // `family_names` reserves the names the collector produces, so they cannot
  // clash with registered families; families it returns under other names
  // are dropped from the scrape.
  Status add_collector(std::vector<std::string> family_names, Collector collector);

  // Every family with its current values, in no particular order.
  std::vector<FamilySnapshot> collect() const;

 private:
  struct Entry;
  struct CollectorSlot;
  Status check_new_family(std::string_view name, std::string_view help, MetricType type,
                          const std::vector<std::string>& label_names) const;
  Status check_no_clash(std::string_view name, MetricType type) const;
  template <typename Child>
  Result<Family<Child>*> add(std::string_view name, std::string_view help, MetricType type,
                             std::vector<std::string> label_names,
                             std::vector<double> bucket_bounds);

  const RegistryOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::unique_ptr<CollectorSlot>> collectors_;
};

}  // namespace fl::metrics
