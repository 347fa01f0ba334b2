// Shamir t-of-n secret sharing of 32-byte secrets.
//
// Field: GF(p) with p = 2^61 - 1, a Mersenne prime, so reduction is a shift and
// an add and a product fits in 128 bits. A 32-byte secret is split into eight
// 32-bit limbs (each < p) and every limb is shared with its own independent
// random polynomial of degree t-1. Each limb is thus a perfectly hiding Shamir
// sharing over a prime field; fewer than t shares leave every limb uniformly
// distributed, and so the whole secret. (Google's FCP does the same with
// p = 2^31 + 11 and 31-bit limbs; the larger prime halves the limb count and
// allows share x-coordinates up to 2^61 - 2, far beyond the 10,000 shares one
// cohort needs.)
//
// A share is (x, y[8]) with x != 0 the holder's evaluation point. Reconstruction
// from any t shares with distinct x is Lagrange interpolation at 0. When many
// secrets are reconstructed from the same holder set (the common case in secure
// aggregation), LagrangeCoefficients is computed once and reused.
//
// Thread-safety: pure functions; LagrangeCoefficients is immutable after build.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "crypto/bytes.h"
#include "crypto/rng.h"

namespace fl::crypto {

inline constexpr uint64_t kShamirPrime = (1ull << 61) - 1;  // Mersenne prime M61
inline constexpr size_t kShamirLimbs = 8;                    // 8 x 32-bit limbs = 32 bytes
inline constexpr size_t kShareBytes = 8 + kShamirLimbs * 8;  // x || y[8], little-endian

struct ShamirShare {
  uint64_t x = 0;
  std::array<uint64_t, kShamirLimbs> y{};

  Bytes serialize() const;
  static Result<ShamirShare> parse(ByteSpan bytes);
  void wipe();
};

// One share per x in xs (each nonzero, < p, distinct), threshold t with
// 1 <= t <= xs.size(). The polynomial's coefficients are wiped before return.
Result<std::vector<ShamirShare>> shamir_split(const Secret32& secret, uint32_t threshold,
                                              std::span<const uint64_t> xs, Rng& rng);

// Lagrange coefficients at 0 for a fixed set of evaluation points.
class LagrangeCoefficients {
 public:
  static Result<LagrangeCoefficients> build(std::span<const uint64_t> xs);
  std::span<const uint64_t> xs() const { return xs_; }
  std::span<const uint64_t> values() const { return lambda_; }

 private:
  std::vector<uint64_t> xs_;
  std::vector<uint64_t> lambda_;
};

// Reconstructs from exactly the shares given (pass t of them). InvalidArgument on
// duplicate or zero x; DataLoss when a limb does not decode to 32 bits (the
// shares were inconsistent or tampered).
Result<Secret32> shamir_reconstruct(std::span<const ShamirShare> shares);
// Same, with coefficients built for the shares' x in the same order.
Result<Secret32> shamir_reconstruct(std::span<const ShamirShare> shares,
                                    const LagrangeCoefficients& coefficients);

}  // namespace fl::crypto
