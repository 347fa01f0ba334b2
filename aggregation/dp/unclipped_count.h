// The adaptive-clipping bit in the secure aggregation input (Andrew et al.
// 2021, Algorithm 1, with the bit query run under secure aggregation; issue
// 11). Each client appends ONE ring element after its update's elements; the
// coordinator unmasks only the sum of these elements, never a client's bit.
//
//   off / central   the element is b = [||update|| <= C] in {0, 1}. The sum is
//                   the exact count; in central mode the coordinator then adds
//                   N(0, sigma_b^2) (it is trusted with the noise, as for the
//                   values).
//   distributed     the element is 2 (b - 1/2) + N_Z(0, s^2) wrapped into
//                   Z_(2^bits), the update's modulus, with the client's share
//                   s = 2 sigma_b / sqrt(n_expected). The centred bit is
//                   scaled by 2 so that it is an integer (+-1) and the exact
//                   discrete Gaussian applies; in these units its
//                   add/remove-one sensitivity is 1 against noise 2 sigma_b,
//                   the same ratio as 1/2 against sigma_b in the paper, so
//                   value_noise_multiplier's (2 sigma_b)^-2 budget split holds.
//                   The coordinator never sees an un-noised count.
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

// distributed: each client's share of the count noise, in the doubled units
// of the encoded element: 2 sigma_b / sqrt(n_expected).
double unclipped_bit_share_sigma(double count_noise_stddev, uint64_t expected_clients);

// InvalidArgument naming `count_noise_stddev` (not positive and finite, or a
// share outside the exact sampler's range) or `expected_clients` (zero).
Status check_unclipped_bit_noise(double count_noise_stddev, uint64_t expected_clients);

struct NoisedBit {
  uint64_t ring = 0;     // mod 2^bits, ready to mask
  bool wrapped = false;  // the noised value fell outside [-2^(bits-1), 2^(bits-1))
};
// distributed: 2 (b - 1/2) + N_Z(0, share^2) mod 2^bits, the noise from the
// exact sampler on `rng`.
Result<NoisedBit> noised_unclipped_bit(bool unclipped, double count_noise_stddev,
                                       uint64_t expected_clients, uint32_t bits, crypto::Rng& rng);

// The count estimate from the unmasked sum of the noised elements (mod
// 2^bits; any wider ring): signed(sum) / 2 + n_expected / 2.
double decode_noised_unclipped_count(uint64_t ring_sum, uint32_t bits, double expected_clients);

// central: the released estimate from the exact count of `inputs` clients,
// (count - inputs / 2) + N(0, sigma_b^2) + n_expected / 2 (the centred sum,
// noised, as in distributed mode).
double central_noised_unclipped_count(uint64_t unclipped, uint64_t inputs,
                                      double count_noise_stddev, double expected_clients,
                                      crypto::Rng& rng);

}  // namespace fl::aggregation::dp
