// Central DP: the coordinator adds Gaussian noise of stddev z * C to each
// coordinate of the unmasked sum of clipped updates (before dividing by the
// cohort), drawn from the injected CSPRNG. This trusts the coordinator with
// the noise: it sees the un-noised sum. Distributed DP (distributed_dp.h)
// does not.
//
// The normal draws are Box-Muller on 53-bit uniforms. Floating-point noise has
// the rounding artefacts Mironov (CCS 2012) exploited for the Laplace
// mechanism; for an exact guarantee use distributed mode, whose noise is
// integer-valued by construction.
//
// Thread-safety: pure functions; the Rng is not shared.
#pragma once

#include <span>

#include "base/status.h"
#include "crypto/rng.h"

namespace fl::aggregation::dp {

// Adds N(0, (noise_multiplier * l2_clip)^2) to each coordinate of `sum`.
// InvalidArgument naming the argument for z or C not positive and finite;
// `sum` is then untouched.
Status add_central_gaussian_noise(std::span<float> sum, double noise_multiplier, double l2_clip,
                                  crypto::Rng& rng);

}  // namespace fl::aggregation::dp
