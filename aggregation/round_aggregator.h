// The server's half of a round's update pipeline (DESIGN.md section 4, step
// 5): from the round's sum of client updates to the next global weights.
//
//   secure path: unmasked ring sum --decode_secure_sum--> MeanUpdate
//   plain path:  PlainUpdateSum     --decode_plain_sum--->  MeanUpdate
//   both:        MeanUpdate --step_server_optimizer--> NextWeights
//
// The plain path (secure aggregation off, in the simulator) sums the float
// output of clip_and_weigh with the same weights the quantiser encodes, so the
// two paths differ only by quantisation error and end in the same optimiser
// step. The coordinator's round engine and `fl-sim` both call these.
//
// The optimiser is stepped on a copy: the caller's optimiser (and its
// moments) is untouched until it adopts NextWeights::optimizer, so a round
// whose new version fails to commit leaves the server state as it was.
//
// Not for: unmasking (aggregation/secagg), evaluation, publishing.
//
// Thread-safety: pure functions and a value type; a PlainUpdateSum is not
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/dp/dp_config.h"
#include "aggregation/quantization.h"
#include "aggregation/server_optimizer.h"
#include "base/status.h"
#include "crypto/rng.h"

namespace fl::aggregation {

struct RoundAggregatorConfig {
  QuantizationConfig quantization;  // how the clients encoded their inputs (secure path)
  // Differential privacy (aggregation/dp/dp_config.h). Central: Gaussian
  // noise of stddev noise_multiplier * l2_clip is added to the sum of the
  // clipped updates, from `noise_rng` (a CSPRNG; required). Distributed: the
  // sum already carries the clients' noise and is decoded with `distributed`
  // and the round's rotation seed. Either way the mean is the noised sum
  // divided by expected_clients, a public constant.
  dp::DpMode dp_mode = dp::DpMode::kOff;
  double noise_multiplier = 0;
  double l2_clip = 0;
  double expected_clients = 0;
  std::optional<dp::DistributedDpConfig> distributed;
  crypto::Key32 rotation_seed{};
  crypto::Rng* noise_rng = nullptr;
  // Adaptive clipping (aggregation/dp/unclipped_count.h): each input ends
  // with the client's unclipped bit (ClientUpdateConfig::unclipped_bit), and
  // decoding also yields their noised sum. With DP on, noise_multiplier is
  // the round's z_value and l2_clip its clip (dp::plan_adaptive_round).
  // count_noise_stddev is sigma_b: central, the stddev of the N(0, sigma_b^2)
  // the server adds to the count from `noise_rng` (after the value noise);
  // distributed, the clients' (already in their inputs; it sets the bit's
  // encoding scale); off, unused (the count is exact).
  bool unclipped_bit = false;
  double count_noise_stddev = 0;
  // SCAFFOLD (aggregation/scaffold.h): each input is [delta_y, delta_c]. The
  // mean's first half steps the optimiser; the second moves global_control
  // (empty: zeros) by included / population_size of it, into
  // NextWeights::global_control. Not with DP (population_config.cc refuses).
  bool control_variate = false;
  std::span<const float> global_control;
  uint64_t population_size = 0;  // N, the devices that may take part
};

struct AggregationStats {
  double total_weight = 0;  // sum of the weights, or the number of inputs when unweighted
  uint64_t included = 0;    // inputs in the sum
  // Adaptive clipping: the number of clients whose update was within the
  // clip, noised with DP on (as the centred sum plus expected_clients / 2, so
  // it never uses the survivor count; unclipped_count.h), exact with DP off;
  // and what it is a count out of: expected_clients with DP on, the inputs
  // with DP off. AdaptiveClipping::update takes the pair.
  std::optional<double> noised_unclipped_count;
  double unclipped_count_cohort = 0;
};

struct MeanUpdate {
  std::vector<float> mean;  // the (weighted) mean client update
  AggregationStats stats;
};

// Running weighted sum of float updates, in double, in the order added.
class PlainUpdateSum {
 public:
  explicit PlainUpdateSum(size_t dimension) : sum_(dimension, 0.0) {}

  // InvalidArgument, leaving the sum unchanged, for a size mismatch, a
  // non-finite value or a negative or non-finite weight.
  Status add(std::span<const float> update, double weight);
  // Also counts the update as unclipped when its clip did not bind (the
  // adaptive clipping bit of the secure path).
  Status add(const WeightedUpdate& update);

  size_t dimension() const { return sum_.size(); }
  uint64_t inputs() const { return inputs_; }
  uint64_t unclipped() const { return unclipped_; }
  uint64_t clip_reports() const { return clip_reports_; }  // inputs added as WeightedUpdate
  double total_weight() const { return total_weight_; }
  std::span<const double> sum() const { return sum_; }

 private:
  std::vector<double> sum_;
  double total_weight_ = 0;
  uint64_t inputs_ = 0;
  uint64_t unclipped_ = 0;
  uint64_t clip_reports_ = 0;
};

// De-quantises the unmasked sum of `num_inputs` client inputs (with the
// unclipped bits' element last when config.unclipped_bit). InvalidArgument
// for zero inputs, a zero total weight or settings that cannot decode it.
Result<MeanUpdate> decode_secure_sum(std::span<const uint64_t> ring_sum, uint64_t num_inputs,
                                     const RoundAggregatorConfig& config);

// The weighted mean of a plain sum. InvalidArgument when it holds no weight.
Result<MeanUpdate> decode_plain_sum(const PlainUpdateSum& sum, const RoundAggregatorConfig& config);

struct NextWeights {
  std::vector<float> weights;
  std::unique_ptr<ServerOptimizer> optimizer;  // the stepped copy; adopt it on commit
  AggregationStats stats;
  std::vector<float> global_control;  // SCAFFOLD: the next c; empty otherwise
};

// Steps a copy of `optimizer` from `global` by the mean update.
// InvalidArgument when the sizes differ or the step is refused (non-finite,
// overflow); `optimizer` is never modified.
Result<NextWeights> step_server_optimizer(std::span<const float> global, const MeanUpdate& mean,
                                          const ServerOptimizer& optimizer);

// step_server_optimizer on the model's part of the mean and, with
// config.control_variate, the next global control variate from the rest.
// InvalidArgument when the mean is not 2d long with SCAFFOLD, or N is zero
// or smaller than the inputs.
Result<NextWeights> step_round(std::span<const float> global, const MeanUpdate& mean,
                               const RoundAggregatorConfig& config,
                               const ServerOptimizer& optimizer);

// decode_secure_sum then step_round, with the failing step named.
Result<NextWeights> aggregate_secure_round(std::span<const float> global,
                                           std::span<const uint64_t> ring_sum, uint64_t num_inputs,
                                           const RoundAggregatorConfig& config,
                                           const ServerOptimizer& optimizer);

}  // namespace fl::aggregation
