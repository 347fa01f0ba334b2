// Adaptive clipping to a target quantile of the update norms (Andrew, Thakkar,
// McMahan, Ramaswamy, "Differentially Private Learning with Adaptive
// Clipping", NeurIPS 2021), Algorithm 1 with the geometric update.
//
// Each client reports the bit b_i = [||update_i|| <= C]. The bits are summed
// under secure aggregation (never sent in the clear) and the sum is noised
// with N(0, sigma_b^2), sigma_b = cohort / 20 by default (TFF and Flower's
// choice). The server then steps
//   C <- C * exp(-eta * (b_mean - target_quantile)),  b_mean = noised sum / cohort,
// so C shrinks while more than the target fraction is unclipped.
//
// The bit query costs privacy too: the paper's Theorem 1 splits the budget so
// that the value noise multiplier becomes
//   z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2)
// (sensitivity of the centred bit is 1/2), and the pair is then accounted as
// one Gaussian mechanism with noise multiplier z. `value_noise_multiplier`
// computes it and refuses a sigma_b too small for z.
//
// Thread-safety: a value; no shared state.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "crypto/rng.h"

namespace fl::aggregation::dp {

struct AdaptiveClippingConfig {
  double initial_clip = 0.1;
  double target_quantile = 0.5;
  double learning_rate = 0.2;
  // Stddev of the noise on the clipped count; <= 0: cohort / 20.
  double count_stddev = 0;
};

// InvalidArgument naming the field.
Status check_adaptive_clipping(const AdaptiveClippingConfig& c);

// sigma_b for a cohort: count_stddev, or cohort / 20 by default.
double count_noise_stddev(const AdaptiveClippingConfig& c, uint64_t cohort);

// z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2). InvalidArgument when
// 2 sigma_b <= z (the bit query alone would spend the whole budget).
Result<double> value_noise_multiplier(double noise_multiplier, double count_stddev);

class AdaptiveClipping {
 public:
  static Result<AdaptiveClipping> create(const AdaptiveClippingConfig& c);
  // Continues from a clip reached earlier (e.g. the one persisted after the
  // last completed round, across a coordinator restart).
  static Result<AdaptiveClipping> resume(const AdaptiveClippingConfig& c, double clip);

  double clip() const { return clip_; }
  // The client's bit for its update's norm under the current clip.
  bool unclipped_bit(double update_norm) const { return update_norm <= clip_; }
  // Central noise for the count sum: N(0, sigma_b^2) from the injected Rng.
  double noised_count(uint64_t unclipped_count, uint64_t cohort, crypto::Rng& rng) const;
  // One geometric step from the (already noised) count sum over `cohort`
  // reports (the expected cohort with DP on: AggregationStats's
  // unclipped_count_cohort). InvalidArgument for a cohort not positive or a
  // non-finite count.
  Status update(double noised_unclipped_count, double cohort);

 private:
  explicit AdaptiveClipping(const AdaptiveClippingConfig& c) : config_(c), clip_(c.initial_clip) {}
  AdaptiveClippingConfig config_;
  double clip_;
};

// A standard normal draw from the injected Rng (Box-Muller on 53-bit uniforms);
// central DP noise, not the distributed mechanism's discrete noise.
double standard_normal(crypto::Rng& rng);

}  // namespace fl::aggregation::dp
