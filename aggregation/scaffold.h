// SCAFFOLD control variates (Karimireddy et al., "SCAFFOLD: Stochastic
// Controlled Averaging for Federated Learning", ICML 2020, Algorithm 1 with
// option II), the parts the device, the round engine and the simulator share.
//
// On non-IID data each client's local steps drift towards its own optimum.
// SCAFFOLD corrects every local gradient g by c - c_i, where c estimates the
// gradient of the global objective and c_i this client's:
//
//   client: y <- y - lr (g(y) - c_i + c)                  (every local step)
//           c_i+ = c_i - c + (x - y) / T                  (option II)
//           uploads [y - x, c_i+ - c_i]                   (one vector, 2d values)
//   server: x <- optimiser step by the mean of y - x      (as FedAvg)
//           c <- c + (|S| / N) mean(c_i+ - c_i)           (N: the population)
//
// T is the distance a unit gradient moves a weight over the client's steps
// (model::TrainReport::unit_gradient_travel): K x lr for plain SGD, the
// paper's setting, and the momentum's gain on top when local SGD has
// momentum (then c_i estimates the mean gradient, not lr times it).
//
// Both halves ride in the one secure sum: same quantisation, same weight, so
// the server learns only the cohort's means. With weighted FedAvg the mean of
// delta_c is the example-weighted one; c then tracks the example-weighted
// mean of the c_i, as the model's update does. Costs: the upload doubles
// (2d ring elements instead of d), the task carries c (d floats), and a
// device keeps c_i (d floats) between the rounds it joins.
//
// Refused with differential privacy: delta_c is neither clipped nor noised,
// so the round would release more than the accountant charges for.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fl::aggregation {

enum class TrainingAlgorithm { kFedAvg, kScaffold };

// "fedavg" (or "", a plan from before the key existed) | "scaffold".
Result<TrainingAlgorithm> parse_training_algorithm(std::string_view name);
std::string_view training_algorithm_name(TrainingAlgorithm algorithm);

// Why a population cannot train with SCAFFOLD under these settings, or empty.
// `optimizer` is the local one ("sgd" | "adam").
std::string scaffold_refusal(bool dp_enabled, double l2_clip, std::string_view optimizer);

// c - c_i, the correction every local step adds to its gradient. An empty
// c_i is a client's first round (c_i = 0). InvalidArgument on a size mismatch.
Result<std::vector<float>> gradient_correction(std::span<const float> global_control,
                                               std::span<const float> client_control);

struct ControlVariateStep {
  std::vector<float> next;   // c_i+, to keep once the round's sum includes this client
  std::vector<float> delta;  // c_i+ - c_i, uploaded beside the model's delta
};

// Option II from the round's global weights x, the trained weights y, c, c_i
// (empty: zeros) and T. InvalidArgument for sizes that differ, T not positive
// or a non-finite result.
Result<ControlVariateStep> step_control_variate(std::span<const float> global_weights,
                                                std::span<const float> trained_weights,
                                                std::span<const float> global_control,
                                                std::span<const float> client_control,
                                                double unit_gradient_travel);

// c + participation x mean_control_delta, participation = |S| / N in (0, 1].
// An empty c is zeros. InvalidArgument on sizes, a participation outside
// (0, 1] or a non-finite result.
Result<std::vector<float>> step_global_control(std::span<const float> global_control,
                                               std::span<const float> mean_control_delta,
                                               double participation);

// The control variate as saved with a version, in its ServerOptimizerState
// (proto/server_optimizer.proto), and read back: zeros of `dimension` when the
// state holds none (the initial version, or a population that just switched
// to SCAFFOLD). DataLoss when the bytes do not parse or the size is wrong.
Result<std::string> with_global_control(std::string optimizer_state,
                                        std::span<const float> global_control);
Result<std::vector<float>> global_control_of(std::string_view optimizer_state, size_t dimension);

}  // namespace fl::aggregation
