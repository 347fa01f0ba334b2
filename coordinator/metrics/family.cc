#include "coordinator/metrics/family.h"

#include <algorithm>
#include <mutex>

#include "coordinator/metrics/utf8.h"

namespace fl::metrics {
namespace {

std::string join(std::span<const std::string> names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

template <typename Child>
constexpr MetricType type_of() {
  if constexpr (std::is_same_v<Child, Counter>) return MetricType::kCounter;
  if constexpr (std::is_same_v<Child, Gauge>) return MetricType::kGauge;
  return MetricType::kHistogram;
}

}  // namespace

template <typename Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                      std::vector<double> bucket_bounds, size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bucket_bounds_(std::move(bucket_bounds)),
      max_series_(max_series),
      detached_(make_child()) {}

template <typename Child>
std::unique_ptr<Child> Family<Child>::make_child() const {
  if constexpr (std::is_same_v<Child, Histogram>) {
    return std::make_unique<Histogram>(bucket_bounds_);
  } else {
    return std::make_unique<Child>();
  }
}

template <typename Child>
Status Family<Child>::check_arity(LabelValues label_values) const {
  if (label_values.size() == label_names_.size()) return Status::Ok();
  return InvalidArgument("metric " + name_ + " has " + std::to_string(label_names_.size()) +
                         " label(s) (" + join(label_names_) + ") but " +
                         std::to_string(label_values.size()) + " value(s) were given");
}

template <typename Child>
Result<Child*> Family<Child>::try_with(LabelValues label_values) {
  FL_RETURN_IF_ERROR(check_arity(label_values));
  if (std::all_of(label_values.begin(), label_values.end(), is_valid_utf8)) {
    return find_or_create(label_values);
  }
  std::vector<std::string> repaired;
  for (std::string_view value : label_values) repaired.push_back(repair_utf8(value));
  const std::vector<std::string_view> views(repaired.begin(), repaired.end());
  return find_or_create(views);
}

template <typename Child>
Result<Child*> Family<Child>::find_or_create(LabelValues key) {
  const auto callback_error = [&] {
    return FailedPrecondition(
        "metric " + name_ + ": these label values are a callback gauge, which has no child to set");
  };
  {
    std::shared_lock lock(mu_);
    if (auto it = children_.find(key); it != children_.end()) return it->second.get();
    if (callbacks_.contains(key)) return callback_error();
  }
  std::unique_lock lock(mu_);
  if (auto it = children_.find(key); it != children_.end()) return it->second.get();
  if (callbacks_.contains(key)) return callback_error();
  if (children_.size() + callbacks_.size() >= max_series_) {
    return ResourceExhausted("metric " + name_ + " already has " + std::to_string(max_series_) +
                             " series, its limit; a label is probably taking unbounded values");
  }
  auto [it, inserted] = children_.emplace(Key(key.begin(), key.end()), make_child());
  return it->second.get();
}

template <typename Child>
Child& Family<Child>::with(LabelValues label_values) {
  Result<Child*> child = try_with(label_values);
  return child.ok() ? **child : *detached_;
}

template <typename Child>
bool Family<Child>::remove(LabelValues label_values) {
  std::vector<std::string> key;
  for (std::string_view value : label_values) key.push_back(repair_utf8(value));
  std::unique_lock lock(mu_);
  return children_.erase(key) + callbacks_.erase(key) > 0;
}

template <typename Child>
Status Family<Child>::set_callback(
    LabelValues label_values, std::function<double()> read) requires std::is_same_v<Child, Gauge> {
  FL_RETURN_IF_ERROR(check_arity(label_values));
  if (!read) return InvalidArgument("metric " + name_ + ": the callback is empty");
  Key key;
  for (std::string_view value : label_values) key.push_back(repair_utf8(value));
  std::unique_lock lock(mu_);
  if (children_.contains(key)) {
    return FailedPrecondition("metric " + name_ +
                              ": these label values already hold a gauge set with with()");
  }
  if (!callbacks_.contains(key) && children_.size() + callbacks_.size() >= max_series_) {
    return ResourceExhausted("metric " + name_ + " already has " + std::to_string(max_series_) +
                             " series, its limit");
  }
  callbacks_.insert_or_assign(std::move(key), std::move(read));
  return Status::Ok();
}

template <typename Child>
size_t Family<Child>::size() const {
  std::shared_lock lock(mu_);
  return children_.size() + callbacks_.size();
}

template <typename Child>
FamilySnapshot Family<Child>::snapshot() const {
  FamilySnapshot family{name_, help_, type_of<Child>(), label_names_, bucket_bounds_, {}};
  std::shared_lock lock(mu_);
  family.series.reserve(children_.size() + callbacks_.size());
  for (const auto& [labels, child] : children_) {
    SeriesSnapshot series{labels, 0.0, {}, 0.0};
    if constexpr (std::is_same_v<Child, Histogram>) {
      Histogram::Snapshot histogram = child->snapshot();
      series.cumulative_counts = std::move(histogram.cumulative_counts);
      series.sum = histogram.sum;
    } else {
      series.value = child->value();
    }
    family.series.push_back(std::move(series));
  }
  for (const auto& [labels, read] : callbacks_) {
    // A throwing callback loses its own series, not the whole scrape.
    try {
      family.series.push_back(SeriesSnapshot{labels, read(), {}, 0.0});
    } catch (...) {
    }
  }
  return family;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

}  // namespace fl::metrics
