#include "model/dataset.h"

#include <cmath>
#include <numeric>

namespace fl::model {

Status validate_dataset(const Dataset& data) {
  const std::string where = data.source.empty() ? "dataset" : data.source;
  const int64_t n = data.size();
  if (data.num_classes < 0) return InvalidArgument(where + ": num_classes is negative");
  if (data.is_classification()) {
    if (data.labels.size() != n) {
      return InvalidArgument(where + ": " + std::to_string(n) + " examples but " +
                             std::to_string(data.labels.size()) + " labels");
    }
    for (int64_t i = 0; i < n; ++i) {
      const int label = data.labels[i];
      if (label < 0 || label >= data.num_classes) {
        return InvalidArgument(where + ": label " + std::to_string(label) + " of example " +
                               std::to_string(i) + " is outside [0, " +
                               std::to_string(data.num_classes) + ")");
      }
    }
  } else if (data.targets.size() != n) {
    return InvalidArgument(where + ": " + std::to_string(n) + " examples but " +
                           std::to_string(data.targets.size()) +
                           " regression targets (num_classes 0 means regression)");
  }
  if (!data.feature_names.empty() && std::ssize(data.feature_names) != data.features.cols()) {
    return InvalidArgument(where + ": " + std::to_string(data.feature_names.size()) +
                           " feature names for " + std::to_string(data.features.cols()) +
                           " features");
  }
  return Status::Ok();
}

Dataset subset(const Dataset& data, std::span<const int64_t> indices) {
  Dataset out;
  out.num_classes = data.num_classes;
  out.feature_names = data.feature_names;
  out.source = data.source;
  const int64_t n = std::ssize(indices);
  out.features.resize(n, data.features.cols());
  for (int64_t i = 0; i < n; ++i) out.features.row(i) = data.features.row(indices[i]);
  if (data.labels.size() > 0) {
    out.labels.resize(n);
    for (int64_t i = 0; i < n; ++i) out.labels[i] = data.labels[indices[i]];
  }
  if (data.targets.size() > 0) {
    out.targets.resize(n);
    for (int64_t i = 0; i < n; ++i) out.targets[i] = data.targets[indices[i]];
  }
  return out;
}

void shuffle_indices(std::vector<int64_t>& indices, std::mt19937_64& rng) {
  // Modulo bias is below n / 2^64: irrelevant for any dataset that fits in memory.
  for (int64_t i = std::ssize(indices) - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(indices[i], indices[j]);
  }
}

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  std::vector<int64_t> indices(n);
  std::iota(indices.begin(), indices.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  shuffle_indices(indices, rng);
  return indices;
}

Dataset shuffled(const Dataset& data, uint64_t seed) {
  const std::vector<int64_t> order = shuffled_indices(data.size(), seed);
  return subset(data, order);
}

Result<DatasetSplit> split(const Dataset& data, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    return InvalidArgument("split fraction must be in [0, 1], got " + std::to_string(fraction));
  }
  const std::vector<int64_t> order = shuffled_indices(data.size(), seed);
  const auto cut = static_cast<int64_t>(std::llround(fraction * static_cast<double>(data.size())));
  DatasetSplit out;
  out.first = subset(data, std::span<const int64_t>(order).first(cut));
  out.second = subset(data, std::span<const int64_t>(order).subspan(cut));
  return out;
}

Dataset head(const Dataset& data, int64_t n) {
  std::vector<int64_t> indices(std::clamp<int64_t>(n, 0, data.size()));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  return subset(data, indices);
}

}  // namespace fl::model
