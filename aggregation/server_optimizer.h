// Server optimisers: turn the round's mean client update into the next global
// weights (DESIGN.md section 4, step 5).
//
// Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Algorithm 2. The
// mean update Delta is what clients send (new minus old weights), so the
// server's pseudo-gradient is -Delta and every rule below adds:
//
//   FedAvg      x += eta * Delta
//   FedAvgM     m  = beta * m + Delta;                  x += eta * m
//   FedAdagrad  m  = b1 * m + (1 - b1) * Delta;  v += Delta^2
//   FedAdam     m  = (same);  v = b2 * v + (1 - b2) * Delta^2
//   FedYogi     m  = (same);  v -= (1 - b2) * Delta^2 * sign(v - Delta^2)
//               adaptive: x += eta * m / (sqrt(v) + tau)
//
// As in the paper there is no bias correction; m starts at 0 and v at tau^2
// (Algorithm 2 asks for v_-1 >= tau^2). Arithmetic is in double per
// coordinate; weights and moments are stored as float.
//
// Not for: aggregation itself (the caller hands in the de-quantised mean),
// differential privacy noise, or deciding whether to publish the result.
//
// State: the moments live in the optimiser and are saved with each model
// version (`serialize_state`) so a restarted coordinator continues exactly
// where it stopped (`restore_state`). An optimiser serves one model: the
// first `apply` fixes the dimension.
//
// Thread-safety: none; one optimiser per model, driven by one round at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "proto/server_optimizer.pb.h"

namespace fl::aggregation {

using ServerOptimizerConfig = proto::ServerOptimizerConfig;
using ServerOptimizerKind = proto::ServerOptimizerKind;

// Defaults for unset config fields. beta1 and beta2 are the values the paper
// fixes in its experiments; tau = 1e-3 is from the grid it tunes tau over. The
// paper tunes eta per task on a log grid: 1 makes FedAvg plain McMahan et al.
// averaging, and 1e-2 is only a starting point for the adaptive rules, whose
// per-coordinate step is about eta in size.
inline constexpr double kDefaultFedAvgServerLr = 1.0;
inline constexpr double kDefaultAdaptiveServerLr = 1e-2;
inline constexpr double kDefaultMomentum = 0.9;  // Hsu et al. 2019, FedAvgM
inline constexpr double kDefaultBeta1 = 0.9;
inline constexpr double kDefaultBeta2 = 0.99;
inline constexpr double kDefaultTau = 1e-3;

class ServerOptimizer {
 public:
  // InvalidArgument for an unspecified kind, a hyperparameter out of range
  // (eta and tau must be positive, betas in [0, 1)), or a field set that does
  // not apply to the kind (a likely typo in the configuration).
  static Result<std::unique_ptr<ServerOptimizer>> create(const ServerOptimizerConfig& config);

  // weights <- next global weights. InvalidArgument, leaving weights and the
  // state unchanged, when the sizes differ (from each other or from earlier
  // steps), when any input is non-finite, or when the step would overflow.
  Status apply(std::vector<float>& weights, std::span<const float> mean_update);

  // An independent copy (hyperparameters, moments, step count): a round steps
  // the copy and the owner adopts it only once the new version is committed.
  std::unique_ptr<ServerOptimizer> clone() const {
    return std::unique_ptr<ServerOptimizer>(new ServerOptimizer(*this));
  }

  // The moments and step count (a ServerOptimizerState), to store beside the
  // weights they produced.
  std::string serialize_state() const;
  // Replaces the state with a saved one. DataLoss when the bytes do not parse
  // or are inconsistent; FailedPrecondition when they belong to another kind
  // of optimiser. On error the current state is kept.
  Status restore_state(std::string_view bytes);

  ServerOptimizerKind kind() const { return kind_; }
  uint64_t steps() const { return steps_; }

 private:
  struct Hyperparameters {
    double server_lr = 0;
    double momentum = 0;
    double beta1 = 0;
    double beta2 = 0;
    double tau = 0;
  };
  ServerOptimizer(ServerOptimizerKind kind, Hyperparameters h) : kind_(kind), h_(h) {}

  bool uses_first_moment() const;
  bool uses_second_moment() const;

  ServerOptimizerKind kind_;
  Hyperparameters h_;
  uint64_t steps_ = 0;
  uint64_t dimension_ = 0;  // 0 until the first step
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace fl::aggregation
