// In-memory examples for training and evaluation, and deterministic shuffling
// and splitting of them.
//
// Features are float32, one row per example, stored row-major: a minibatch or
// a client's partition is a gather of whole rows, each a contiguous copy
// (column-major would touch one cache line per feature per example). Code
// that holds an Eigen::MatrixXf can assign it to `features` directly.
// Classification sets `labels` (0 <= label < num_classes); regression sets
// `targets` and num_classes 0.
//
// Shuffles use our own Fisher-Yates over std::mt19937_64 rather than
// std::shuffle, whose output differs between standard libraries: a device
// built against libc++ and a simulator built against libstdc++ see the same
// order for the same seed.
//
// Thread-safety: values; concurrent reads are safe.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace fl::model {

using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Dataset {
  FeatureMatrix features;                  // n x d
  Eigen::VectorXi labels;                  // n, classification only
  Eigen::VectorXf targets;                 // n, regression only
  int num_classes = 0;                     // 0 for regression
  std::vector<std::string> feature_names;  // optional, d when present
  std::string source;                      // where it came from, for messages

  int64_t size() const { return features.rows(); }
  int dim() const { return static_cast<int>(features.cols()); }
  bool is_classification() const { return num_classes > 0; }
};

// Ok if labels/targets match the features and every label is in [0, num_classes).
Status validate_dataset(const Dataset& data);

// The rows at `indices`, in that order.
Dataset subset(const Dataset& data, std::span<const int64_t> indices);

// In-place Fisher-Yates shuffle; identical on every platform for a given rng state.
void shuffle_indices(std::vector<int64_t>& indices, std::mt19937_64& rng);
// 0..n-1 in an order fixed by the seed.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);
Dataset shuffled(const Dataset& data, uint64_t seed);

struct DatasetSplit {
  Dataset first;
  Dataset second;
};
// Shuffles with `seed`, then puts round(fraction * n) examples in `first` and
// the rest in `second`. fraction must be in [0, 1].
Result<DatasetSplit> split(const Dataset& data, double fraction, uint64_t seed);

// The first n examples (all of them if n >= size).
Dataset head(const Dataset& data, int64_t n);

}  // namespace fl::model
