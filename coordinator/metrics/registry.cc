#include "coordinator/metrics/registry.h"

#include <algorithm>
#include <set>

#include "coordinator/metrics/metric_name.h"
#include "coordinator/metrics/utf8.h"

namespace fl::metrics {

// One name: a registered family, or a name reserved by a collector.
struct Registry::Entry {
  std::string name;
  MetricType type;  // for collector names, kGauge (they write one sample name)
  std::variant<std::unique_ptr<CounterFamily>, std::unique_ptr<GaugeFamily>,
               std::unique_ptr<HistogramFamily>, std::monostate>
      family;
};

struct Registry::CollectorSlot {
  std::set<std::string, std::less<>> names;
  Collector collect;
};

namespace {

std::string_view describe(MetricType type, bool collector) {
  if (collector) return "collector's metric";
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "metric";
}

// The sample names a family writes: a histogram `h` writes h_bucket, h_sum and
// h_count, which must not be some other family's name.
std::vector<std::string> sample_names(std::string_view name, MetricType type) {
  if (type != MetricType::kHistogram) return {std::string(name)};
  const std::string base(name);
  return {base, base + "_bucket", base + "_sum", base + "_count"};
}

}  // namespace

Registry::Registry(RegistryOptions options) : options_(options) {}
Registry::~Registry() = default;

Status Registry::check_new_family(std::string_view name, std::string_view help, MetricType type,
                                  const std::vector<std::string>& label_names) const {
  FL_RETURN_IF_ERROR(validate_metric_name(name));
  if (type == MetricType::kCounter && !name.ends_with("_total")) {
    return InvalidArgument("counter " + std::string(name) +
                           " must end in _total (Prometheus naming convention)");
  }
  if (!is_valid_utf8(help)) {
    return InvalidArgument("help text of " + std::string(name) + " is not valid UTF-8");
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    FL_RETURN_IF_ERROR(validate_label_name(label));
    if (!seen.insert(label).second) {
      return InvalidArgument("metric " + std::string(name) + " names label '" + label + "' twice");
    }
    if (type == MetricType::kHistogram && label == "le") {
      return InvalidArgument("histogram " + std::string(name) +
                             " cannot have a label 'le': it holds the bucket bound");
    }
  }
  return Status::Ok();
}

template <typename Child>
Result<Family<Child>*> Registry::add(std::string_view name, std::string_view help, MetricType type,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bucket_bounds) {
  FL_RETURN_IF_ERROR(check_new_family(name, help, type, label_names));
  if (type == MetricType::kHistogram) FL_RETURN_IF_ERROR(validate_bucket_bounds(bucket_bounds));

  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    if (entry->name != name) continue;
    auto* same_type = std::get_if<std::unique_ptr<Family<Child>>>(&entry->family);
    if (same_type && (*same_type)->help() == help && (*same_type)->label_names() == label_names &&
        (*same_type)->bucket_bounds() == bucket_bounds) {
      return same_type->get();
    }
    const bool collector = std::holds_alternative<std::monostate>(entry->family);
    return AlreadyExists("metric " + std::string(name) + " is already registered as a " +
                         std::string(describe(entry->type, collector)) +
                         (collector ? "" : " with other help, labels or buckets"));
  }
  FL_RETURN_IF_ERROR(check_no_clash(name, type));
  auto family =
      std::make_unique<Family<Child>>(std::string(name), std::string(help), std::move(label_names),
                                      std::move(bucket_bounds), options_.max_series_per_family);
  Family<Child>* raw = family.get();
  entries_.push_back(std::make_unique<Entry>(Entry{std::string(name), type, std::move(family)}));
  return raw;
}

// Caller holds mu_. Refuses a name whose samples would collide with an
// existing family's samples (same name, or h_count beside a histogram h).
Status Registry::check_no_clash(std::string_view name, MetricType type) const {
  const std::vector<std::string> new_names = sample_names(name, type);
  for (const auto& entry : entries_) {
    for (const std::string& existing : sample_names(entry->name, entry->type)) {
      if (std::find(new_names.begin(), new_names.end(), existing) != new_names.end()) {
        const bool collector = std::holds_alternative<std::monostate>(entry->family);
        return AlreadyExists("metric " + std::string(name) + " would write samples named " +
                             existing + ", as " + std::string(describe(entry->type, collector)) +
                             " " + entry->name + " already does");
      }
    }
  }
  return Status::Ok();
}

Result<CounterFamily*> Registry::add_counter(std::string_view name, std::string_view help,
                                             std::vector<std::string> label_names) {
  return add<Counter>(name, help, MetricType::kCounter, std::move(label_names), {});
}

Result<GaugeFamily*> Registry::add_gauge(std::string_view name, std::string_view help,
                                         std::vector<std::string> label_names) {
  return add<Gauge>(name, help, MetricType::kGauge, std::move(label_names), {});
}

Result<HistogramFamily*> Registry::add_histogram(std::string_view name, std::string_view help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bucket_bounds) {
  return add<Histogram>(name, help, MetricType::kHistogram, std::move(label_names),
                        std::move(bucket_bounds));
}

Status Registry::add_collector(std::vector<std::string> family_names, Collector collector) {
  if (!collector) return InvalidArgument("the collector is empty");
  auto slot = std::make_unique<CollectorSlot>();
  for (const std::string& name : family_names) {
    FL_RETURN_IF_ERROR(validate_metric_name(name));
    if (!slot->names.insert(name).second) {
      return InvalidArgument("collector names metric " + name + " twice");
    }
  }
  std::lock_guard lock(mu_);
  for (const std::string& name : slot->names) {
    FL_RETURN_IF_ERROR(check_no_clash(name, MetricType::kGauge));
  }
  for (const std::string& name : slot->names) {
    entries_.push_back(std::make_unique<Entry>(Entry{name, MetricType::kGauge, std::monostate{}}));
  }
  slot->collect = std::move(collector);
  collectors_.push_back(std::move(slot));
  return Status::Ok();
}

std::vector<FamilySnapshot> Registry::collect() const {
  std::vector<FamilySnapshot> families;
  std::lock_guard lock(mu_);
  for (const auto& entry : entries_) {
    std::visit(
        [&](const auto& family) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(family)>, std::monostate>) {
            families.push_back(family->snapshot());
          }
        },
        entry->family);
  }
  for (const auto& slot : collectors_) {
    std::vector<FamilySnapshot> collected;
    // A failing collector loses its own families, not the whole scrape.
    try {
      collected = slot->collect();
    } catch (...) {
      continue;
    }
    for (FamilySnapshot& family : collected) {
      if (slot->names.contains(family.name)) families.push_back(std::move(family));
    }
  }
  return families;
}

}  // namespace fl::metrics
