#include "aggregation/round_aggregator.h"

#include <cmath>
#include <string>

#include "aggregation/dp/central_dp.h"
#include "aggregation/dp/unclipped_count.h"
#include "aggregation/scaffold.h"

namespace fl::aggregation {

Status PlainUpdateSum::add(std::span<const float> update, double weight) {
  if (update.size() != sum_.size())
    return InvalidArgument("update has " + std::to_string(update.size()) +
                           " coordinates but the sum has " + std::to_string(sum_.size()));
  if (!(weight >= 0) || !std::isfinite(weight))
    return InvalidArgument("weight must be a non-negative finite number, got " +
                           std::to_string(weight));
  for (size_t i = 0; i < update.size(); ++i)
    if (!std::isfinite(update[i]))
      return InvalidArgument("update coordinate " + std::to_string(i) + " is not a finite number");
  for (size_t i = 0; i < update.size(); ++i) sum_[i] += weight * update[i];
  total_weight_ += weight;
  ++inputs_;
  return Status::Ok();
}

Status PlainUpdateSum::add(const WeightedUpdate& update) {
  FL_RETURN_IF_ERROR(add(update.delta, update.stats.weight));
  ++clip_reports_;
  if (!update.stats.clipped) ++unclipped_;
  return Status::Ok();
}

namespace {

Status check_dp(const RoundAggregatorConfig& c) {
  if (c.dp_mode == dp::DpMode::kOff) return Status::Ok();
  if (!(c.expected_clients > 0))
    return InvalidArgument("DP: expected_clients must be positive (the mean's denominator)");
  if (c.dp_mode == dp::DpMode::kCentral && c.noise_rng == nullptr)
    return InvalidArgument("central DP: no noise generator was given");
  if (c.dp_mode == dp::DpMode::kDistributed && !c.distributed)
    return InvalidArgument("distributed DP: no decoding configuration was given");
  if (c.dp_mode != dp::DpMode::kOff && c.unclipped_bit &&
      !(c.count_noise_stddev > 0 && std::isfinite(c.count_noise_stddev)))
    return InvalidArgument(
        "DP: adaptive clipping needs noise on the unclipped count (count_noise_stddev)");
  return Status::Ok();
}

// The count of unclipped updates from the exact count (off, central; the
// plain path or the bits' ring sum), noised and centred with DP on.
Status attach_exact_count(uint64_t unclipped, uint64_t inputs, const RoundAggregatorConfig& c,
                          AggregationStats& stats) {
  if (unclipped > inputs)
    return InvalidArgument("the unclipped count " + std::to_string(unclipped) +
                           " exceeds the inputs " + std::to_string(inputs) +
                           ": the sum does not hold one bit per client");
  if (c.dp_mode == dp::DpMode::kCentral) {
    stats.noised_unclipped_count = dp::central_noised_unclipped_count(
        unclipped, inputs, c.count_noise_stddev, c.expected_clients, *c.noise_rng);
    stats.unclipped_count_cohort = c.expected_clients;
  } else {
    stats.noised_unclipped_count = static_cast<double>(unclipped);
    stats.unclipped_count_cohort = static_cast<double>(inputs);
  }
  return Status::Ok();
}

// The ring sum of the bits' element: exact (off, central) or the clients'
// noised centred bits (distributed).
Status attach_ring_count(uint64_t bits_sum, uint64_t inputs, const RoundAggregatorConfig& c,
                         AggregationStats& stats) {
  if (c.dp_mode == dp::DpMode::kDistributed) {
    stats.noised_unclipped_count =
        dp::decode_noised_unclipped_count(bits_sum, c.distributed->bits, c.count_noise_stddev,
                                          c.distributed->expected_clients, c.expected_clients);
    stats.unclipped_count_cohort = c.expected_clients;
    return Status::Ok();
  }
  const uint64_t mask = c.quantization.ring == crypto::RingBits::k32 ? 0xffffffffull : ~uint64_t{0};
  return attach_exact_count(bits_sum & mask, inputs, c, stats);
}

// The noised sum (update units) over expected_clients.
MeanUpdate dp_mean(std::vector<double> sum, uint64_t num_inputs, const RoundAggregatorConfig& c) {
  MeanUpdate out;
  out.mean.resize(sum.size());
  for (size_t i = 0; i < sum.size(); ++i)
    out.mean[i] = static_cast<float>(sum[i] / c.expected_clients);
  out.stats.total_weight = c.expected_clients;
  out.stats.included = num_inputs;
  return out;
}

Result<MeanUpdate> central_dp_mean(std::vector<double> sum, uint64_t num_inputs,
                                   const RoundAggregatorConfig& c) {
  std::vector<float> noise(sum.size(), 0.0f);
  FL_RETURN_IF_ERROR(
      dp::add_central_gaussian_noise(noise, c.noise_multiplier, c.l2_clip, *c.noise_rng));
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += noise[i];
  return dp_mean(std::move(sum), num_inputs, c);
}

// The mean from the update's elements (the bits' element removed).
Result<MeanUpdate> decode_values(std::span<const uint64_t> ring_sum, uint64_t num_inputs,
                                 const RoundAggregatorConfig& config) {
  if (config.dp_mode == dp::DpMode::kDistributed) {
    if (num_inputs == 0) return InvalidArgument("no client input is in the sum");
    auto sum = dp::decode_sum(ring_sum, *config.distributed, config.rotation_seed);
    if (!sum.ok()) return sum.status();
    return dp_mean(std::move(*sum), num_inputs, config);
  }
  auto decoded = dequantize_sum(ring_sum, num_inputs, config.quantization);
  if (!decoded.ok()) return decoded.status();
  if (config.dp_mode == dp::DpMode::kCentral) {
    // Unweighted: the decoded mean times the inputs is the sum of the clipped updates.
    std::vector<double> sum(decoded->mean.size());
    for (size_t i = 0; i < sum.size(); ++i)
      sum[i] = static_cast<double>(decoded->mean[i]) * decoded->total_weight;
    return central_dp_mean(std::move(sum), num_inputs, config);
  }
  MeanUpdate out;
  out.mean = std::move(decoded->mean);
  out.stats.total_weight = decoded->total_weight;
  out.stats.included = num_inputs;
  return out;
}

}  // namespace

Result<MeanUpdate> decode_secure_sum(std::span<const uint64_t> ring_sum, uint64_t num_inputs,
                                     const RoundAggregatorConfig& config) {
  FL_RETURN_IF_ERROR(check_dp(config));
  if (!config.unclipped_bit) return decode_values(ring_sum, num_inputs, config);
  if (ring_sum.empty()) return InvalidArgument("the sum has no element for the unclipped bits");
  // Values first: in central mode their noise is drawn before the count's,
  // so the mean does not depend on whether the bit is on.
  auto mean = decode_values(ring_sum.first(ring_sum.size() - dp::kUnclippedBitElements), num_inputs,
                            config);
  if (!mean.ok()) return mean;
  FL_RETURN_IF_ERROR(attach_ring_count(ring_sum.back(), num_inputs, config, mean->stats));
  return mean;
}

Result<MeanUpdate> decode_plain_sum(const PlainUpdateSum& sum,
                                    const RoundAggregatorConfig& config) {
  if (sum.inputs() == 0) return InvalidArgument("no client sent an update");
  FL_RETURN_IF_ERROR(check_dp(config));
  if (config.dp_mode == dp::DpMode::kDistributed)
    return InvalidArgument("distributed DP needs secure aggregation");
  if (config.unclipped_bit && sum.clip_reports() != sum.inputs())
    return InvalidArgument(
        "adaptive clipping: " + std::to_string(sum.inputs() - sum.clip_reports()) +
        " inputs were added without their clip status (add a WeightedUpdate)");
  if (config.dp_mode == dp::DpMode::kCentral) {
    auto mean = central_dp_mean(std::vector<double>(sum.sum().begin(), sum.sum().end()),
                                sum.inputs(), config);
    if (mean.ok() && config.unclipped_bit)
      FL_RETURN_IF_ERROR(attach_exact_count(sum.unclipped(), sum.inputs(), config, mean->stats));
    return mean;
  }
  if (!(sum.total_weight() > 0)) return InvalidArgument("total weight of the sum is zero");
  MeanUpdate out;
  out.stats.total_weight = sum.total_weight();
  out.stats.included = sum.inputs();
  out.mean.resize(sum.dimension());
  const std::span<const double> s = sum.sum();
  for (size_t i = 0; i < s.size(); ++i)
    out.mean[i] = static_cast<float>(s[i] / out.stats.total_weight);
  if (config.unclipped_bit)
    FL_RETURN_IF_ERROR(attach_exact_count(sum.unclipped(), sum.inputs(), config, out.stats));
  return out;
}

Result<NextWeights> step_server_optimizer(std::span<const float> global, const MeanUpdate& mean,
                                          const ServerOptimizer& optimizer) {
  if (mean.mean.size() != global.size())
    return InvalidArgument("the mean update has " + std::to_string(mean.mean.size()) +
                           " coordinates but the model has " + std::to_string(global.size()));
  NextWeights next;
  next.weights.assign(global.begin(), global.end());
  next.optimizer = optimizer.clone();
  FL_RETURN_IF_ERROR(next.optimizer->apply(next.weights, mean.mean));
  next.stats = mean.stats;
  return next;
}

Result<NextWeights> step_round(std::span<const float> global, const MeanUpdate& mean,
                               const RoundAggregatorConfig& config,
                               const ServerOptimizer& optimizer) {
  if (!config.control_variate) return step_server_optimizer(global, mean, optimizer);
  const size_t d = global.size();
  if (mean.mean.size() != 2 * d)
    return InvalidArgument("scaffold: the mean has " + std::to_string(mean.mean.size()) +
                           " values, not [delta_y, delta_c] for a model of " + std::to_string(d));
  if (config.population_size < mean.stats.included || config.population_size == 0)
    return InvalidArgument("scaffold: population_size " + std::to_string(config.population_size) +
                           " is below the round's " + std::to_string(mean.stats.included) +
                           " inputs");
  MeanUpdate model_part;
  model_part.mean.assign(mean.mean.begin(), mean.mean.begin() + static_cast<std::ptrdiff_t>(d));
  model_part.stats = mean.stats;
  auto next = step_server_optimizer(global, model_part, optimizer);
  if (!next.ok()) return next;
  const double participation =
      static_cast<double>(mean.stats.included) / static_cast<double>(config.population_size);
  auto control = step_global_control(config.global_control,
                                     std::span<const float>(mean.mean).subspan(d), participation);
  if (!control.ok()) return control.status();
  next->global_control = std::move(*control);
  return next;
}

Result<NextWeights> aggregate_secure_round(std::span<const float> global,
                                           std::span<const uint64_t> ring_sum, uint64_t num_inputs,
                                           const RoundAggregatorConfig& config,
                                           const ServerOptimizer& optimizer) {
  auto mean = decode_secure_sum(ring_sum, num_inputs, config);
  if (!mean.ok())
    return Status(mean.status().code(), "cannot decode the secure sum: " + mean.status().message());
  auto next = step_round(global, *mean, config, optimizer);
  if (!next.ok())
    return Status(next.status().code(),
                  "server optimiser refused the update: " + next.status().message());
  return next;
}

}  // namespace fl::aggregation
