// Shamir t-of-n sharing: any t shares give the secret back, t-1 shares say
// nothing about it, and malformed or tampered shares never yield the original.
#include "crypto/shamir.h"

#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <vector>

namespace fl::crypto {
namespace {

// Reference arithmetic in GF(2^61 - 1), written independently of the library
// (plain 128-bit remainder), to build shares the library did not make.
__extension__ typedef unsigned __int128 u128;
constexpr uint64_t P = kShamirPrime;
uint64_t fmul(uint64_t a, uint64_t b) { return static_cast<uint64_t>(u128{a} * b % P); }
uint64_t fadd(uint64_t a, uint64_t b) { return (a + b) % P; }
uint64_t fsub(uint64_t a, uint64_t b) { return (a + P - b) % P; }
uint64_t finv(uint64_t a) {
  uint64_t r = 1, e = P - 2;
  for (; e; e >>= 1, a = fmul(a, a))
    if (e & 1) r = fmul(r, a);
  return r;
}
// Value at `at` of the polynomial of degree < xs.size() through (xs[i], ys[i]).
uint64_t interpolate(const std::vector<uint64_t>& xs, const std::vector<uint64_t>& ys,
                     uint64_t at) {
  uint64_t sum = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < xs.size(); ++j) {
      if (j == i) continue;
      num = fmul(num, fsub(at, xs[j]));
      den = fmul(den, fsub(xs[i], xs[j]));
    }
    sum = fadd(sum, fmul(ys[i], fmul(num, finv(den))));
  }
  return sum;
}

std::array<uint64_t, kShamirLimbs> limbs_of(const Secret32& s) {
  std::array<uint64_t, kShamirLimbs> limbs{};
  for (size_t l = 0; l < kShamirLimbs; ++l)
    for (int b = 3; b >= 0; --b) limbs[l] = (limbs[l] << 8) | s.data()[4 * l + b];
  return limbs;
}

std::vector<uint64_t> points(size_t n, uint64_t first = 1) {
  std::vector<uint64_t> xs(n);
  std::iota(xs.begin(), xs.end(), first);
  return xs;
}

// A uniformly random t-subset of the shares, in random order (Fisher-Yates).
std::vector<ShamirShare> random_subset(const std::vector<ShamirShare>& shares, size_t t, Rng& rng) {
  std::vector<ShamirShare> pool = shares;
  for (size_t i = 0; i < t; ++i) std::swap(pool[i], pool[i + rng.uniform(pool.size() - i)]);
  pool.resize(t);
  return pool;
}

std::vector<ShamirShare> split_or_die(const Secret32& secret, uint32_t t,
                                      const std::vector<uint64_t>& xs, Rng& rng) {
  Result<std::vector<ShamirShare>> shares = shamir_split(secret, t, xs, rng);
  EXPECT_TRUE(shares.ok()) << shares.status().to_string();
  return shares.ok() ? std::move(shares).value() : std::vector<ShamirShare>{};
}

void expect_reconstructs(std::span<const ShamirShare> shares, const Secret32& secret) {
  const Result<Secret32> got = shamir_reconstruct(shares);
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->bytes(), secret.bytes());
}

void expect_never_the_secret(std::span<const ShamirShare> shares, const Secret32& secret) {
  const Result<Secret32> got = shamir_reconstruct(shares);
  if (got.ok()) {
    EXPECT_NE(got->bytes(), secret.bytes());
  } else {
    EXPECT_EQ(got.status().code(), ErrorCode::kDataLoss) << got.status().to_string();
  }
}

void expect_invalid(const Status& status) {
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
}

TEST(Shamir, AnyThresholdSubsetReconstructsTheSecret) {
  SeededRng rng(41);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 7, points(20), rng);
  ASSERT_EQ(shares.size(), 20u);
  for (int trial = 0; trial < 100; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_reconstructs(random_subset(shares, 7, rng), secret);
  }
}

TEST(Shamir, MoreThanThresholdSharesAlsoReconstruct) {
  SeededRng rng(42);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 5, points(12), rng);
  for (size_t k : {6, 9, 12}) expect_reconstructs(random_subset(shares, k, rng), secret);
}

