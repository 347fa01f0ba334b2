#include "model/partition.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "model/dataset.h"

namespace fl::model {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Splits `total` into integer parts proportional to `weights` (largest
// remainder; ties to the lower index), summing exactly to total.
std::vector<int64_t> apportion(const std::vector<double>& weights, int64_t total) {
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<int64_t> parts(weights.size(), 0);
  if (weights.empty() || total <= 0) return parts;
  std::vector<double> remainder(weights.size());
  int64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double exact = sum > 0 ? weights[i] / sum * static_cast<double>(total) : 0.0;
    parts[i] = static_cast<int64_t>(std::floor(exact));
    remainder[i] = exact - static_cast<double>(parts[i]);
    given += parts[i];
  }
  if (sum <= 0) {  // nothing to go by: spread evenly
    for (size_t i = 0; i < parts.size(); ++i)
      parts[i] = total / static_cast<int64_t>(parts.size()) +
                 (static_cast<int64_t>(i) < total % static_cast<int64_t>(parts.size()) ? 1 : 0);
    return parts;
  }
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t j = 0; given < total; ++j, ++given) ++parts[order[j % order.size()]];
  return parts;
}

std::vector<double> dirichlet(double alpha, size_t n, std::mt19937_64& rng) {
  std::vector<double> p(n);
  double sum = 0;
  for (auto& x : p) sum += (x = gamma_variate(alpha, rng));
  if (!(sum > 0)) {
    // Tiny alpha can underflow every draw; the limit is all mass on one client.
    std::fill(p.begin(), p.end(), 0.0);
    p[static_cast<size_t>(rng() % n)] = 1.0;
  }
  return p;
}

// Moves examples from the largest clients to those below the minimum.
void ensure_minimum(Partition& parts, int64_t min_examples) {
  for (size_t c = 0; c < parts.size(); ++c) {
    while (static_cast<int64_t>(parts[c].size()) < min_examples) {
      size_t largest = 0;
      for (size_t j = 1; j < parts.size(); ++j)
        if (parts[j].size() > parts[largest].size()) largest = j;
      parts[c].push_back(parts[largest].back());
      parts[largest].pop_back();
    }
  }
}

std::vector<std::vector<int64_t>> by_class(const Eigen::VectorXi& labels, int num_classes,
                                           std::mt19937_64& rng) {
  std::vector<std::vector<int64_t>> classes(static_cast<size_t>(num_classes));
  for (Eigen::Index i = 0; i < labels.size(); ++i)
    classes[static_cast<size_t>(labels[i])].push_back(i);
  for (auto& c : classes) shuffle_indices(c, rng);
  return classes;
}

}  // namespace

double uniform01(std::mt19937_64& rng) {
  return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1)
}

