// Exact sampling from the discrete Gaussian N_Z(0, sigma^2), whose pmf is
// proportional to exp(-x^2 / (2 sigma^2)) on the integers.
//
// Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy"
// (NeurIPS 2020), Algorithm 1 (rejection from a discrete Laplace of scale
// t = floor(sigma) + 1) with its Algorithms 2 and 3 (discrete Laplace and
// Bernoulli(exp(-gamma))), all in exact rational arithmetic: every random
// decision compares a uniform integer from the injected Rng with an integer
// threshold, so no floating-point value ever reaches a sample. Rounding a
// continuous Gaussian would instead leak through its rounding pattern
// (Mironov, CCS 2012) and would not have the pmf the accountant assumes.
//
// sigma^2 is held as the rational p / 2^k, with p of about 40 bits (relative
// error below 2^-39 against the requested sigma, and `variance()` reports the
// exact value used). With sigma in [1/32, 2^20] the acceptance test's
// denominator 2 p 2^k t^2 stays below 2^92, so every product fits 128 bits. sigma must lie in
// [kMinSigma, kMaxSigma].
//
// Cost: about 1.5 discrete Laplace draws per sample, each a few dozen random
// bits; see benchmarks/bench_dp.cc.
//
// Thread-safety: a DiscreteGaussian is an immutable value; the Rng is not
// thread-safe (one per thread).
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "crypto/rng.h"

namespace fl::aggregation::dp {

// 128-bit integers for the exact rational arithmetic (GCC and Clang).
__extension__ typedef unsigned __int128 Uint128;

// Random bits drawn 64 at a time from an Rng. Every decision of the samplers
// below consumes a few bits (a Bernoulli(p) compares random bits with the
// binary expansion of p and needs two on average), not a 64-bit word each.
class RandomBits {
 public:
  explicit RandomBits(crypto::Rng& rng) : rng_(rng) {}
  ~RandomBits();  // wipes the unused bits
  RandomBits(const RandomBits&) = delete;
  RandomBits& operator=(const RandomBits&) = delete;

  bool bit() {
    if (left_ == 0) {
      word_ = rng_.next_u64();
      left_ = 64;
    }
    const bool b = (word_ & 1) != 0;
    word_ >>= 1;
    --left_;
    return b;
  }
  // n random bits, 0 <= n <= 128.
  Uint128 bits(int n);

 private:
  crypto::Rng& rng_;
  uint64_t word_ = 0;
  int left_ = 0;
};

class DiscreteGaussian {
 public:
  static constexpr double kMinSigma = 1.0 / 32;
  static constexpr double kMaxSigma = 1 << 20;

  // InvalidArgument (naming "sigma") outside [kMinSigma, kMaxSigma] or not finite.
  static Result<DiscreteGaussian> create(double sigma);

  int64_t sample(RandomBits& bits) const;
  int64_t sample(crypto::Rng& rng) const {
    RandomBits bits(rng);
    return sample(bits);
  }
  // Adds one independent sample to each element.
  void add_noise(std::span<int64_t> values, crypto::Rng& rng) const;

  // The exact sigma^2 sampled from: numerator / denominator.
  double variance() const;
  Uint128 variance_numerator() const { return p_; }
  Uint128 variance_denominator() const { return q_; }

 private:
  DiscreteGaussian(Uint128 p, Uint128 q, uint64_t t) : p_(p), q_(q), t_(t) {}
  Uint128 p_;  // sigma^2 = p_ / q_
  Uint128 q_;
  uint64_t t_;  // floor(sigma) + 1, the discrete Laplace scale
};

// The building blocks, exposed for their own tests. All exact.
namespace exact {
// Uniform in [0, bound), bound > 0: bit_length(bound - 1) bits, rejected
// while >= bound (no modulo bias; fewer than two draws on average).
Uint128 uniform(Uint128 bound, RandomBits& bits);
// Bernoulli(num / den), 0 <= num, den > 0, den < 2^127: U < num/den for a
// uniform U whose binary digits are drawn only until they differ from those
// of num/den.
bool bernoulli(Uint128 num, Uint128 den, RandomBits& bits);
// Bernoulli(exp(-num / den)), num >= 0, den > 0 (CKS 2020, Algorithm 1's
// subroutine; den below 2^96).
bool bernoulli_exp_neg(Uint128 num, Uint128 den, RandomBits& bits);
// Discrete Laplace with pmf proportional to exp(-|x| / t), t >= 1 (CKS 2020,
// Algorithm 2 with s = 1).
int64_t discrete_laplace(uint64_t t, RandomBits& bits);
}  // namespace exact

}  // namespace fl::aggregation::dp
