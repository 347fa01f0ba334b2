#include "aggregation/dp/central_dp.h"

#include <cmath>

#include "aggregation/dp/adaptive_clipping.h"

namespace fl::aggregation::dp {

Status add_central_gaussian_noise(std::span<float> sum, double noise_multiplier, double l2_clip,
                                  crypto::Rng& rng) {
  if (!(noise_multiplier > 0) || !std::isfinite(noise_multiplier))
    return InvalidArgument("noise_multiplier: must be a positive finite number");
  if (!(l2_clip > 0) || !std::isfinite(l2_clip))
    return InvalidArgument("l2_clip: must be a positive finite number");
  const double sigma = noise_multiplier * l2_clip;
  for (float& v : sum) v = static_cast<float>(v + sigma * standard_normal(rng));
  return Status::Ok();
}

}  // namespace fl::aggregation::dp
