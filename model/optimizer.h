// First-order optimisers over a model's flat parameter vector: SGD with
// momentum and Adam, each with weight decay on weights only.
//
// The optimiser state (velocity, moments) lives here and not in the Model:
// a federated client starts every round from fresh state, as in FedAvg.
//
// Thread-safety: one training loop owns an Optimizer.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "model/train_config.h"

namespace fl::model {

class Optimizer {
 public:
  // decay_mask: 1 where weight decay applies (weights), 0 elsewhere (biases).
  Optimizer(const TrainConfig& config, Eigen::VectorXf decay_mask);

  // params -= update(grad) at learning rate lr. `grad` is used as scratch.
  void step(Eigen::VectorXf& params, Eigen::VectorXf& grad, float lr);

  // The same split for parallel use: begin_step() once, then update() on
  // disjoint segments [begin, begin + size) of the vectors, from any threads.
  void begin_step() { ++steps_; }
  void update(float* params, float* grad, float lr, int64_t begin, int64_t size);

  int64_t steps() const { return steps_; }

 private:
  OptimizerKind kind_;
  float momentum_;
  bool nesterov_;
  float beta1_, beta2_, epsilon_;
  float weight_decay_;
  Eigen::VectorXf decay_mask_;
  Eigen::VectorXf first_;   // SGD velocity or Adam first moment
  Eigen::VectorXf second_;  // Adam second moment
  int64_t steps_ = 0;
};

}  // namespace fl::model
