// A population's differential privacy settings (the `dp:` section of the
// coordinator's YAML and of a scenario), their validation, and what they mean
// for one round: the client's clip and encoding, the server's noise and the
// accountant's entry (issue 11).
//
// Modes:
//   off          no noise; secure aggregation alone.
//   central      clients clip to C; the coordinator adds N(0, (zC)^2) to the
//                unmasked sum (central_dp.h). Trusts the coordinator with
//                the noise.
//   distributed  clients clip, rotate, round and add their share of discrete
//                Gaussian noise (distributed_dp.h); the coordinator only ever
//                unmasks a noised sum.
// Either way the round's mean is the noised sum divided by the expected
// cohort q * N (a public constant, as in McMahan et al. 2018 and TFF's
// DifferentiallyPrivateFactory), so the division is post-processing.
//
// Sampling: with DP on, the cohort is Poisson-sampled from the selection
// window's check-ins at rate q (coordinator/rounds/cohort_selection.h), the
// sampling rdp_poisson_gaussian accounts for. See aggregation/dp/README.md.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aggregation/dp/adaptive_clipping.h"
#include "aggregation/dp/distributed_dp.h"
#include "base/status.h"

namespace fl::aggregation::dp {

enum class DpMode { kOff, kCentral, kDistributed };
std::string_view dp_mode_name(DpMode mode);  // "off", "central", "distributed"
std::optional<DpMode> parse_dp_mode(std::string_view name);

struct DpConfig {
  DpMode mode = DpMode::kOff;
  double noise_multiplier = 0;   // z
  double clip = 0;               // C: L2 bound on a client's update
  double sampling_rate = 0;      // q: each check-in's chance of joining a round
  uint64_t population_size = 0;  // N: the devices of the population
  double target_delta = 0;       // delta of the reported (epsilon, delta)
  double max_epsilon = 0;        // 0: no budget; else no round may take epsilon past it
  uint32_t bits = 16;            // distributed: the modulus 2^bits
  // Adaptive clipping (adaptive_clipping.h): the clip starts at
  // adaptive->initial_clip and follows the target quantile of the update
  // norms; `clip` is then left 0. Allowed with mode off too (no noise on the
  // count then).
  std::optional<AdaptiveClippingConfig> adaptive;
  bool enabled() const { return mode != DpMode::kOff; }
  // q * N: the cohort the noise shares and the mean's denominator assume.
  double expected_clients() const { return sampling_rate * static_cast<double>(population_size); }
};

// The settings alone: InvalidArgument whose message starts with the key
// ("dp.noise_multiplier: must be > 0", ...): z or C not positive, q outside
// (0, 1], no population size, delta not in (0, 1/N), max_epsilon <= 0 when
// set, bits outside [8, 62]; with adaptive clipping
// "dp.adaptive_clipping.KEY: ..." for its own settings, and for a count
// noise sigma_b too small for z at the expected cohort (2 sigma_b <= z), and
// "dp.clip" when a fixed clip is given as well.
Status check_dp_config(const DpConfig& c);

// What one round of adaptive clipping uses (Andrew et al. 2021, Theorem 1):
// the clients' clip this round, the noise multiplier of the VALUE noise
// (z_delta = value_noise_multiplier(z, sigma_b) > z, so that values and count
// together cost what z alone would; 0 with DP off), and sigma_b, the stddev
// of the noise on the unclipped count (0 with DP off: the count is exact).
// Central: the server adds N(0, (z_value clip)^2) per coordinate and
// N(0, sigma_b^2) to the count. Distributed: distributed_config(c, plan, d)
// splits z_value * clip over the clients, and each adds its share of sigma_b
// to its bit (unclipped_count.h). The accountant charges z, not z_value.
struct AdaptiveRoundPlan {
  double clip = 0;
  double z_value = 0;
  double count_noise_stddev = 0;  // sigma_b
};

// The plan for a round whose clip is `current_clip` (AdaptiveClipping::clip(),
// initial_clip in the first round). `expected_clients` is the cohort sigma_b's
// default (cohort / 20) and the clients' noise shares assume: ceil(q N) with
// DP on (distributed_config's n_expected), the cohort size with DP off.
// InvalidArgument when c.adaptive is unset or invalid, current_clip is not
// positive and finite, or sigma_b is too small for z.
Result<AdaptiveRoundPlan> plan_adaptive_round(const DpConfig& c, double current_clip,
                                              uint64_t expected_clients);

// The settings for a model of `dimension` parameters and secure aggregation
// in a ring of `ring_bits` bits: distributed mode refuses (naming dp.bits) a
// modulus too small for the noise and the expected cohort, or wider than the
// ring. `expected_cohort` is what the modulus must hold. With adaptive
// clipping it is checked at the initial clip (the scale follows the clip, so
// the headroom does not depend on it) with the inflated z_value, and the
// modulus must also hold the bits' sum: n + k (sqrt(n) + 2 sigma_b), n the
// expected cohort, sqrt(n) its Poisson spread.
Status check_dp_for_model(const DpConfig& c, uint64_t dimension, uint32_t ring_bits);

// Distributed mode's per-round encoding for a model of `dimension`: the scale
// that fits the modulus, the noise z*C split into shares over the expected
// cohort. The rotation seed is the round's, chosen by the coordinator.
// Fixed clip only (InvalidArgument naming dp.adaptive_clipping otherwise).
Result<DistributedDpConfig> distributed_config(const DpConfig& c, uint64_t dimension);
// The same for a round of adaptive clipping: clip and z_value from `round`.
Result<DistributedDpConfig> distributed_config(const DpConfig& c, const AdaptiveRoundPlan& round,
                                               uint64_t dimension);

}  // namespace fl::aggregation::dp
