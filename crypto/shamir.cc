#include "crypto/shamir.h"

#include <algorithm>
#include <unordered_set>

namespace fl::crypto {
namespace {

constexpr uint64_t P = kShamirPrime;
__extension__ typedef unsigned __int128 u128;  // GCC/Clang 128-bit product

inline uint64_t reduce(u128 v) {
  // 2^61 = 1 (mod p): fold the high bits onto the low ones. For v < 2^122 (a
  // product of two field elements) lo + hi < 2^62, and a second fold leaves at
  // most p + 1, so one conditional subtraction finishes.
  uint64_t lo = static_cast<uint64_t>(v) & P;
  uint64_t hi = static_cast<uint64_t>(v >> 61);
  uint64_t r = lo + hi;
  r = (r & P) + (r >> 61);
  return r >= P ? r - P : r;
}
inline uint64_t mul(uint64_t a, uint64_t b) {
  return reduce(static_cast<u128>(a) * b);
}
inline uint64_t add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= P ? r - P : r;
}
inline uint64_t sub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + P - b; }
uint64_t power(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  while (e) {
    if (e & 1) r = mul(r, base);
    base = mul(base, base);
    e >>= 1;
  }
  return r;
}
inline uint64_t inverse(uint64_t a) { return power(a, P - 2); }  // Fermat; a != 0

uint64_t random_element(Rng& rng) {
  for (;;) {
    uint64_t v = rng.next_u64() >> 3;  // 61 bits
    if (v < P) return v;
  }
}

Status check_points(std::span<const uint64_t> xs) {
  std::unordered_set<uint64_t> seen;
  seen.reserve(xs.size() * 2);
  for (uint64_t x : xs) {
    if (x == 0 || x >= P)
      return InvalidArgument("share evaluation point " + std::to_string(x) +
                             " is not in [1, 2^61 - 2]");
    if (!seen.insert(x).second)
      return InvalidArgument("duplicate share evaluation point " + std::to_string(x));
  }
  return Status::Ok();
}

uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

Bytes ShamirShare::serialize() const {
  Bytes out(kShareBytes);
  store_le64(out.data(), x);
  for (size_t l = 0; l < kShamirLimbs; ++l) store_le64(out.data() + 8 + 8 * l, y[l]);
  return out;
}

Result<ShamirShare> ShamirShare::parse(ByteSpan bytes) {
  if (bytes.size() != kShareBytes)
    return InvalidArgument("a share is " + std::to_string(kShareBytes) + " bytes, got " +
                           std::to_string(bytes.size()));
  ShamirShare s;
  s.x = load_le64(bytes.data());
  if (s.x == 0 || s.x >= P) return InvalidArgument("share evaluation point out of range");
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    s.y[l] = load_le64(bytes.data() + 8 + 8 * l);
    if (s.y[l] >= P) return InvalidArgument("share value is not a field element");
  }
  return s;
}

void ShamirShare::wipe() { crypto::wipe(y.data(), sizeof(y)); }

Result<std::vector<ShamirShare>> shamir_split(const Secret32& secret, uint32_t threshold,
                                              std::span<const uint64_t> xs, Rng& rng) {
  if (threshold < 1 || threshold > xs.size())
    return InvalidArgument("threshold " + std::to_string(threshold) + " must be in [1, " +
                           std::to_string(xs.size()) + "]");
  FL_RETURN_IF_ERROR(check_points(xs));
  // coeffs[d][l]: coefficient of x^d of limb l's polynomial; degree 0 is the limb.
  std::vector<std::array<uint64_t, kShamirLimbs>> coeffs(threshold);
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    const uint8_t* b = secret.data() + 4 * l;
    coeffs[0][l] = uint64_t{b[0]} | uint64_t{b[1]} << 8 | uint64_t{b[2]} << 16 |
                   uint64_t{b[3]} << 24;
  }
  for (uint32_t d = 1; d < threshold; ++d)
    for (size_t l = 0; l < kShamirLimbs; ++l) coeffs[d][l] = random_element(rng);

  std::vector<ShamirShare> shares(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const uint64_t x = xs[i];
    std::array<uint64_t, kShamirLimbs> acc = coeffs[threshold - 1];
    for (uint32_t d = threshold - 1; d-- > 0;)  // Horner, all limbs together
      for (size_t l = 0; l < kShamirLimbs; ++l) acc[l] = add(mul(acc[l], x), coeffs[d][l]);
    shares[i].x = x;
    shares[i].y = acc;
    crypto::wipe(acc.data(), sizeof(acc));
  }
  crypto::wipe(coeffs.data(), coeffs.size() * sizeof(coeffs[0]));
  return shares;
}

Result<LagrangeCoefficients> LagrangeCoefficients::build(std::span<const uint64_t> xs) {
  if (xs.empty()) return InvalidArgument("no shares to reconstruct from");
  FL_RETURN_IF_ERROR(check_points(xs));
  const size_t n = xs.size();
  // lambda_i = prod_{j != i} x_j / (x_j - x_i); all denominators inverted at once
  // (Montgomery's trick) so the cost is O(n^2) multiplications and one inversion.
  std::vector<uint64_t> num(n, 1), den(n, 1);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (j != i) {
        num[i] = mul(num[i], xs[j]);
        den[i] = mul(den[i], sub(xs[j], xs[i]));
      }
  std::vector<uint64_t> prefix(n + 1, 1);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = mul(prefix[i], den[i]);
  uint64_t inv = inverse(prefix[n]);
  std::vector<uint64_t> lambda(n);
  for (size_t i = n; i-- > 0;) {
    lambda[i] = mul(num[i], mul(inv, prefix[i]));
    inv = mul(inv, den[i]);
  }
  LagrangeCoefficients c;
  c.xs_.assign(xs.begin(), xs.end());
  c.lambda_ = std::move(lambda);
  return c;
}

Result<Secret32> shamir_reconstruct(std::span<const ShamirShare> shares,
                                    const LagrangeCoefficients& coefficients) {
  if (shares.size() != coefficients.xs().size())
    return InvalidArgument("coefficients were built for a different number of shares");
  std::array<uint64_t, kShamirLimbs> limbs{};
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].x != coefficients.xs()[i])
      return InvalidArgument("share order does not match the coefficients");
    const uint64_t lambda = coefficients.values()[i];
    for (size_t l = 0; l < kShamirLimbs; ++l) {
      if (shares[i].y[l] >= P) return InvalidArgument("share value is not a field element");
      limbs[l] = add(limbs[l], mul(shares[i].y[l], lambda));
    }
  }
  Secret32 out;
  for (size_t l = 0; l < kShamirLimbs; ++l) {
    if (limbs[l] > 0xffffffffull) {
      crypto::wipe(limbs.data(), sizeof(limbs));
      return DataLoss("shares are inconsistent: a reconstructed limb exceeds 32 bits");
    }
    for (int b = 0; b < 4; ++b) out.data()[4 * l + b] = static_cast<uint8_t>(limbs[l] >> (8 * b));
  }
  crypto::wipe(limbs.data(), sizeof(limbs));
  return out;
}

Result<Secret32> shamir_reconstruct(std::span<const ShamirShare> shares) {
  std::vector<uint64_t> xs;
  xs.reserve(shares.size());
  for (const auto& s : shares) xs.push_back(s.x);
  auto coefficients = LagrangeCoefficients::build(xs);
  if (!coefficients.ok()) return coefficients.status();
  return shamir_reconstruct(shares, *coefficients);
}

}  // namespace fl::crypto
