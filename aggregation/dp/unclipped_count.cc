#include "aggregation/dp/unclipped_count.h"

#include <cmath>
#include <string>

#include "aggregation/dp/adaptive_clipping.h"
#include "aggregation/dp/discrete_gaussian.h"
#include "aggregation/dp/distributed_dp.h"

namespace fl::aggregation::dp {

int64_t unclipped_bit_scale(double count_noise_stddev, uint64_t expected_clients) {
  const double unscaled = 2 * count_noise_stddev / std::sqrt(static_cast<double>(expected_clients));
  if (!(unscaled > 0) || unscaled >= kMinBitShareSigma) return 1;
  return static_cast<int64_t>(std::ceil(kMinBitShareSigma / unscaled));
}

double unclipped_bit_share_sigma(double count_noise_stddev, uint64_t expected_clients) {
  return static_cast<double>(unclipped_bit_scale(count_noise_stddev, expected_clients)) * 2 *
         count_noise_stddev / std::sqrt(static_cast<double>(expected_clients));
}

double noised_bits_sum_bound(double count_noise_stddev, uint64_t expected_clients, double k) {
  const double n = static_cast<double>(expected_clients);
  return static_cast<double>(unclipped_bit_scale(count_noise_stddev, expected_clients)) *
         (n + k * (std::sqrt(n) + 2 * count_noise_stddev));
}

Status check_unclipped_bit_noise(double count_noise_stddev, uint64_t expected_clients) {
  if (expected_clients == 0)
    return InvalidArgument("expected_clients: the count noise is shared over at least 1 client");
  if (!(count_noise_stddev > 0) || !std::isfinite(count_noise_stddev))
    return InvalidArgument(
        "count_noise_stddev: distributed DP needs noise on the unclipped count, got " +
        std::to_string(count_noise_stddev));
  const double share = unclipped_bit_share_sigma(count_noise_stddev, expected_clients);
  if (share < DiscreteGaussian::kMinSigma || share > DiscreteGaussian::kMaxSigma)
    return InvalidArgument("count_noise_stddev: each client's share " + std::to_string(share) +
                           " is outside the exact sampler's range [1/32, 2^20]");
  return Status::Ok();
}

Result<NoisedBit> noised_unclipped_bit(bool unclipped, double count_noise_stddev,
                                       uint64_t expected_clients, uint32_t bits, crypto::Rng& rng) {
  FL_RETURN_IF_ERROR(check_unclipped_bit_noise(count_noise_stddev, expected_clients));
  if (bits < 2 || bits > 64) return InvalidArgument("bits: must be in [2, 64]");
  auto noise =
      DiscreteGaussian::create(unclipped_bit_share_sigma(count_noise_stddev, expected_clients));
  if (!noise.ok()) return noise.status();
  const int64_t m = unclipped_bit_scale(count_noise_stddev, expected_clients);
  const int64_t value = (unclipped ? m : -m) + noise->sample(rng);
  const int64_t one[] = {value};
  const WrappedVector w = modular_wrap(one, bits);
  return NoisedBit{w.ring[0], w.wrapped != 0};
}

double decode_noised_unclipped_count(uint64_t ring_sum, uint32_t bits, double count_noise_stddev,
                                     uint64_t shares, double expected_clients) {
  const uint64_t one[] = {ring_sum};
  const double m = static_cast<double>(unclipped_bit_scale(count_noise_stddev, shares));
  const int64_t centred_2m = unwrap_signed(one, bits)[0];
  return static_cast<double>(centred_2m) / (2 * m) + expected_clients / 2;
}

double central_noised_unclipped_count(uint64_t unclipped, uint64_t inputs,
                                      double count_noise_stddev, double expected_clients,
                                      crypto::Rng& rng) {
  const double centred = static_cast<double>(unclipped) - static_cast<double>(inputs) / 2;
  return centred + count_noise_stddev * standard_normal(rng) + expected_clients / 2;
}

}  // namespace fl::aggregation::dp
