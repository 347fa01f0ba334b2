// The client and server transforms of the distributed discrete Gaussian
// mechanism (Kairouz, Liu, Steinke, ICML 2021, Algorithms 1 and 2), so that
// the coordinator only ever unmasks a sum that already carries the noise.
//
// Client, in this order (each step also exposed on its own):
//   clip to L2 norm c -> randomised Hadamard rotation (pad to a power of two,
//   seeded sign flips, fast Walsh-Hadamard, 1/sqrt(D)) -> scale by 1/gamma ->
//   conditional randomised rounding to integers (redrawn until the rounded
//   norm is at most Delta_2) -> add N_Z(0, sigma_c^2), the client's share
//   sigma_c = sigma * scale / sqrt(n_expected) -> wrap into Z_(2^bits).
// Server, on the unmasked sum: wrap to signed -> divide by scale -> inverse
//   rotation -> drop the padding.
//
// Why each step (the paper's Section 4): the rotation flattens the vector so
// that no coordinate is large and modular wrap-around is rare; conditional
// rounding bounds the L2 sensitivity of the integer vector, which is what the
// accountant needs (`rounded_l2_bound`); the discrete Gaussian keeps the
// noise on the integers so it survives secure aggregation exactly; the
// modulus is the secure aggregation ring's (bits <= its ring bits, a power of
// two dividing it), so the server's sum mod 2^bits is exact.
//
// The rotation seed is public per round (every client and the server use the
// same one); it must be fresh for each round. Not for central DP: there the
// coordinator adds continuous Gaussian noise to the float sum.
//
// Thread-safety: pure functions; Rng instances are not shared.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/dp/discrete_gaussian.h"
#include "aggregation/dp/rdp_accountant.h"
#include "base/status.h"
#include "crypto/bytes.h"
#include "crypto/rng.h"

namespace fl::aggregation::dp {

struct DistributedDpConfig {
  uint64_t dimension = 0;            // d, the update's length before padding
  double l2_clip = 0;                // c, in update units
  double scale = 0;                  // 1/gamma: rotated values are multiplied by it
  double noise_stddev = 0;           // sigma of the whole sum's noise, update units (z * c)
  uint64_t expected_clients = 0;     // n_expected: the shares the noise is split into
  uint32_t bits = 0;                 // modulus 2^bits, 2 <= bits <= 64
  double beta = 0.6065306597126334;  // exp(-1/2): the paper's conditional rounding choice
  uint32_t max_rounding_tries = 1000;
};

// InvalidArgument naming the field.
Status check_distributed_dp(const DistributedDpConfig& c);

// The padded dimension D: the smallest power of two >= d (and >= 1).
uint64_t rotation_dimension(uint64_t d);

// Clips x to L2 norm `c` in place; true when it had to (the adaptive
// clipping bit).
bool clip_l2(std::span<double> x, double c);

// y = H S x / sqrt(D): x zero-padded to D, S the diagonal of +-1 signs drawn
// from `seed` (ChaCha20 keystream bits), H the Walsh-Hadamard matrix.
// Orthogonal, so norms are kept.
std::vector<double> rotate(std::span<const double> x, const crypto::Key32& seed);
// x = S H y / sqrt(D), the first `dimension` coordinates.
std::vector<double> unrotate(std::span<const double> y, const crypto::Key32& seed,
                             uint64_t dimension);

// The bound Delta_2 on the L2 norm of the conditionally rounded vector, in
// scaled units, for an input of norm <= scaled_clip in dimension D
// (Kairouz et al., Theorem 1 / Proposition 22): Delta_2^2 = min(
//   c^2 + D/4 + sqrt(2 log(1/beta)) (c + sqrt(D)/2),  (c + sqrt(D))^2 );
// beta = 0 gives the second (unconditional) bound.
double rounded_l2_bound(double scaled_clip, uint64_t padded_dimension, double beta);

struct RoundedVector {
  std::vector<int64_t> values;
  uint32_t tries = 0;  // draws until the norm was within the bound
};
// Unbiased randomised rounding of each coordinate (floor(x) + Bernoulli of the
// fraction), redrawn until ||result||_2 <= l2_bound. FailedPrecondition when
// `max_tries` draws all exceed it (the input was not clipped as promised).
Result<RoundedVector> conditional_round(std::span<const double> scaled, double l2_bound,
                                        uint32_t max_tries, crypto::Rng& rng);

struct WrappedVector {
  std::vector<uint64_t> ring;  // two's complement mod 2^bits
  uint64_t wrapped = 0;        // coordinates outside [-2^(bits-1), 2^(bits-1)) before wrapping
};
WrappedVector modular_wrap(std::span<const int64_t> values, uint32_t bits);
// The signed representative in [-2^(bits-1), 2^(bits-1)) of each element
// (mod 2^bits); `sum` may come from any ring 2^r with r >= bits.
std::vector<int64_t> unwrap_signed(std::span<const uint64_t> sum, uint32_t bits);

// The client's share of the noise, in scaled units.
double client_noise_sigma(const DistributedDpConfig& c);

struct ClientEncoding {
  std::vector<uint64_t> ring;  // rotation_dimension(d) elements mod 2^bits, ready to mask
  bool clipped = false;        // ||update|| > c
  uint32_t rounding_tries = 0;
  uint64_t wrapped = 0;  // coordinates that wrapped around the modulus
};
// The whole client pipeline. InvalidArgument for a bad config, a wrong
// length or a non-finite coordinate.
Result<ClientEncoding> encode_client_update(std::span<const float> update,
                                            const DistributedDpConfig& c,
                                            const crypto::Key32& rotation_seed, crypto::Rng& rng);

// The server's decode of the unmasked sum (mod 2^bits, any wider ring):
// the noised sum of the clipped updates, in update units.
Result<std::vector<double>> decode_sum(std::span<const uint64_t> sum, const DistributedDpConfig& c,
                                       const crypto::Key32& rotation_seed);

// Headroom of the modulus (Kairouz et al., Section 5 and Eq. 61 with the
// flatness rho = 1 and the worst-case norm growth ||sum|| <= n c): each
// coordinate of the scaled sum of n clients has standard deviation at most
//   s(n) = sqrt(scale^2 (n^2 c^2 / D + sigma^2) + n / 4),
// and the modulus must hold +-k of them: 2^(bits-1) >= k s(n).
double sum_coordinate_stddev(const DistributedDpConfig& c, uint64_t clients);

// The largest scale (finest granularity) whose sum over `clients` stays within
// k standard deviations of the modulus; InvalidArgument (naming "bits") when
// even scale -> 0 cannot fit the rounding noise of n clients.
Result<double> scale_for_bits(uint32_t bits, double l2_clip, double noise_stddev, uint64_t clients,
                              uint64_t dimension, double k = 4);

// Refuses (InvalidArgument naming the key) a modulus too small for the noise
// and the cohort (fewer than k stddevs of headroom), or wider than the secure
// aggregation ring it must divide.
Status check_modulus(const DistributedDpConfig& c, uint64_t cohort, uint32_t ring_bits,
                     double k = 4);

// What the accountant needs of one round: the rounded vectors' L2 bound, the
// shares' sigma, the padded dimension, and the survivors whose noise is in
// the sum (not the expected count: dropouts cost privacy).
DistributedDiscreteGaussian accounting_of(const DistributedDpConfig& c, uint64_t survivors,
                                          double sampling_rate = 1);

}  // namespace fl::aggregation::dp
