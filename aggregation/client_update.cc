#include "aggregation/client_update.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "aggregation/dp/unclipped_count.h"
#include "aggregation/scaffold.h"
#include "crypto/bytes.h"

namespace fl::aggregation {
namespace {

// Sum of squares in double: with up to ~10^8 float coordinates the relative
// error stays far below the float rounding the clip has to allow for.
Result<double> squared_norm(std::span<const float> v) {
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = v[i];
    if (!std::isfinite(x))
      return InvalidArgument("update coordinate " + std::to_string(i) + " is not a finite number");
    sum += x * x;
  }
  return sum;
}

// Scales v in place so that its L2 norm, computed as above, is at most c.
// Rounding each scaled coordinate to float can lengthen the vector by a
// relative 2^-24, so the factor is shrunk by a few float ulps until the bound
// holds exactly (in practice one pass, at most two).
void scale_to_norm(std::span<float> v, double norm, double c) {
  double factor = c / norm;
  for (int pass = 0; pass < 8; ++pass) {
    for (float& x : v) x = static_cast<float>(static_cast<double>(x) * factor);
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    if (std::sqrt(sum) <= c) return;
    factor = 1.0 - 0x1.0p-22;
  }
}

double weight_of(const QuantizationConfig& q, uint64_t examples) {
  return q.max_weight > 0 ? static_cast<double>(std::min(examples, q.max_weight)) : 1.0;
}

// The norm, whether it exceeds C, and the weight: everything decided before
// any value changes.
Result<ClientUpdateStats> measure(std::span<const float> delta, uint64_t examples,
                                  const ClientUpdateConfig& config) {
  FL_RETURN_IF_ERROR(check_client_update_config(config));
  auto squared = squared_norm(delta);
  if (!squared.ok()) return squared.status();
  ClientUpdateStats stats;
  stats.l2_norm = std::sqrt(*squared);
  stats.clipped = config.l2_clip > 0 && stats.l2_norm > config.l2_clip;
  stats.weight = weight_of(config.quantization, examples);
  return stats;
}

}  // namespace

Status check_client_update_config(const ClientUpdateConfig& config) {
  if (!(config.l2_clip >= 0) || !std::isfinite(config.l2_clip))
    return InvalidArgument("l2_clip must be 0 (off) or a positive finite number, got " +
                           std::to_string(config.l2_clip));
  if (config.unclipped_bit && !(config.l2_clip > 0))
    return InvalidArgument("l2_clip: adaptive clipping reports [norm <= l2_clip], so needs a clip");
  if (!(config.count_noise_stddev >= 0) || !std::isfinite(config.count_noise_stddev))
    return InvalidArgument("count_noise_stddev: must be a non-negative finite number, got " +
                           std::to_string(config.count_noise_stddev));
  if (config.unclipped_bit && config.distributed_dp)
    FL_RETURN_IF_ERROR(dp::check_unclipped_bit_noise(config.count_noise_stddev,
                                                     config.distributed_dp->expected_clients));
  if (config.control_variate && (config.distributed_dp || config.unclipped_bit))
    return InvalidArgument("control_variate: " + scaffold_refusal(true, 0, "sgd"));
  if (config.control_variate && config.l2_clip != 0)
    return InvalidArgument("control_variate: " + scaffold_refusal(false, config.l2_clip, "sgd"));
  if (const auto& d = config.distributed_dp) {
    FL_RETURN_IF_ERROR(dp::check_distributed_dp(*d));
    if (config.quantization.max_weight != 0)
      return InvalidArgument(
          "max_weight: distributed DP averages unweighted (each client's update is bounded by C)");
    if (!(config.l2_clip > 0) || d->l2_clip != config.l2_clip)
      return InvalidArgument("l2_clip: distributed DP needs the clip its noise was set for");
    if (d->bits > static_cast<uint32_t>(config.quantization.ring))
      return InvalidArgument("distributed_dp.bits: wider than the secure aggregation ring");
    return Status::Ok();
  }
  return check_quantization(config.quantization, 1);
}

uint64_t client_input_dimension(const ClientUpdateConfig& config, uint64_t dimension) {
  const uint64_t bit = config.unclipped_bit ? dp::kUnclippedBitElements : 0;
  if (config.distributed_dp) return dp::rotation_dimension(dimension) + bit;
  const uint64_t values = config.control_variate ? 2 * dimension : dimension;
  return quantized_dimension(config.quantization, values) + bit;
}

proto::QuantizationPlan quantization_plan(const ClientUpdateConfig& config) {
  proto::QuantizationPlan plan;
  plan.set_clip(config.quantization.clip);
  plan.set_bits(config.quantization.bits);
  plan.set_ring_bits(static_cast<uint32_t>(config.quantization.ring));
  plan.set_max_weight(config.quantization.max_weight);
  plan.set_l2_clip(config.l2_clip);
  plan.set_unclipped_bit(config.unclipped_bit);
  plan.set_control_variate(config.control_variate);
  if (const auto& d = config.distributed_dp) {
    auto* p = plan.mutable_distributed_dp();
    p->set_scale(d->scale);
    p->set_noise_stddev(d->noise_stddev);
    p->set_expected_clients(d->expected_clients);
    p->set_bits(d->bits);
    p->set_rotation_seed(std::string(config.rotation_seed.begin(), config.rotation_seed.end()));
    p->set_count_noise_stddev(config.count_noise_stddev);
  }
  return plan;
}

