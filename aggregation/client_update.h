// The client's half of a round's update pipeline (DESIGN.md section 4, steps
// 1-4): the float update (new weights minus global weights), its L2 clip to C,
// the FedAvg weighting and the quantisation into the secure aggregation ring.
// The SDK, the round engine's tests and the simulator all call this one
// implementation, so a device and `fl-sim` send bit-identical inputs for the
// same weights, count, configuration and random stream.
//
// Order matters: the L2 clip comes BEFORE the weight scaling and the
// quantisation, so C bounds one client's contribution to the sum (its
// sensitivity) whatever its example count, as user-level differential privacy
// needs (McMahan et al., "Learning Differentially Private Recurrent Language
// Models", ICLR 2018, Algorithm 1). The per-coordinate clip to [-c, c] inside
// quantisation only keeps values in the ring; it is not a privacy bound.
//
// Not for: masking (aggregation/secagg), training, or the server's side
// (round_aggregator.h).
//
// Thread-safety: pure functions; the Rng must not be shared across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "aggregation/dp/distributed_dp.h"
#include "aggregation/quantization.h"
#include "base/status.h"
#include "crypto/rng.h"
#include "proto/coordinator.pb.h"

namespace fl::aggregation {

struct ClientUpdateConfig {
  QuantizationConfig quantization;
  // C: the update is scaled down to L2 norm C when it is longer; 0 = off.
  double l2_clip = 0;
  // Distributed DP (issue #11, aggregation/dp/distributed_dp.h): when set, the
  // clipped update is rotated, rounded, noised with this client's share of
  // discrete Gaussian noise and wrapped into Z_(2^bits) instead of being
  // quantised; the mean is unweighted (max_weight must be 0) and its C is
  // l2_clip. The rotation seed is the round's (public, fresh per round).
  std::optional<dp::DistributedDpConfig> distributed_dp;
  crypto::Key32 rotation_seed{};
  // Adaptive clipping (aggregation/dp/unclipped_count.h): the input ends with
  // one more ring element carrying b = [||update|| <= l2_clip], after the
  // update's elements (and after the weight element when weighted), so the
  // coordinator unmasks only the sum of the bits. Needs l2_clip > 0.
  bool unclipped_bit = false;
  // Distributed DP with the bit: sigma_b, the stddev of the noise on the sum
  // of the bits (count units); this client adds its share of it to its
  // encoded, centred bit (dp::noised_unclipped_bit). Unused (0) otherwise.
  double count_noise_stddev = 0;
  // SCAFFOLD (aggregation/scaffold.h): the input is [delta_y, delta_c], 2d
  // values for a model of d, quantised and weighted alike (then the weight
  // element). No L2 clip, DP encoding or unclipped bit with it.
  bool control_variate = false;
};

// Ring elements one client's input occupies for a model of `dimension`
// (the unclipped bit included).
uint64_t client_input_dimension(const ClientUpdateConfig& config, uint64_t dimension);

// InvalidArgument naming the field (`l2_clip`, or the quantisation's own)
// when the configuration is unusable for a single client's input.
Status check_client_update_config(const ClientUpdateConfig& config);

// The configuration's wire form, carried in the round's TaskAssignment, and
// back. Reading refuses (InvalidArgument naming the field) what
// check_client_update_config refuses, and a ring other than 2^32 or 2^64.
proto::QuantizationPlan quantization_plan(const ClientUpdateConfig& config);
Result<ClientUpdateConfig> client_update_config(const proto::QuantizationPlan& plan);

struct ClientUpdateStats {
  // distributed DP: coordinates (the unclipped bit included) that wrapped
  // around the modulus
  uint64_t wrapped = 0;
  double l2_norm = 0;    // of the float update before clipping
  bool clipped = false;  // l2_norm > C, so the update was scaled to norm C
  // This client's weight in the average: its example count capped at
  // max_weight, or 1 when the mean is unweighted.
  double weight = 0;
};

// The float stage shared by the secure and the plain (simulator, secagg off)
// paths: the update after the L2 clip, and its weight.
struct WeightedUpdate {
  std::vector<float> delta;
  ClientUpdateStats stats;
};

// What the client masks and sends.
struct ClientUpdate {
  std::vector<uint64_t> ring;  // client_input_dimension() ring elements
  ClientUpdateStats stats;
};

// InvalidArgument, without touching the Rng, when the sizes differ, any value
// is non-finite, or the configuration is unusable. A client with zero examples
// is not an error here: weighted, it counts for nothing in the mean.
Result<WeightedUpdate> clip_and_weigh(std::span<const float> delta, uint64_t examples,
                                      const ClientUpdateConfig& config);

Result<ClientUpdate> build_client_update(std::span<const float> delta, uint64_t examples,
                                         const ClientUpdateConfig& config, crypto::Rng& rng);
Result<ClientUpdate> build_client_update(std::span<const float> global_weights,
                                         std::span<const float> trained_weights, uint64_t examples,
                                         const ClientUpdateConfig& config, crypto::Rng& rng);
// SCAFFOLD: [trained - global, control_delta] as one input. InvalidArgument
// unless config.control_variate and the three sizes agree.
Result<ClientUpdate> build_scaffold_client_update(std::span<const float> global_weights,
                                                  std::span<const float> trained_weights,
                                                  std::span<const float> control_delta,
                                                  uint64_t examples,
                                                  const ClientUpdateConfig& config,
                                                  crypto::Rng& rng);

}  // namespace fl::aggregation
