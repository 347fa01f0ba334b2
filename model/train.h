// Local training: minibatch epochs over a Dataset with the configured
// optimiser, schedule, weight decay and optional FedProx term.
//
// This is the whole of a client's local update in a federated round and the
// centralised baseline of fl-train. Each batch is split across
// config.num_threads threads (rows sharded, per-thread gradients summed);
// measured faster than letting Eigen parallelise each product with OpenMP,
// whose products at batch sizes of 32-256 are too small to split well (see
// benchmarks/bench_model.cc).
//
// Deterministic: for a given model, data, config (seed, batch size, thread
// count) the resulting weights are bit-identical from run to run.
//
// Thread-safety: mutates `model`; nothing else may use it meanwhile.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "model/dataset.h"
#include "model/model.h"
#include "model/train_config.h"

namespace fl::model {

struct TrainReport {
  std::vector<EpochReport> epochs;
  int64_t steps = 0;
  int64_t examples_processed = 0;
  double seconds = 0;
  int num_threads = 1;
  // How far a constant unit gradient would have moved one weight over the
  // run's steps, rates and momentum: sum over steps of lr times the unit
  // velocity (K x lr for plain SGD at a constant rate). SCAFFOLD's option II
  // divides the model's displacement by it to estimate the mean gradient.
  // 0 for Adam, whose step is not linear in the gradient.
  double unit_gradient_travel = 0;

  float final_loss() const { return epochs.empty() ? 0.0f : epochs.back().mean_loss; }
};

// Trains `model` on `data` in place. With global_weights_for_prox (num_params
// floats, e.g. the round's global model) and config.fedprox_mu > 0, adds the
// FedProx proximal term. With gradient_correction (num_params floats), every
// step adds it to the minibatch gradient before the optimiser sees it: SCAFFOLD's
// c - c_i (aggregation/scaffold.h). If training diverges (non-finite loss) the
// model is restored to its starting weights and an error returned.
Result<TrainReport> train(Model& model, const Dataset& data, const TrainConfig& config,
                          const float* global_weights_for_prox = nullptr,
                          const float* gradient_correction = nullptr);

}  // namespace fl::model