TEST(Shamir, WorksWithArbitraryEvaluationPointsUpToTheFieldEdge) {
  SeededRng rng(43);
  const Secret32 secret(rng.key32());
  const std::vector<uint64_t> xs = {P - 1, P - 2, 1, 2, 1ull << 60, 123456789, 0xffffffffull};
  const std::vector<ShamirShare> shares = split_or_die(secret, 4, xs, rng);
  for (int trial = 0; trial < 20; ++trial)
    expect_reconstructs(random_subset(shares, 4, rng), secret);
}

TEST(Shamir, ThresholdOneAndThresholdNAreBothExact) {
  SeededRng rng(44);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> one = split_or_die(secret, 1, points(5), rng);
  for (const ShamirShare& s : one) expect_reconstructs(std::span(&s, 1), secret);
  const std::vector<ShamirShare> all = split_or_die(secret, 5, points(5), rng);
  expect_reconstructs(all, secret);
  expect_never_the_secret(std::span(all).first(4), secret);
}

TEST(Shamir, ReconstructsSecretsAtTheLimbBoundaries) {
  // Limbs of 0 and of 2^32 - 1: the largest value the 32-bit decode accepts.
  SeededRng rng(45);
  Key32 ones;
  ones.fill(0xff);
  for (const Secret32& secret : {Secret32(), Secret32(ones)}) {
    const std::vector<ShamirShare> shares = split_or_die(secret, 3, points(6), rng);
    expect_reconstructs(random_subset(shares, 3, rng), secret);
  }
}

TEST(Shamir, LargeCohort2000SharesThreshold1001) {
  SeededRng rng(46);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 1001, points(2000), rng);
  ASSERT_EQ(shares.size(), 2000u);
  for (int trial = 0; trial < 3; ++trial)
    expect_reconstructs(random_subset(shares, 1001, rng), secret);
  expect_never_the_secret(random_subset(shares, 1000, rng), secret);
}

TEST(Shamir, LargeCohort10000SharesThreshold5000) {
  SeededRng rng(47);
  const Secret32 secret(rng.key32());
  const auto start = std::chrono::steady_clock::now();
  const std::vector<ShamirShare> shares = split_or_die(secret, 5000, points(10000), rng);
  ASSERT_EQ(shares.size(), 10000u);
  for (int trial = 0; trial < 2; ++trial)
    expect_reconstructs(random_subset(shares, 5000, rng), secret);
  expect_never_the_secret(random_subset(shares, 4999, rng), secret);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("seconds", std::to_string(seconds));
}

TEST(Shamir, FewerThanThresholdSharesDoNotReconstruct) {
  SeededRng rng(48);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 6, points(10), rng);
  for (int trial = 0; trial < 50; ++trial)
    expect_never_the_secret(random_subset(shares, 5, rng), secret);
}

TEST(Shamir, ThresholdMinusOneSharesAreConsistentWithEverySecret) {
  // Perfect hiding: for t-1 real shares and ANY candidate secret there is a
  // degree t-1 polynomial through the shares and the candidate. We build it by
  // interpolating the t-1 shares plus (0, candidate), evaluate it at a fresh
  // point, and check that the library then reconstructs the candidate from the
  // t-1 real shares plus that one forged share. For the true secret, the forged
  // share must equal the real share at that point.
  constexpr uint32_t kT = 5;
  SeededRng rng(49);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, kT, points(8), rng);
  const std::span<const ShamirShare> known = std::span(shares).first(kT - 1);
  const ShamirShare& real_at_fresh_point = shares[kT];

  auto forge = [&](const Secret32& candidate) {
    ShamirShare forged;
    forged.x = real_at_fresh_point.x;
    const auto candidate_limbs = limbs_of(candidate);
    for (size_t l = 0; l < kShamirLimbs; ++l) {
      std::vector<uint64_t> xs = {0}, ys = {candidate_limbs[l]};
      for (const ShamirShare& s : known) {
        xs.push_back(s.x);
        ys.push_back(s.y[l]);
      }
      forged.y[l] = interpolate(xs, ys, forged.x);
      // The polynomial reproduces every known share (it was built through them).
      for (size_t i = 1; i < xs.size(); ++i) EXPECT_EQ(interpolate(xs, ys, xs[i]), ys[i]);
    }
    std::vector<ShamirShare> set(known.begin(), known.end());
    set.push_back(forged);
    return set;
  };

  const std::vector<ShamirShare> with_truth = forge(secret);
  EXPECT_EQ(with_truth.back().y, real_at_fresh_point.y);
  expect_reconstructs(with_truth, secret);

  for (int trial = 0; trial < 10; ++trial) {
    const Secret32 candidate(rng.key32());
    ASSERT_NE(candidate, secret);
    expect_reconstructs(forge(candidate), candidate);
  }
}

