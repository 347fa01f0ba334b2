// A metric family: one name, help text and set of label names, and one child
// series per distinct tuple of label values, e.g. fl_http_requests_total with
// children {route="/v1/rounds", method="POST", code="200"}, ...
//
//   CounterFamily& requests = *registry.add_counter(...);
//   Counter& ok = requests.with({"/v1/rounds", "POST", "200"});  // look up once
//   ok.inc();                                                     // lock-free
//
// with() returns a reference that stays valid for the life of the family
// unless that child is remove()d, so callers cache it and the hot path is one
// atomic add. Lookup itself takes a shared lock and costs a map search.
//
// Not for: unbounded label values (user ids, raw URL paths). Each family holds
// at most max_series children; past that, lookups fail (try_with) or go to an
// unexported child (with), so a cardinality bug cannot exhaust memory.
//
// Thread-safety: every member is thread-safe. remove() destroys the child, so
// it is only for series no one holds a reference to (see CoordinatorMetrics'
// evaluation gauges); the caller must guarantee that.
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/status.h"
#include "coordinator/metrics/counter.h"
#include "coordinator/metrics/family_snapshot.h"
#include "coordinator/metrics/gauge.h"
#include "coordinator/metrics/histogram.h"

namespace fl::metrics {

using LabelValues = std::span<const std::string_view>;

template <typename Child>
class Family {
 public:
  // Families are made by Registry, which validates the arguments first.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bucket_bounds, size_t max_series);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bucket_bounds() const { return bucket_bounds_; }

  // The child for these label values (one per label name, in order), created
  // on first use. Values that are not valid UTF-8 are repaired (U+FFFD) so
  // the scrape stays parseable. Errors: InvalidArgument on a wrong number of
  // values, ResourceExhausted past max_series, FailedPrecondition if the
  // values name a callback gauge.
  Result<Child*> try_with(LabelValues label_values);
  Result<Child*> try_with(std::initializer_list<std::string_view> label_values) {
    return try_with(LabelValues(label_values.begin(), label_values.size()));
  }

  // As try_with, but never fails: on error it returns a child that is never
  // exported, so a metrics mistake cannot take a request down. Use try_with
  // where the error should be seen.
  Child& with(LabelValues label_values);
  Child& with(std::initializer_list<std::string_view> label_values) {
    return with(LabelValues(label_values.begin(), label_values.size()));
  }

  // Drops the series (plain or callback); true if it existed. References to
  // it from with() dangle afterwards.
  bool remove(LabelValues label_values);
  bool remove(std::initializer_list<std::string_view> label_values) {
    return remove(LabelValues(label_values.begin(), label_values.size()));
  }

  // Gauges only: a series whose value is read by calling `read` at scrape
  // time (under the family's lock, so `read` must not touch this registry).
  // Replaces an earlier callback for the same values; FailedPrecondition if
  // with() already made a plain gauge for them.
  Status set_callback(LabelValues label_values,
                      std::function<double()> read) requires std::is_same_v<Child, Gauge>;
  Status set_callback(std::initializer_list<std::string_view> label_values,
                      std::function<double()> read) requires std::is_same_v<Child, Gauge> {
    return set_callback(LabelValues(label_values.begin(), label_values.size()), std::move(read));
  }

  size_t size() const;  // series currently exported
  FamilySnapshot snapshot() const;

 private:
  using Key = std::vector<std::string>;
  // Lets lookups by a span of string_views find std::vector<std::string> keys
  // without building one (no allocation on a hit).
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  Status check_arity(LabelValues label_values) const;
  Result<Child*> find_or_create(LabelValues key);
  std::unique_ptr<Child> make_child() const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bucket_bounds_;
  const size_t max_series_;

  mutable std::shared_mutex mu_;
  std::map<Key, std::unique_ptr<Child>, KeyLess> children_;
  std::map<Key, std::function<double()>, KeyLess> callbacks_;  // gauges only
  const std::unique_ptr<Child> detached_;                      // what with() returns on error
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace fl::metrics
