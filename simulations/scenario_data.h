// The data a scenario trains and tests on: the pooled training labels the
// partitioner splits, a way to fetch any client's rows, and the test set.
//
// Fashion-MNIST is held in memory once (188 MB as float32) and a client's rows
// are gathered when it trains. Synthetic data is never materialised: example
// i is generated from (seed, i) when asked for, so a scenario with a thousand
// clients and 10^4 features costs only the rows of the clients training at the
// moment. Synthetic examples are a mixture: class c has a mean vector mu_c
// (entries normal, scaled so that |mu_c| = separation) and every feature adds
// independent unit-variance noise (uniform, for speed: generating rows must
// not dominate a scale run). Labels are uniform over the classes.
//
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"
#include "model/dataset.h"
#include "simulations/scenario.h"

namespace fl::sim {

class FederatedData {
 public:
  static Result<FederatedData> load(const DataSpec& spec, uint64_t seed);

  const std::string& name() const { return name_; }
  int dim() const { return dim_; }
  int num_classes() const { return num_classes_; }
  int64_t train_size() const { return train_labels_.size(); }
  const Eigen::VectorXi& train_labels() const { return train_labels_; }
  const model::Dataset& test() const { return test_; }

  // The training examples at `indices`, in that order.
  model::Dataset rows(std::span<const int64_t> indices) const;

 private:
  void generate_row(int64_t index, float* out) const;

  std::string name_;
  int dim_ = 0;
  int num_classes_ = 0;
  Eigen::VectorXi train_labels_;
  model::Dataset train_;  // fashion-mnist only
  model::Dataset test_;
  bool synthetic_ = false;
  uint64_t seed_ = 0;
  Eigen::MatrixXf means_;       // synthetic: dim x classes
  Eigen::VectorXi all_labels_;  // synthetic: training then test labels
};

}  // namespace fl::sim