double standard_normal(std::mt19937_64& rng) {
  const double u1 = uniform01(rng), u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

// Marsaglia and Tsang (2000); shapes below 1 by the boost Gamma(a+1) * U^(1/a).
double gamma_variate(double shape, std::mt19937_64& rng) {
  if (shape < 1.0) return gamma_variate(shape + 1.0, rng) * std::pow(uniform01(rng), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = standard_normal(rng);
    double v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = uniform01(rng);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

std::string partition_kind_name(PartitionKind kind) {
  switch (kind) {
    case PartitionKind::kIid:
      return "iid";
    case PartitionKind::kDirichlet:
      return "dirichlet";
    case PartitionKind::kShards:
      return "shards";
    case PartitionKind::kQuantitySkew:
      return "quantity_skew";
  }
  return "?";
}

namespace {

// A finite number filling all of `text`.
bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

std::string exact_number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

Result<PartitionSpec> parse_partition_spec(const std::string& text) {
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : text.substr(colon + 1);
  const std::string expected =
      "expected iid, dirichlet:ALPHA, shards:K, quantity:power_law:EXPONENT or "
      "quantity:dirichlet:BETA, got '" +
      text + "'";
  PartitionSpec spec;
  double v = 0;
  if (kind == "iid" && colon == std::string::npos) {
    spec.kind = PartitionKind::kIid;
  } else if (kind == "dirichlet") {
    if (!parse_number(arg, v) || !(v > 0))
      return InvalidArgument("dirichlet: alpha must be a number > 0, got '" + arg + "'");
    spec.kind = PartitionKind::kDirichlet;
    spec.alpha = v;
  } else if (kind == "shards") {
    if (!parse_number(arg, v) || v < 1 || v != std::floor(v) || v > 1e6)
      return InvalidArgument("shards: K must be an integer >= 1, got '" + arg + "'");
    spec.kind = PartitionKind::kShards;
    spec.shards_per_client = static_cast<int>(v);
  } else if (kind == "quantity") {
    spec.kind = PartitionKind::kQuantitySkew;
    std::string number = arg;
    if (arg.starts_with("power_law:")) {
      number = arg.substr(10);
    } else if (arg.starts_with("dirichlet:")) {
      spec.sizes = QuantityDistribution::kDirichlet;
      number = arg.substr(10);
    }
    if (!parse_number(number, v) || !(v > 0))
      return InvalidArgument("quantity: the " +
                             std::string(spec.sizes == QuantityDistribution::kDirichlet
                                             ? "dirichlet beta"
                                             : "power-law exponent") +
                             " must be a number > 0, got '" + number + "'");
    (spec.sizes == QuantityDistribution::kDirichlet ? spec.beta : spec.exponent) = v;
  } else {
    return InvalidArgument(expected);
  }
  return spec;
}

std::string format_partition_spec(const PartitionSpec& spec) {
  switch (spec.kind) {
    case PartitionKind::kIid:
      return "iid";
    case PartitionKind::kDirichlet:
      return "dirichlet:" + exact_number(spec.alpha);
    case PartitionKind::kShards:
      return "shards:" + std::to_string(spec.shards_per_client);
    case PartitionKind::kQuantitySkew:
      return spec.sizes == QuantityDistribution::kDirichlet
                 ? "quantity:dirichlet:" + exact_number(spec.beta)
                 : "quantity:power_law:" + exact_number(spec.exponent);
  }
  return "?";
}

Result<Partition> make_partition(const Eigen::VectorXi& labels, int num_classes,
                                 int64_t num_clients, const PartitionSpec& spec, uint64_t seed) {
  const int64_t n = labels.size();
  if (num_clients < 1) return InvalidArgument("need at least one client");
  if (num_classes < 1) return InvalidArgument("partitioning needs labelled data");
  if (spec.min_examples < 0) return InvalidArgument("min_examples must be >= 0");
  if (num_clients * std::max<int64_t>(spec.min_examples, 1) > n)
    return InvalidArgument(std::to_string(num_clients) + " clients with at least " +
                           std::to_string(std::max<int64_t>(spec.min_examples, 1)) +
                           " examples each need more than the " + std::to_string(n) +
                           " training examples");
  for (Eigen::Index i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= num_classes)
      return InvalidArgument("label out of range at example " + std::to_string(i));
  std::mt19937_64 rng(seed ^ 0x70617274ULL);  // "part"
  const size_t clients = static_cast<size_t>(num_clients);
  Partition parts(clients);

  switch (spec.kind) {
    case PartitionKind::kIid: {
      const std::vector<int64_t> order = shuffled_indices(n, rng());
      const std::vector<int64_t> sizes = apportion(std::vector<double>(clients, 1.0), n);
      int64_t at = 0;
      for (size_t c = 0; c < clients; ++c)
        for (int64_t j = 0; j < sizes[c]; ++j) parts[c].push_back(order[static_cast<size_t>(at++)]);
      break;
    }
    case PartitionKind::kDirichlet: {
      if (!(spec.alpha > 0)) return InvalidArgument("dirichlet alpha must be > 0");
      for (const auto& members : by_class(labels, num_classes, rng)) {
        const std::vector<int64_t> counts =
            apportion(dirichlet(spec.alpha, clients, rng), static_cast<int64_t>(members.size()));
        size_t at = 0;
        for (size_t c = 0; c < clients; ++c)
          for (int64_t j = 0; j < counts[c]; ++j) parts[c].push_back(members[at++]);
      }
      break;
    }
    case PartitionKind::kShards: {
      if (spec.shards_per_client < 1) return InvalidArgument("shards_per_client must be >= 1");
      const auto classes = by_class(labels, num_classes, rng);
      const int64_t total_shards = num_clients * spec.shards_per_client;
      std::vector<double> class_sizes;
      for (const auto& c : classes) class_sizes.push_back(static_cast<double>(c.size()));
      std::vector<int64_t> per_class = apportion(class_sizes, total_shards);
      // A non-empty class with no shard would have to share one; lend it one
      // from the class with the most shards.
      for (size_t k = 0; k < classes.size(); ++k) {
        if (classes[k].empty() || per_class[k] > 0) continue;
        auto most = std::max_element(per_class.begin(), per_class.end());
        if (*most <= 1) return InvalidArgument("shards: fewer shards than classes");
        --*most;
        per_class[k] = 1;
      }
      std::vector<std::vector<int64_t>> shards;
      for (size_t k = 0; k < classes.size(); ++k) {
        const std::vector<int64_t> sizes =
            apportion(std::vector<double>(static_cast<size_t>(per_class[k]), 1.0),
                      static_cast<int64_t>(classes[k].size()));
        size_t at = 0;
        for (int64_t size : sizes) {
          shards.emplace_back(classes[k].begin() + static_cast<ptrdiff_t>(at),
                              classes[k].begin() + static_cast<ptrdiff_t>(at + size));
          at += static_cast<size_t>(size);
        }
      }
      std::vector<int64_t> order = shuffled_indices(static_cast<int64_t>(shards.size()), rng());
      for (size_t s = 0; s < order.size(); ++s) {
        const auto& shard = shards[static_cast<size_t>(order[s])];
        auto& client = parts[s / static_cast<size_t>(spec.shards_per_client)];
        client.insert(client.end(), shard.begin(), shard.end());
      }
      break;
    }
    case PartitionKind::kQuantitySkew: {
      std::vector<double> weights(clients);
      if (spec.sizes == QuantityDistribution::kPowerLaw) {
        if (!(spec.exponent > 0)) return InvalidArgument("power-law exponent must be > 0");
        for (auto& w : weights) w = std::pow(uniform01(rng), -1.0 / spec.exponent);
      } else {
        if (!(spec.beta > 0)) return InvalidArgument("quantity dirichlet beta must be > 0");
        weights = dirichlet(spec.beta, clients, rng);
      }
      const int64_t floor_size = std::max<int64_t>(spec.min_examples, 1);
      std::vector<int64_t> sizes = apportion(weights, n - num_clients * floor_size);
      const std::vector<int64_t> order = shuffled_indices(n, rng());
      int64_t at = 0;
      for (size_t c = 0; c < clients; ++c)
        for (int64_t j = 0; j < sizes[c] + floor_size; ++j)
          parts[c].push_back(order[static_cast<size_t>(at++)]);
      break;
    }
  }
  ensure_minimum(parts, spec.min_examples);
  for (auto& p : parts) std::sort(p.begin(), p.end());
  return parts;
}

PartitionSummary summarize_partition(const Partition& partition, const Eigen::VectorXi& labels,
                                     int num_classes) {
  PartitionSummary s;
  s.clients = static_cast<int64_t>(partition.size());
  if (partition.empty() || num_classes < 1) return s;
  std::vector<int64_t> sizes;
  std::vector<double> pooled(static_cast<size_t>(num_classes), 0.0);
  for (const auto& p : partition) {
    sizes.push_back(static_cast<int64_t>(p.size()));
    s.examples += static_cast<int64_t>(p.size());
    for (int64_t i : p) pooled[static_cast<size_t>(labels[i])] += 1;
  }
  for (auto& x : pooled) x /= std::max<double>(1.0, static_cast<double>(s.examples));
  std::vector<int64_t> sorted = sizes;
  std::sort(sorted.begin(), sorted.end());
  s.min_size = sorted.front();
  s.max_size = sorted.back();
  s.median_size = sorted[sorted.size() / 2];
  s.max_entropy_bits = std::log2(static_cast<double>(num_classes));
  for (const auto& p : partition) {
    std::vector<double> counts(static_cast<size_t>(num_classes), 0.0);
    for (int64_t i : p) counts[static_cast<size_t>(labels[i])] += 1;
    double entropy = 0, tv = 0;
    int present = 0;
    for (size_t k = 0; k < counts.size(); ++k) {
      const double q = p.empty() ? 0.0 : counts[k] / static_cast<double>(p.size());
      if (counts[k] > 0) {
        ++present;
        entropy -= q * std::log2(q);
      }
      tv += std::abs(q - pooled[k]);
    }
    s.mean_classes += present;
    s.mean_entropy_bits += entropy;
    s.mean_total_variation += 0.5 * tv;
  }
  s.mean_classes /= static_cast<double>(s.clients);
  s.mean_entropy_bits /= static_cast<double>(s.clients);
  s.mean_total_variation /= static_cast<double>(s.clients);
  return s;
}

}  // namespace fl::model