TEST(Shamir, SplitRejectsBadThresholdsAndPoints) {
  SeededRng rng(50);
  const Secret32 secret(rng.key32());
  expect_invalid(shamir_split(secret, 0, points(5), rng).status());
  expect_invalid(shamir_split(secret, 6, points(5), rng).status());
  expect_invalid(shamir_split(secret, 1, std::vector<uint64_t>{}, rng).status());
  expect_invalid(shamir_split(secret, 2, std::vector<uint64_t>{1, 2, 2}, rng).status());
  expect_invalid(shamir_split(secret, 2, std::vector<uint64_t>{0, 1, 2}, rng).status());
  expect_invalid(shamir_split(secret, 2, std::vector<uint64_t>{1, P}, rng).status());
  expect_invalid(shamir_split(secret, 2, std::vector<uint64_t>{1, ~0ull}, rng).status());
}

TEST(Shamir, ReconstructRejectsDuplicateZeroOrMissingPoints) {
  SeededRng rng(51);
  const Secret32 secret(rng.key32());
  std::vector<ShamirShare> shares = split_or_die(secret, 3, points(5), rng);
  std::vector<ShamirShare> duplicated = {shares[0], shares[1], shares[0]};
  expect_invalid(shamir_reconstruct(duplicated).status());
  std::vector<ShamirShare> zero = {shares[0], shares[1], shares[2]};
  zero[2].x = 0;
  expect_invalid(shamir_reconstruct(zero).status());
  expect_invalid(shamir_reconstruct(std::span<const ShamirShare>{}).status());
  std::vector<ShamirShare> out_of_field = {shares[0], shares[1], shares[2]};
  out_of_field[1].y[3] = P;
  expect_invalid(shamir_reconstruct(out_of_field).status());
}

TEST(Shamir, TamperedShareNeverYieldsTheOriginal) {
  SeededRng rng(52);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 4, points(6), rng);
  for (size_t victim = 0; victim < 4; ++victim) {
    for (size_t l = 0; l < kShamirLimbs; ++l) {
      std::vector<ShamirShare> set(shares.begin(), shares.begin() + 4);
      set[victim].y[l] = fadd(set[victim].y[l], 1);
      expect_never_the_secret(set, secret);
    }
    std::vector<ShamirShare> moved(shares.begin(), shares.begin() + 4);
    moved[victim].x = 100 + victim;  // right value presented at the wrong point
    expect_never_the_secret(moved, secret);
  }
}

TEST(ShamirShare, SerializeParseRoundTrips) {
  SeededRng rng(53);
  const Secret32 secret(rng.key32());
  const std::vector<uint64_t> xs = {1, 0xabcdef, P - 1};
  for (const ShamirShare& share : split_or_die(secret, 2, xs, rng)) {
    const Bytes bytes = share.serialize();
    ASSERT_EQ(bytes.size(), kShareBytes);
    const Result<ShamirShare> parsed = ShamirShare::parse(bytes);
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(parsed->x, share.x);
    EXPECT_EQ(parsed->y, share.y);
  }
}

TEST(ShamirShare, SerializesLittleEndianXThenLimbs) {
  ShamirShare share;
  share.x = 0x0102030405060708ull;
  for (size_t l = 0; l < kShamirLimbs; ++l) share.y[l] = l + 1;
  const Bytes bytes = share.serialize();
  EXPECT_EQ(to_hex(ByteSpan(bytes).first(16)), "08070605040302010100000000000000");
  EXPECT_EQ(bytes[8 + 8 * 7], 8);
}

