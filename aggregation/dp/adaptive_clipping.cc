#include "aggregation/dp/adaptive_clipping.h"

#include <cmath>
#include <string>

namespace fl::aggregation::dp {

Status check_adaptive_clipping(const AdaptiveClippingConfig& c) {
  if (!(c.initial_clip > 0) || !std::isfinite(c.initial_clip))
    return InvalidArgument("initial_clip: must be a positive finite number");
  if (!(c.target_quantile > 0 && c.target_quantile < 1))
    return InvalidArgument("target_quantile: must be in (0, 1)");
  if (!(c.learning_rate > 0) || !std::isfinite(c.learning_rate))
    return InvalidArgument("learning_rate: must be a positive finite number");
  if (!std::isfinite(c.count_stddev)) return InvalidArgument("count_stddev: must be finite");
  return Status::Ok();
}

double count_noise_stddev(const AdaptiveClippingConfig& c, uint64_t cohort) {
  return c.count_stddev > 0 ? c.count_stddev : static_cast<double>(cohort) / 20;
}

Result<double> value_noise_multiplier(double noise_multiplier, double count_stddev) {
  if (!(noise_multiplier > 0) || !std::isfinite(noise_multiplier))
    return InvalidArgument("noise_multiplier: must be a positive finite number");
  if (!(2 * count_stddev > noise_multiplier))
    return InvalidArgument("count_stddev: 2 * " + std::to_string(count_stddev) +
                           " must exceed the noise multiplier " + std::to_string(noise_multiplier) +
                           ", or the clipped count alone spends the budget");
  const double inv =
      1 / (noise_multiplier * noise_multiplier) - 1 / (4 * count_stddev * count_stddev);
  return 1 / std::sqrt(inv);
}

Result<AdaptiveClipping> AdaptiveClipping::create(const AdaptiveClippingConfig& c) {
  if (auto s = check_adaptive_clipping(c); !s.ok()) return s;
  return AdaptiveClipping(c);
}

double AdaptiveClipping::noised_count(uint64_t unclipped_count, uint64_t cohort,
                                      crypto::Rng& rng) const {
  return static_cast<double>(unclipped_count) +
         count_noise_stddev(config_, cohort) * standard_normal(rng);
}

Result<AdaptiveClipping> AdaptiveClipping::resume(const AdaptiveClippingConfig& c, double clip) {
  if (auto s = check_adaptive_clipping(c); !s.ok()) return s;
  if (!(clip > 0) || !std::isfinite(clip))
    return InvalidArgument("clip: must be a positive finite number");
  AdaptiveClipping out(c);
  out.clip_ = clip;
  return out;
}

Status AdaptiveClipping::update(double noised_unclipped_count, double cohort) {
  if (!(cohort > 0) || !std::isfinite(cohort))
    return InvalidArgument("cohort: must be a positive number");
  if (!std::isfinite(noised_unclipped_count))
    return InvalidArgument("noised_unclipped_count: must be finite");
  const double b_mean = noised_unclipped_count / cohort;
  clip_ *= std::exp(-config_.learning_rate * (b_mean - config_.target_quantile));
  return Status::Ok();
}

double standard_normal(crypto::Rng& rng) {
  double u1;
  do {
    u1 = rng.uniform01();
  } while (u1 <= 0);
  const double u2 = rng.uniform01();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

}  // namespace fl::aggregation::dp
