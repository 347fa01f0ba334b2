#include "aggregation/dp/dp_config.h"

#include <cmath>
#include <string>

#include "aggregation/dp/unclipped_count.h"

namespace fl::aggregation::dp {
namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool positive_finite(double v) { return std::isfinite(v) && v > 0; }

// Headroom for the modulus: the paper's k standard deviations of the sum.
constexpr double kModulusStddevs = 4;

// n_expected: the shares the distributed noise is split into.
uint64_t expected_cohort(const DpConfig& c) {
  return static_cast<uint64_t>(std::ceil(c.expected_clients()));
}

}  // namespace

std::string_view dp_mode_name(DpMode mode) {
  switch (mode) {
    case DpMode::kOff:
      return "off";
    case DpMode::kCentral:
      return "central";
    case DpMode::kDistributed:
      return "distributed";
  }
  return "off";
}

std::optional<DpMode> parse_dp_mode(std::string_view name) {
  if (name == "off") return DpMode::kOff;
  if (name == "central") return DpMode::kCentral;
  if (name == "distributed") return DpMode::kDistributed;
  return std::nullopt;
}

Status check_dp_config(const DpConfig& c) {
  if (c.adaptive) {
    if (Status s = check_adaptive_clipping(*c.adaptive); !s.ok())
      return InvalidArgument("dp.adaptive_clipping." + s.message());
    if (!(c.adaptive->count_stddev >= 0))
      return InvalidArgument("dp.adaptive_clipping.count_stddev: must be >= 0 (0: cohort / 20)");
    if (c.clip != 0)
      return InvalidArgument(
          "dp.clip: leave it out with dp.adaptive_clipping; the clip starts at "
          "dp.adaptive_clipping.initial_clip and adapts every round");
  }
  if (!c.enabled()) return Status::Ok();
  if (!positive_finite(c.noise_multiplier))
    return InvalidArgument("dp.noise_multiplier: must be > 0, got " + num(c.noise_multiplier));
  if (!c.adaptive && !positive_finite(c.clip))
    return InvalidArgument(
        "dp.clip: differential privacy needs every update clipped to a positive L2 norm, got " +
        num(c.clip));
  if (!(c.sampling_rate > 0 && c.sampling_rate <= 1))
    return InvalidArgument("dp.sampling_rate: must be in (0, 1], got " + num(c.sampling_rate));
  if (c.population_size == 0)
    return InvalidArgument(
        "dp.population_size: the number of devices in the population is needed (delta must be "
        "below 1/population_size)");
  if (!(c.target_delta > 0 && c.target_delta < 1.0 / static_cast<double>(c.population_size)))
    return InvalidArgument("dp.target_delta: must be in (0, 1/population_size = " +
                           num(1.0 / static_cast<double>(c.population_size)) + "), got " +
                           num(c.target_delta));
  if (!(c.max_epsilon >= 0) || !std::isfinite(c.max_epsilon))
    return InvalidArgument("dp.max_epsilon: must be > 0 (or left out for no budget), got " +
                           num(c.max_epsilon));
  if (c.expected_clients() < 1)
    return InvalidArgument("dp.sampling_rate: sampling_rate x population_size = " +
                           num(c.expected_clients()) + " expected clients per round; at least 1");
  if (c.mode == DpMode::kDistributed && (c.bits < 8 || c.bits > 62))
    return InvalidArgument("dp.bits: must be in [8, 62], got " + std::to_string(c.bits));
  if (c.adaptive) {
    auto plan = plan_adaptive_round(c, c.adaptive->initial_clip, expected_cohort(c));
    if (!plan.ok()) return plan.status();
  }
  return Status::Ok();
}

Result<AdaptiveRoundPlan> plan_adaptive_round(const DpConfig& c, double current_clip,
                                              uint64_t expected_clients) {
  if (!c.adaptive) return InvalidArgument("dp.adaptive_clipping: not configured");
  if (Status s = check_adaptive_clipping(*c.adaptive); !s.ok())
    return InvalidArgument("dp.adaptive_clipping." + s.message());
  if (!positive_finite(current_clip))
    return InvalidArgument("dp.adaptive_clipping: the current clip must be > 0, got " +
                           num(current_clip));
  if (expected_clients == 0)
    return InvalidArgument("dp.adaptive_clipping: the expected cohort must be at least 1");
  AdaptiveRoundPlan plan;
  plan.clip = current_clip;
  if (!c.enabled()) return plan;
  plan.count_noise_stddev = count_noise_stddev(*c.adaptive, expected_clients);
  auto z = value_noise_multiplier(c.noise_multiplier, plan.count_noise_stddev);
  if (!z.ok())
    return InvalidArgument("dp.adaptive_clipping." + z.status().message() + " (sigma_b " +
                           num(plan.count_noise_stddev) + " for " +
                           std::to_string(expected_clients) + " expected clients)");
  plan.z_value = *z;
  return plan;
}

