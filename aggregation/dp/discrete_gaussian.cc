#include "aggregation/dp/discrete_gaussian.h"

#include <cmath>
#include <limits>
#include <string>

namespace fl::aggregation::dp {
namespace {

using u128 = Uint128;

int bit_length(u128 v) {
  int n = 0;
  while (v) {
    ++n;
    v >>= 1;
  }
  return n;
}

// a * b, or false when the product does not fit.
bool mul(u128 a, u128 b, u128& out) {
  if (a != 0 && b > std::numeric_limits<u128>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

namespace exact {

u128 uniform(u128 bound, crypto::Rng& rng) {
  if (bound <= (static_cast<u128>(1) << 64)) {
    if (bound == (static_cast<u128>(1) << 64)) return rng.next_u64();
    return rng.uniform(static_cast<uint64_t>(bound));
  }
  // Draw bit_length(bound) random bits and reject values >= bound: at least
  // half of the draws are accepted.
  const int bits = bit_length(bound - 1);
  const u128 mask = bits == 128 ? ~static_cast<u128>(0) : ((static_cast<u128>(1) << bits) - 1);
  for (;;) {
    u128 v = (static_cast<u128>(rng.next_u64()) << 64) | rng.next_u64();
    v &= mask;
    if (v < bound) return v;
  }
}

bool bernoulli(u128 num, u128 den, crypto::Rng& rng) { return uniform(den, rng) < num; }

namespace {
// Bernoulli(exp(-num/den)) for num <= den: draw A_k ~ Bernoulli(gamma / k)
// for k = 1, 2, ... until the first A_k = 0; P[that k is odd] = exp(-gamma).
bool bernoulli_exp_neg_at_most_one(u128 num, u128 den, crypto::Rng& rng) {
  u128 k = 1;
  for (;;) {
    u128 kden = 0;
    // den < 2^92 and k < 2^32 always fit; k reaching 2^32 has probability
    // below 1/(2^32 - 1)!, so stopping there changes nothing measurable.
    if (!mul(den, k, kden) || k >= (static_cast<u128>(1) << 32)) break;
    if (!bernoulli(num, kden, rng)) break;
    ++k;
  }
  return (k & 1) == 1;
}
}  // namespace

bool bernoulli_exp_neg(u128 num, u128 den, crypto::Rng& rng) {
  // exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))): one Bernoulli(exp(-1))
  // per whole unit, each a chance to stop early.
  const u128 whole = num / den;
  for (u128 i = 0; i < whole; ++i) {
    if (!bernoulli_exp_neg_at_most_one(1, 1, rng)) return false;
  }
  return bernoulli_exp_neg_at_most_one(num % den, den, rng);
}

int64_t discrete_laplace(uint64_t t, crypto::Rng& rng) {
  for (;;) {
    const uint64_t u = rng.uniform(t);
    if (!bernoulli_exp_neg(u, t, rng)) continue;
    uint64_t v = 0;
    while (bernoulli_exp_neg_at_most_one(1, 1, rng)) ++v;
    const uint64_t x = u + t * v;  // geometric with ratio exp(-1/t)
    const bool negative = (rng.next_u64() & 1) != 0;
    if (negative && x == 0) continue;  // 0 would otherwise be counted twice
    return negative ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  }
}

}  // namespace exact

Result<DiscreteGaussian> DiscreteGaussian::create(double sigma) {
  if (!std::isfinite(sigma) || sigma < kMinSigma || sigma > kMaxSigma) {
    return InvalidArgument("sigma: " + std::to_string(sigma) + " is outside [" +
                           std::to_string(kMinSigma) + ", " + std::to_string(kMaxSigma) + "]");
  }
  // sigma^2 = p / 2^k with p in [2^39, 2^40): 40 significant bits.
  int exponent = 0;
  std::frexp(sigma * sigma, &exponent);  // sigma^2 = m * 2^exponent, m in [0.5, 1)
  const int k = 40 - exponent;
  const u128 q = static_cast<u128>(1) << k;
  const u128 p = static_cast<u128>(std::llround(std::ldexp(sigma * sigma, k)));
  // t = floor(sqrt(p / q)) + 1: the largest m with m^2 q <= p, plus one.
  uint64_t m = static_cast<uint64_t>(std::floor(sigma));
  while (static_cast<u128>(m + 1) * (m + 1) * q <= p) ++m;
  while (m > 0 && static_cast<u128>(m) * m * q > p) --m;
  return DiscreteGaussian(p, q, m + 1);
}

double DiscreteGaussian::variance() const {
  return static_cast<double>(p_) / static_cast<double>(q_);
}

int64_t DiscreteGaussian::sample(crypto::Rng& rng) const {
  // Accept Y ~ Lap_Z(t) with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
  // With sigma^2 = p/q: gamma = (|Y| q t - p)^2 / (2 p q t^2).
  const u128 t = t_;
  u128 den = 0;
  mul(2 * p_ * q_, t * t, den);  // < 2^96 by the choice of q in create()
  for (;;) {
    const int64_t y = exact::discrete_laplace(t_, rng);
    const u128 abs_y = static_cast<u128>(y < 0 ? -y : y);
    u128 a;
    if (!mul(abs_y, q_ * t, a)) continue;
    const u128 diff = a >= p_ ? a - p_ : p_ - a;
    u128 num;
    // A square past 2^128 means gamma > 2^128 / den > 2^32: its acceptance
    // probability is below exp(-2^32), so rejecting it is exact in practice.
    if (!mul(diff, diff, num)) continue;
    if (exact::bernoulli_exp_neg(num, den, rng)) return y;
  }
}

void DiscreteGaussian::add_noise(std::span<int64_t> values, crypto::Rng& rng) const {
  for (auto& v : values) v += sample(rng);
}

}  // namespace fl::aggregation::dp
