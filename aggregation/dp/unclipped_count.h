// The adaptive-clipping bit in the secure aggregation input (Andrew et al.
// 2021, Algorithm 1, with the bit query run under secure aggregation; issue
// 11). Each client appends ONE ring element after its update's elements; the
// coordinator unmasks only the sum of these elements, never a client's bit.
//
//   off / central   the element is b = [||update|| <= C] in {0, 1}. The sum is
//                   the exact count; in central mode the coordinator then adds
//                   N(0, sigma_b^2) (it is trusted with the noise, as for the
//                   values).
//   distributed     the element is 2m (b - 1/2) + N_Z(0, s^2) wrapped into
//                   Z_(2^bits), the update's modulus, with the client's share
//                   s = 2 m sigma_b / sqrt(n_expected). The centred bit is
//                   scaled by 2m, an integer, so that it is an integer (+-m)
//                   and the exact discrete Gaussian applies; in these units
//                   its add/remove-one sensitivity is m against noise
//                   2 m sigma_b, the same ratio as 1/2 against sigma_b in the
//                   paper, so value_noise_multiplier's (2 sigma_b)^-2 budget
//                   split holds. m is the smallest integer that makes s at
//                   least kMinBitShareSigma: with the defaults (sigma_b =
//                   n / 20) an unscaled share would be sqrt(n) / 10, below one
//                   integer step for n < 100, where a discrete Gaussian's
//                   variance falls short of s^2 (by 14% at s = 1/2) and a sum
//                   of them is no longer close to one (Kairouz et al. 2021,
//                   Theorem 1's tau term: ~0.05 at s = 1 and n = 100,
//                   negligible from s = 2). The coordinator never sees an
//                   un-noised count.
//
// Why centred: the released quantity is sum_i (b_i - 1/2) + noise, whose
// sensitivity is 1/2 whether a client is added or removed, and the estimate
// of the count is that plus n_expected / 2, a public constant: the number of
// clients who actually took part is not used (under Poisson sampling it is
// itself private). With every expected client present it is the count plus
// noise of stddev sigma_b; with dropouts each missing client counts as half
// unclipped, and the noise shrinks like the update's (sqrt(survivors /
// n_expected)). AdaptiveClipping::update takes the estimate over n_expected.
//
// Thread-safety: pure functions; the Rng is not shared.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "crypto/rng.h"

namespace fl::aggregation::dp {

// Ring elements the bit adds to a client's input.
inline constexpr uint64_t kUnclippedBitElements = 1;

// off / central: the element is the bit itself.
inline uint64_t plain_unclipped_bit(bool unclipped) { return unclipped ? 1 : 0; }

// The smallest share of the count noise a client adds, in encoded units.
inline constexpr double kMinBitShareSigma = 2;

// distributed: m, the encoded element's units per half count,
// max(1, ceil(kMinBitShareSigma sqrt(n_expected) / (2 sigma_b))).
int64_t unclipped_bit_scale(double count_noise_stddev, uint64_t expected_clients);
// distributed: each client's share of the count noise, in encoded units:
// 2 m sigma_b / sqrt(n_expected).
double unclipped_bit_share_sigma(double count_noise_stddev, uint64_t expected_clients);
// distributed: the magnitude the encoded sum must fit in the modulus,
// m (n + k (sqrt(n) + 2 sigma_b)) for n = n_expected (sqrt(n): the Poisson
// spread of the cohort; 2 sigma_b: the noise, k of each).
double noised_bits_sum_bound(double count_noise_stddev, uint64_t expected_clients, double k);

// InvalidArgument naming `count_noise_stddev` (not positive and finite, or a
// share outside the exact sampler's range) or `expected_clients` (zero).
Status check_unclipped_bit_noise(double count_noise_stddev, uint64_t expected_clients);

struct NoisedBit {
  uint64_t ring = 0;     // mod 2^bits, ready to mask
  bool wrapped = false;  // the noised value fell outside [-2^(bits-1), 2^(bits-1))
};
// distributed: 2m (b - 1/2) + N_Z(0, share^2) mod 2^bits, the noise from the
// exact sampler on `rng`.
Result<NoisedBit> noised_unclipped_bit(bool unclipped, double count_noise_stddev,
                                       uint64_t expected_clients, uint32_t bits, crypto::Rng& rng);

// The count estimate from the unmasked sum of the noised elements (mod
// 2^bits; any wider ring): signed(sum) / 2m + expected_clients / 2, with m
// from sigma_b and the clients' n_expected (`shares`), expected_clients the
// mean's denominator q N.
double decode_noised_unclipped_count(uint64_t ring_sum, uint32_t bits, double count_noise_stddev,
                                     uint64_t shares, double expected_clients);

// central: the released estimate from the exact count of `inputs` clients,
// (count - inputs / 2) + N(0, sigma_b^2) + n_expected / 2 (the centred sum,
// noised, as in distributed mode).
double central_noised_unclipped_count(uint64_t unclipped, uint64_t inputs,
                                      double count_noise_stddev, double expected_clients,
                                      crypto::Rng& rng);

}  // namespace fl::aggregation::dp
