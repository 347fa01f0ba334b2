#include "aggregation/dp/distributed_dp.h"

#include <cmath>
#include <string>

namespace fl::aggregation::dp {
namespace {

// In-place fast Walsh-Hadamard transform (unnormalised), length a power of two.
void walsh_hadamard(std::span<double> v) {
  const size_t n = v.size();
  for (size_t h = 1; h < n; h <<= 1) {
    for (size_t i = 0; i < n; i += 2 * h) {
      for (size_t j = i; j < i + h; ++j) {
        const double a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
}

// The rotation's sign diagonal: bit i of the seed's keystream, 0 -> +1, 1 -> -1.
std::vector<uint8_t> sign_bits(const crypto::Key32& seed, uint64_t n) {
  crypto::SeededRng rng(seed);
  std::vector<uint8_t> bits((n + 7) / 8);
  rng.fill(bits);
  return bits;
}

bool negative(const std::vector<uint8_t>& bits, uint64_t i) {
  return ((bits[i / 8] >> (i % 8)) & 1) != 0;
}

uint64_t mask_of(uint32_t bits) { return bits >= 64 ? ~0ull : ((1ull << bits) - 1); }

}  // namespace

Status check_distributed_dp(const DistributedDpConfig& c) {
  if (c.dimension == 0 || c.dimension > (1ull << 30))
    return InvalidArgument("dimension: must be in [1, 2^30]");
  if (!(c.l2_clip > 0) || !std::isfinite(c.l2_clip))
    return InvalidArgument("l2_clip: must be a positive finite number");
  if (!(c.scale > 0) || !std::isfinite(c.scale))
    return InvalidArgument("scale: must be a positive finite number");
  if (!(c.noise_stddev >= 0) || !std::isfinite(c.noise_stddev))
    return InvalidArgument("noise_stddev: must be a finite number >= 0");
  if (c.expected_clients == 0) return InvalidArgument("expected_clients: must be at least 1");
  if (c.bits < 2 || c.bits > 64) return InvalidArgument("bits: must be in [2, 64]");
  if (!(c.beta >= 0 && c.beta < 1)) return InvalidArgument("beta: must be in [0, 1)");
  if (c.max_rounding_tries == 0) return InvalidArgument("max_rounding_tries: must be at least 1");
  const double sigma = client_noise_sigma(c);
  if (sigma > 0 && (sigma < DiscreteGaussian::kMinSigma || sigma > DiscreteGaussian::kMaxSigma))
    return InvalidArgument("noise_stddev: each client's share (" + std::to_string(sigma) +
                           " in scaled units) is outside the sampler's range");
  return Status::Ok();
}

uint64_t rotation_dimension(uint64_t d) {
  uint64_t n = 1;
  while (n < d) n <<= 1;
  return n;
}

bool clip_l2(std::span<double> x, double c) {
  double sq = 0;
  for (double v : x) sq += v * v;
  const double norm = std::sqrt(sq);
  if (norm <= c) return false;
  const double f = c / norm;
  for (double& v : x) v *= f;
  return true;
}

std::vector<double> rotate(std::span<const double> x, const crypto::Key32& seed) {
  const uint64_t n = rotation_dimension(x.size());
  const auto signs = sign_bits(seed, n);
  std::vector<double> y(n, 0.0);
  for (uint64_t i = 0; i < x.size(); ++i) y[i] = negative(signs, i) ? -x[i] : x[i];
  walsh_hadamard(y);
  const double norm = 1 / std::sqrt(static_cast<double>(n));
  for (double& v : y) v *= norm;
  return y;
}

std::vector<double> unrotate(std::span<const double> y, const crypto::Key32& seed,
                             uint64_t dimension) {
  const uint64_t n = y.size();
  std::vector<double> x(y.begin(), y.end());
  walsh_hadamard(x);  // H is symmetric and H H = n I
  const auto signs = sign_bits(seed, n);
  const double norm = 1 / std::sqrt(static_cast<double>(n));
  x.resize(std::min<uint64_t>(dimension, n));
  for (uint64_t i = 0; i < x.size(); ++i) x[i] *= negative(signs, i) ? -norm : norm;
  return x;
}

double rounded_l2_bound(double scaled_clip, uint64_t padded_dimension, double beta) {
  const double c = scaled_clip;
  const double d = static_cast<double>(padded_dimension);
  const double loose = (c + std::sqrt(d)) * (c + std::sqrt(d));
  if (beta <= 0) return std::sqrt(loose);
  const double tight = c * c + d / 4 + std::sqrt(2 * std::log(1 / beta)) * (c + std::sqrt(d) / 2);
  return std::sqrt(std::min(loose, tight));
}

Result<RoundedVector> conditional_round(std::span<const double> scaled, double l2_bound,
                                        uint32_t max_tries, crypto::Rng& rng) {
  RoundedVector out;
  out.values.resize(scaled.size());
  const double bound_sq = l2_bound * l2_bound;
  for (out.tries = 1; out.tries <= max_tries; ++out.tries) {
    double sq = 0;
    for (size_t i = 0; i < scaled.size(); ++i) {
      const double f = std::floor(scaled[i]);
      const int64_t r = static_cast<int64_t>(f) + (rng.uniform01() < scaled[i] - f ? 1 : 0);
      out.values[i] = r;
      sq += static_cast<double>(r) * static_cast<double>(r);
    }
    if (sq <= bound_sq) return out;
  }
  return FailedPrecondition("conditional rounding: " + std::to_string(max_tries) +
                            " draws all exceeded the L2 bound " + std::to_string(l2_bound) +
                            " (was the input clipped?)");
}

WrappedVector modular_wrap(std::span<const int64_t> values, uint32_t bits) {
  WrappedVector out;
  out.ring.resize(values.size());
  const uint64_t mask = mask_of(bits);
  const int64_t half = bits >= 64 ? 0 : static_cast<int64_t>(1ull << (bits - 1));
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t v = values[i];
    if (bits < 64 && (v < -half || v >= half)) ++out.wrapped;
    out.ring[i] = static_cast<uint64_t>(v) & mask;  // two's complement mod 2^bits
  }
  return out;
}

std::vector<int64_t> unwrap_signed(std::span<const uint64_t> sum, uint32_t bits) {
  std::vector<int64_t> out(sum.size());
  const uint64_t mask = mask_of(bits);
  for (size_t i = 0; i < sum.size(); ++i) {
    uint64_t v = sum[i] & mask;
    if (bits < 64 && v >= (1ull << (bits - 1))) v |= ~mask;  // sign-extend
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

double client_noise_sigma(const DistributedDpConfig& c) {
  return c.noise_stddev * c.scale / std::sqrt(static_cast<double>(c.expected_clients));
}

Result<ClientEncoding> encode_client_update(std::span<const float> update,
                                            const DistributedDpConfig& c,
                                            const crypto::Key32& rotation_seed, crypto::Rng& rng) {
  if (auto s = check_distributed_dp(c); !s.ok()) return s;
  if (update.size() != c.dimension)
    return InvalidArgument("update: length " + std::to_string(update.size()) +
                           " differs from dimension " + std::to_string(c.dimension));
  std::vector<double> x(update.begin(), update.end());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      return InvalidArgument("update: coordinate " + std::to_string(i) + " is not finite");
  }
  ClientEncoding out;
  out.clipped = clip_l2(x, c.l2_clip);
  auto y = rotate(x, rotation_seed);
  for (double& v : y) v *= c.scale;
  auto rounded = conditional_round(y, rounded_l2_bound(c.l2_clip * c.scale, y.size(), c.beta),
                                   c.max_rounding_tries, rng);
  if (!rounded.ok()) return rounded.status();
  out.rounding_tries = rounded->tries;
  if (const double sigma = client_noise_sigma(c); sigma > 0) {
    auto noise = DiscreteGaussian::create(sigma);
    if (!noise.ok()) return noise.status();
    noise->add_noise(rounded->values, rng);
  }
  auto wrapped = modular_wrap(rounded->values, c.bits);
  out.ring = std::move(wrapped.ring);
  out.wrapped = wrapped.wrapped;
  return out;
}

Result<std::vector<double>> decode_sum(std::span<const uint64_t> sum, const DistributedDpConfig& c,
                                       const crypto::Key32& rotation_seed) {
  if (auto s = check_distributed_dp(c); !s.ok()) return s;
  if (sum.size() != rotation_dimension(c.dimension))
    return InvalidArgument("sum: length " + std::to_string(sum.size()) + " differs from " +
                           std::to_string(rotation_dimension(c.dimension)));
  const auto signed_sum = unwrap_signed(sum, c.bits);
  std::vector<double> y(signed_sum.size());
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(signed_sum[i]) / c.scale;
  return unrotate(y, rotation_seed, c.dimension);
}

double sum_coordinate_stddev(const DistributedDpConfig& c, uint64_t clients) {
  const double n = static_cast<double>(clients);
  const double d = static_cast<double>(rotation_dimension(c.dimension));
  return std::sqrt(c.scale * c.scale *
                       (n * n * c.l2_clip * c.l2_clip / d + c.noise_stddev * c.noise_stddev) +
                   n / 4);
}

Result<double> scale_for_bits(uint32_t bits, double l2_clip, double noise_stddev, uint64_t clients,
                              uint64_t dimension, double k) {
  if (bits < 2 || bits > 64) return InvalidArgument("bits: must be in [2, 64]");
  if (!(l2_clip > 0) || !(noise_stddev >= 0) || clients == 0 || dimension == 0 || !(k > 0))
    return InvalidArgument("l2_clip, noise_stddev, clients, dimension: out of range");
  // Solve k s(n) = 2^(bits-1) for the scale.
  const double n = static_cast<double>(clients);
  const double d = static_cast<double>(rotation_dimension(dimension));
  const double half = std::ldexp(1.0, static_cast<int>(bits) - 1) / k;
  const double room = half * half - n / 4;
  if (!(room > 0))
    return InvalidArgument("bits: " + std::to_string(bits) + " cannot hold the rounding noise of " +
                           std::to_string(clients) + " clients");
  return std::sqrt(room / (n * n * l2_clip * l2_clip / d + noise_stddev * noise_stddev));
}

Status check_modulus(const DistributedDpConfig& c, uint64_t cohort, uint32_t ring_bits, double k) {
  if (auto s = check_distributed_dp(c); !s.ok()) return s;
  if (c.bits > ring_bits)
    return InvalidArgument("bits: " + std::to_string(c.bits) +
                           " exceeds the secure aggregation ring's " + std::to_string(ring_bits));
  const double needed = k * sum_coordinate_stddev(c, cohort);
  if (std::ldexp(1.0, static_cast<int>(c.bits) - 1) < needed)
    return InvalidArgument("bits: 2^" + std::to_string(c.bits - 1) + " is below " +
                           std::to_string(k) + " standard deviations (" + std::to_string(needed) +
                           ") of a coordinate of the sum of " + std::to_string(cohort) +
                           " clients; lower the scale or raise the bits");
  return Status::Ok();
}

DistributedDiscreteGaussian accounting_of(const DistributedDpConfig& c, uint64_t survivors,
                                          double sampling_rate) {
  const uint64_t d = rotation_dimension(c.dimension);
  return {.l2_sensitivity = rounded_l2_bound(c.l2_clip * c.scale, d, c.beta),
          .client_sigma = client_noise_sigma(c),
          .survivors = survivors,
          .dimension = d,
          .sampling_rate = sampling_rate};
}

}  // namespace fl::aggregation::dp