TEST(ShamirShare, ParseRejectsWrongSizesAndOutOfRangeValues) {
  ShamirShare share;
  share.x = 7;
  share.y.fill(11);
  const Bytes good = share.serialize();
  ASSERT_TRUE(ShamirShare::parse(good).ok());

  expect_invalid(ShamirShare::parse(ByteSpan(good).first(kShareBytes - 1)).status());
  Bytes longer = good;
  longer.push_back(0);
  expect_invalid(ShamirShare::parse(longer).status());
  expect_invalid(ShamirShare::parse({}).status());

  auto with = [&](uint64_t x, uint64_t y5) {
    ShamirShare s = share;
    s.x = x;
    s.y[5] = y5;
    return s.serialize();
  };
  expect_invalid(ShamirShare::parse(with(0, 11)).status());
  expect_invalid(ShamirShare::parse(with(P, 11)).status());
  expect_invalid(ShamirShare::parse(with(~0ull, 11)).status());
  expect_invalid(ShamirShare::parse(with(7, P)).status());
  expect_invalid(ShamirShare::parse(with(7, ~0ull)).status());
  EXPECT_TRUE(ShamirShare::parse(with(P - 1, P - 1)).ok());
}

TEST(ShamirShare, WipeClearsTheValues) {
  ShamirShare share;
  share.x = 3;
  share.y.fill(0x1234);
  share.wipe();
  EXPECT_EQ(share.y, (std::array<uint64_t, kShamirLimbs>{}));
}

TEST(LagrangeCoefficients, ReuseGivesTheSameSecretsAsDirectReconstruction) {
  // Secure aggregation reconstructs many secrets from one holder set.
  SeededRng rng(54);
  const std::vector<uint64_t> xs = points(30, 5);
  const std::vector<size_t> holders = {29, 3, 17, 0, 8, 22, 11, 14, 26, 1, 5};  // t = 11
  std::vector<uint64_t> holder_xs;
  for (size_t h : holders) holder_xs.push_back(xs[h]);
  const Result<LagrangeCoefficients> coefficients = LagrangeCoefficients::build(holder_xs);
  ASSERT_TRUE(coefficients.ok()) << coefficients.status().to_string();
  EXPECT_EQ(coefficients->values().size(), holders.size());

  for (int i = 0; i < 10; ++i) {
    const Secret32 secret(rng.key32());
    const std::vector<ShamirShare> shares = split_or_die(secret, 11, xs, rng);
    std::vector<ShamirShare> held;
    for (size_t h : holders) held.push_back(shares[h]);
    const Result<Secret32> reused = shamir_reconstruct(held, *coefficients);
    const Result<Secret32> direct = shamir_reconstruct(held);
    ASSERT_TRUE(reused.ok()) << reused.status().to_string();
    ASSERT_TRUE(direct.ok()) << direct.status().to_string();
    EXPECT_EQ(*reused, *direct);
    EXPECT_EQ(*reused, secret);
  }
}

TEST(LagrangeCoefficients, RejectSharesInAnotherOrderOrCount) {
  SeededRng rng(55);
  const Secret32 secret(rng.key32());
  const std::vector<ShamirShare> shares = split_or_die(secret, 3, points(5), rng);
  const std::vector<ShamirShare> held = {shares[0], shares[1], shares[2]};
  const Result<LagrangeCoefficients> coefficients =
      LagrangeCoefficients::build(std::vector<uint64_t>{1, 2, 3});
  ASSERT_TRUE(coefficients.ok());
  const std::vector<ShamirShare> swapped = {shares[1], shares[0], shares[2]};
  expect_invalid(shamir_reconstruct(swapped, *coefficients).status());
  expect_invalid(shamir_reconstruct(std::span(held).first(2), *coefficients).status());
  expect_invalid(LagrangeCoefficients::build(std::vector<uint64_t>{}).status());
  expect_invalid(LagrangeCoefficients::build(std::vector<uint64_t>{4, 0}).status());
  expect_invalid(LagrangeCoefficients::build(std::vector<uint64_t>{4, 4}).status());
}

TEST(Shamir, SplitIsRandomisedButReproducibleFromTheRngSeed) {
  Key32 k;
  k.fill(9);
  const Secret32 secret(k);
  SeededRng a(56), b(56), c(57);
  const auto sa = split_or_die(secret, 3, points(4), a);
  const auto sb = split_or_die(secret, 3, points(4), b);
  const auto sc = split_or_die(secret, 3, points(4), c);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(sa[i].y, sb[i].y);
    EXPECT_NE(sa[i].y, sc[i].y);
  }
}

}  // namespace
}  // namespace fl::crypto