Result<ClientUpdateConfig> client_update_config(const proto::QuantizationPlan& plan) {
  ClientUpdateConfig config;
  config.quantization.clip = plan.clip();
  config.quantization.bits = plan.bits();
  if (plan.ring_bits() == 32) {
    config.quantization.ring = crypto::RingBits::k32;
  } else if (plan.ring_bits() == 64) {
    config.quantization.ring = crypto::RingBits::k64;
  } else {
    return InvalidArgument("ring_bits " + std::to_string(plan.ring_bits()) +
                           " is neither 32 nor 64");
  }
  config.quantization.max_weight = plan.max_weight();
  config.l2_clip = plan.l2_clip();
  config.unclipped_bit = plan.unclipped_bit();      // absent in older plans: off
  config.control_variate = plan.control_variate();  // likewise
  if (plan.has_distributed_dp()) {
    const auto& p = plan.distributed_dp();
    if (p.rotation_seed().size() != config.rotation_seed.size())
      return InvalidArgument("distributed_dp.rotation_seed: must be 32 bytes");
    std::copy(p.rotation_seed().begin(), p.rotation_seed().end(), config.rotation_seed.begin());
    dp::DistributedDpConfig d;
    d.l2_clip = config.l2_clip;
    d.scale = p.scale();
    d.noise_stddev = p.noise_stddev();
    d.expected_clients = p.expected_clients();
    d.bits = p.bits();
    d.dimension = 1;  // set per update from its length
    config.distributed_dp = d;
    config.count_noise_stddev = p.count_noise_stddev();
  }
  FL_RETURN_IF_ERROR(check_client_update_config(config));
  return config;
}

Result<WeightedUpdate> clip_and_weigh(std::span<const float> delta, uint64_t examples,
                                      const ClientUpdateConfig& config) {
  auto stats = measure(delta, examples, config);
  if (!stats.ok()) return stats.status();
  WeightedUpdate out{std::vector<float>(delta.begin(), delta.end()), *stats};
  if (out.stats.clipped) scale_to_norm(out.delta, out.stats.l2_norm, config.l2_clip);
  return out;
}

Result<ClientUpdate> build_client_update(std::span<const float> delta, uint64_t examples,
                                         const ClientUpdateConfig& config, crypto::Rng& rng) {
  auto stats = measure(delta, examples, config);
  if (!stats.ok()) return stats.status();
  if (config.distributed_dp) {
    dp::DistributedDpConfig d = *config.distributed_dp;
    d.dimension = delta.size();
    auto encoded = dp::encode_client_update(delta, d, config.rotation_seed, rng);
    if (!encoded.ok()) return encoded.status();
    stats->wrapped = encoded->wrapped;
    if (config.unclipped_bit) {
      auto bit = dp::noised_unclipped_bit(!stats->clipped, config.count_noise_stddev,
                                          d.expected_clients, d.bits, rng);
      if (!bit.ok()) return bit.status();
      encoded->ring.push_back(bit->ring);
      stats->wrapped += bit->wrapped ? 1 : 0;
    }
    return ClientUpdate{std::move(encoded->ring), *stats};
  }
  std::vector<float> clipped;
  if (stats->clipped) {
    clipped.assign(delta.begin(), delta.end());
    scale_to_norm(clipped, stats->l2_norm, config.l2_clip);
  }
  auto ring = quantize(stats->clipped ? std::span<const float>(clipped) : delta,
                       static_cast<double>(examples), config.quantization, rng);
  crypto::wipe(clipped.data(), clipped.size() * sizeof(float));
  if (!ring.ok()) return ring.status();
  if (config.unclipped_bit) ring->push_back(dp::plain_unclipped_bit(!stats->clipped));
  return ClientUpdate{std::move(*ring), *stats};
}

Result<ClientUpdate> build_client_update(std::span<const float> global_weights,
                                         std::span<const float> trained_weights, uint64_t examples,
                                         const ClientUpdateConfig& config, crypto::Rng& rng) {
  if (global_weights.size() != trained_weights.size())
    return InvalidArgument("trained weights: " + std::to_string(trained_weights.size()) +
                           " values for a model of " + std::to_string(global_weights.size()));
  std::vector<float> delta(global_weights.size());
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = trained_weights[i] - global_weights[i];
  auto update = build_client_update(delta, examples, config, rng);
  crypto::wipe(delta.data(), delta.size() * sizeof(float));
  return update;
}

Result<ClientUpdate> build_scaffold_client_update(std::span<const float> global_weights,
                                                  std::span<const float> trained_weights,
                                                  std::span<const float> control_delta,
                                                  uint64_t examples,
                                                  const ClientUpdateConfig& config,
                                                  crypto::Rng& rng) {
  if (!config.control_variate)
    return InvalidArgument("control_variate: the round's plan does not carry a control variate");
  if (global_weights.size() != trained_weights.size() ||
      control_delta.size() != global_weights.size())
    return InvalidArgument("scaffold: " + std::to_string(trained_weights.size()) +
                           " trained weights and " + std::to_string(control_delta.size()) +
                           " control values for a model of " +
                           std::to_string(global_weights.size()));
  std::vector<float> input(2 * global_weights.size());
  for (size_t i = 0; i < global_weights.size(); ++i)
    input[i] = trained_weights[i] - global_weights[i];
  std::copy(control_delta.begin(), control_delta.end(), input.begin() + global_weights.size());
  auto update = build_client_update(input, examples, config, rng);
  crypto::wipe(input.data(), input.size() * sizeof(float));
  return update;
}

}  // namespace fl::aggregation
