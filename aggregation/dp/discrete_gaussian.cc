#include "aggregation/dp/discrete_gaussian.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace fl::aggregation::dp {
namespace {

using u128 = Uint128;

int bit_length(u128 v) {
  const auto hi = static_cast<uint64_t>(v >> 64);
  const auto lo = static_cast<uint64_t>(v);
  if (hi != 0) return 128 - __builtin_clzll(hi);
  return lo != 0 ? 64 - __builtin_clzll(lo) : 0;
}

// a * b, or false when it might not fit (bit lengths summing past 128): a
// cheap test instead of a 128-bit division, exact enough for the rejection
// arguments below, which only need "fits" to be true when the product is small.
bool mul(u128 a, u128 b, u128& out) {
  if (bit_length(a) + bit_length(b) > 128) return false;
  out = a * b;
  return true;
}

}  // namespace

namespace exact {

u128 uniform(u128 bound, RandomBits& bits) {
  const int n = bit_length(bound - 1);
  for (;;) {
    const u128 v = bits.bits(n);
    if (v < bound) return v;
  }
}

bool bernoulli(u128 num, u128 den, RandomBits& bits) {
  if (num >= den) return true;
  // Digit i of p = num/den is floor(2 r / den) for the running remainder r;
  // the first random digit that differs from it decides U < p. Once r is 0,
  // p's expansion has ended and U >= p (U = p has probability 0).
  u128 r = num;
  while (r != 0) {
    r <<= 1;
    const bool p_digit = r >= den;
    if (p_digit) r -= den;
    const bool u_digit = bits.bit();
    if (u_digit != p_digit) return p_digit;
  }
  return false;
}

namespace {
// Bernoulli(exp(-num/den)) for num <= den: draw A_k ~ Bernoulli(gamma / k)
// for k = 1, 2, ... until the first A_k = 0; P[that k is odd] = exp(-gamma).
bool bernoulli_exp_neg_at_most_one(u128 num, u128 den, RandomBits& rng) {
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

bool bernoulli_exp_neg(u128 num, u128 den, RandomBits& rng) {
  // exp(-g) = exp(-1)^floor(g) * exp(-(g - floor(g))): one Bernoulli(exp(-1))
  // per whole unit, each a chance to stop early.
  if (num < den) return bernoulli_exp_neg_at_most_one(num, den, rng);  // skips a 128-bit division
  const u128 whole = num / den;
  for (u128 i = 0; i < whole; ++i) {
    if (!bernoulli_exp_neg_at_most_one(1, 1, rng)) return false;
  }
  return bernoulli_exp_neg_at_most_one(num % den, den, rng);
}

int64_t discrete_laplace(uint64_t t, RandomBits& rng) {
  for (;;) {
    const uint64_t u = static_cast<uint64_t>(uniform(t, rng));
    if (!bernoulli_exp_neg(u, t, rng)) continue;
    uint64_t v = 0;
    while (bernoulli_exp_neg_at_most_one(1, 1, rng)) ++v;
    const uint64_t x = u + t * v;  // geometric with ratio exp(-1/t)
    const bool negative = rng.bit();
    if (negative && x == 0) continue;  // 0 would otherwise be counted twice
    return negative ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  }
}

}  // namespace exact

RandomBits::~RandomBits() { crypto::wipe(&word_, sizeof(word_)); }

u128 RandomBits::bits(int n) {
  u128 v = 0;
  while (n > 0) {
    if (left_ == 0) {
      word_ = rng_.next_u64();
      left_ = 64;
    }
    const int take = n < left_ ? n : left_;
    const uint64_t chunk = take == 64 ? word_ : (word_ & ((1ull << take) - 1));
    v = (v << take) | chunk;
    word_ = take == 64 ? 0 : (word_ >> take);
    left_ -= take;
    n -= take;
  }
  return v;
}

Result<DiscreteGaussian> DiscreteGaussian::create(double sigma) {
  if (!std::isfinite(sigma) || sigma < kMinSigma || sigma > kMaxSigma) {
    return InvalidArgument("sigma: " + std::to_string(sigma) + " is outside [" +
                           std::to_string(kMinSigma) + ", " + std::to_string(kMaxSigma) + "]");
  }
  // sigma^2 = p / 2^k with p in [2^39, 2^40): 40 significant bits.
  int exponent = 0;
  std::frexp(sigma * sigma, &exponent);      // sigma^2 = m * 2^exponent, m in [0.5, 1)
  const int k = std::max(0, 40 - exponent);  // sigma = 2^20 exactly gives 40 - 41
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

int64_t DiscreteGaussian::sample(RandomBits& rng) const {
  // Accept Y ~ Lap_Z(t) with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)).
  // With sigma^2 = p/q: gamma = (|Y| q t - p)^2 / (2 p q t^2).
  const u128 t = t_;
  const u128 den = 2 * p_ * q_ * t * t;  // < 2^92 by the choice of q in create()
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
  RandomBits bits(rng);
  for (auto& v : values) v += sample(bits);
}

}  // namespace fl::aggregation::dp