namespace {

// The encoding for clip C and value noise multiplier z (c's own, or an
// adaptive round's z_value).
Result<DistributedDpConfig> distributed_config_for(const DpConfig& c, double clip, double z,
                                                   uint64_t dimension) {
  FL_RETURN_IF_ERROR(check_dp_config(c));
  if (c.mode != DpMode::kDistributed)
    return InvalidArgument("dp.mode: distributed_config needs mode distributed");
  DistributedDpConfig d;
  d.dimension = dimension;
  d.l2_clip = clip;
  d.noise_stddev = z * clip;
  d.expected_clients = expected_cohort(c);
  d.bits = c.bits;
  auto scale =
      scale_for_bits(c.bits, clip, d.noise_stddev, d.expected_clients, dimension, kModulusStddevs);
  if (!scale.ok())
    return InvalidArgument(
        "dp.bits: " + std::to_string(c.bits) +
        " bits cannot hold the noise and the cohort: " + scale.status().message());
  d.scale = *scale;
  if (Status st = check_distributed_dp(d); !st.ok())
    return InvalidArgument(
        "dp.bits: with " + std::to_string(c.bits) + " bits the encoding is unusable for " +
        std::to_string(d.expected_clients) + " expected clients: " + st.message());
  return d;
}

}  // namespace

Result<DistributedDpConfig> distributed_config(const DpConfig& c, uint64_t dimension) {
  if (c.adaptive)
    return InvalidArgument(
        "dp.adaptive_clipping: the clip changes every round; build the round's encoding from "
        "plan_adaptive_round");
  return distributed_config_for(c, c.clip, c.noise_multiplier, dimension);
}

Result<DistributedDpConfig> distributed_config(const DpConfig& c, const AdaptiveRoundPlan& round,
                                               uint64_t dimension) {
  if (!c.adaptive) return InvalidArgument("dp.adaptive_clipping: not configured");
  if (!positive_finite(round.clip) || !positive_finite(round.z_value))
    return InvalidArgument("dp.adaptive_clipping: the round plan needs a positive clip and z");
  return distributed_config_for(c, round.clip, round.z_value, dimension);
}

Status check_dp_for_model(const DpConfig& c, uint64_t dimension, uint32_t ring_bits) {
  FL_RETURN_IF_ERROR(check_dp_config(c));
  if (c.mode != DpMode::kDistributed) return Status::Ok();
  if (c.bits > ring_bits)
    return InvalidArgument("dp.bits: " + std::to_string(c.bits) +
                           " bits do not fit the secure aggregation ring of " +
                           std::to_string(ring_bits) + " bits");
  std::optional<AdaptiveRoundPlan> first_round;
  if (c.adaptive) {
    auto plan = plan_adaptive_round(c, c.adaptive->initial_clip, expected_cohort(c));
    if (!plan.ok()) return plan.status();
    first_round = *plan;
  }
  auto d = first_round ? distributed_config(c, *first_round, dimension)
                       : distributed_config(c, dimension);
  if (!d.ok()) return d.status();
  Status s = check_modulus(*d, d->expected_clients, ring_bits, kModulusStddevs);
  if (!s.ok()) return InvalidArgument("dp.bits: " + s.message());
  if (first_round) {
    // The bits' element: the cohort's encoded bits plus the count noise.
    const double needed = noised_bits_sum_bound(first_round->count_noise_stddev,
                                                d->expected_clients, kModulusStddevs);
    if (needed >= std::ldexp(1.0, static_cast<int>(c.bits) - 1))
      return InvalidArgument("dp.bits: " + std::to_string(c.bits) +
                             " bits cannot hold the sum of the adaptive clipping bits (about " +
                             num(needed) + " in magnitude)");
  }
  // Rounding must not swamp the noise: each client's share of the noise
  // should be at least one integer step, or the discrete Gaussian degenerates.
  const double share = client_noise_sigma(*d);
  if (share < 1.0)
    return InvalidArgument("dp.bits: with " + std::to_string(c.bits) +
                           " bits each client's noise share is " + num(share) +
                           " integer steps (< 1): the ring is too small for the noise and the "
                           "cohort; use more bits or fewer expected clients");
  return Status::Ok();
}

}  // namespace fl::aggregation::dp
