// The distributed discrete Gaussian pipeline: what the server decodes from the
// ring sum of the clients' noised, rotated, rounded updates is the true sum of
// the clipped updates plus noise of exactly the promised variance (scaled by
// the survivors when clients drop), and wrap-around is counted.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "aggregation/dp/distributed_dp.h"

namespace fl::aggregation::dp {
namespace {

crypto::Key32 seed_of(uint64_t round) {
  crypto::SeededRng r(round, "dp.rotation-seed-test");
  return r.key32();
}

DistributedDpConfig config(uint64_t d) {
  return {.dimension = d,
          .l2_clip = 1.0,
          .scale = 64,  // gamma = 1/64
          .noise_stddev = 0.5,
          .expected_clients = 20,
          .bits = 20};
}

TEST(DistributedDp, RotationIsOrthogonalAndInvertible) {
  crypto::SeededRng rng(1);
  std::vector<double> x(1000);
  for (auto& v : x) v = rng.uniform01() - 0.5;
  const auto y = rotate(x, seed_of(1));
  ASSERT_EQ(y.size(), 1024u);
  const double nx = std::sqrt(std::inner_product(x.begin(), x.end(), x.begin(), 0.0));
  const double ny = std::sqrt(std::inner_product(y.begin(), y.end(), y.begin(), 0.0));
  EXPECT_NEAR(nx, ny, 1e-12 * nx);
  const auto back = unrotate(y, seed_of(1), x.size());
  ASSERT_EQ(back.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 1e-12);
  // Another round's seed does not invert it.
  const auto wrong = unrotate(y, seed_of(2), x.size());
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) err += std::abs(wrong[i] - x[i]);
  EXPECT_GT(err, 1.0);
}

TEST(DistributedDp, RotationFlattensASpike) {
  // The reason for rotating: a one-hot vector of norm 1 becomes coordinates
  // of size 1/sqrt(D), so modular clipping is rare.
  std::vector<double> spike(4096, 0.0);
  spike[17] = 1.0;
  for (double v : rotate(spike, seed_of(3))) EXPECT_NEAR(std::abs(v), 1 / 64.0, 1e-15);
}

TEST(DistributedDp, ConditionalRoundingStaysWithinTheBound) {
  crypto::SeededRng rng(4);
  std::vector<double> x(256);
  for (auto& v : x) v = rng.uniform01() - 0.5;
  clip_l2(x, 1.0);
  for (auto& v : x) v *= 30;  // scaled clip 30
  const double bound = rounded_l2_bound(30, x.size(), std::exp(-0.5));
  EXPECT_LT(bound, 30 + std::sqrt(256.0));  // the conditional bound is the tighter one here
  for (int trial = 0; trial < 50; ++trial) {
    auto r = conditional_round(x, bound, 1000, rng);
    ASSERT_TRUE(r.ok());
    double sq = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_LE(std::abs(static_cast<double>(r->values[i]) - x[i]), 1.0);
      sq += static_cast<double>(r->values[i]) * r->values[i];
    }
    EXPECT_LE(std::sqrt(sq), bound);
  }
  // An unclipped input cannot meet the bound: refused, not silently passed.
  for (auto& v : x) v *= 10;
  EXPECT_EQ(conditional_round(x, bound, 20, rng).status().code(), ErrorCode::kFailedPrecondition);
}

TEST(DistributedDp, ModularWrapCountsEveryCoordinateOutsideTheRange) {
  const std::vector<int64_t> v = {0, 127, 128, -128, -129, 1000, -1000, 5};
  const auto w = modular_wrap(v, 8);  // range [-128, 128)
  EXPECT_EQ(w.wrapped, 4u);           // 128, -129, 1000, -1000
  const auto back = unwrap_signed(w.ring, 8);
  const std::vector<int64_t> expected = {0, 127, -128, -128, 127, -24, 24, 5};
  EXPECT_EQ(back, expected);
  // A sum taken in the 2^32 secure aggregation ring decodes mod 2^8 too.
  std::vector<uint64_t> ring32 = {(w.ring[1] + w.ring[7]) & 0xffffffffull};
  EXPECT_EQ(unwrap_signed(ring32, 8)[0], -124);  // 127 + 5 wraps
}

struct SumResidual {
  double mean = 0, variance = 0;
  size_t count = 0;
  uint64_t wrapped = 0;
};

// Runs `trials` rounds of `clients` clients through encode -> ring sum ->
// decode, and returns the residual decoded - true sum of the clipped inputs.
SumResidual run_rounds(const DistributedDpConfig& c, int clients, int trials) {
  crypto::SeededRng data(99, "dp.data");
  crypto::SeededRng client_rng(100, "dp.clients");
  std::vector<double> residual;
  SumResidual out;
  for (int t = 0; t < trials; ++t) {
    const auto rotation = seed_of(1000 + t);
    std::vector<uint64_t> ring_sum(rotation_dimension(c.dimension), 0);
    std::vector<double> true_sum(c.dimension, 0);
    for (int k = 0; k < clients; ++k) {
      std::vector<float> u(c.dimension);
      for (auto& v : u) v = static_cast<float>((data.uniform01() - 0.5) * 0.3);
      std::vector<double> clipped(u.begin(), u.end());
      clip_l2(clipped, c.l2_clip);
      for (size_t i = 0; i < clipped.size(); ++i) true_sum[i] += clipped[i];
      auto enc = encode_client_update(u, c, rotation, client_rng);
      EXPECT_TRUE(enc.ok()) << enc.status().to_string();
      out.wrapped += enc->wrapped;
      for (size_t i = 0; i < ring_sum.size(); ++i)
        ring_sum[i] = (ring_sum[i] + enc->ring[i]) & 0xffffffffull;  // the 2^32 secagg ring
    }
    auto decoded = decode_sum(ring_sum, c, rotation);
    EXPECT_TRUE(decoded.ok());
    for (size_t i = 0; i < c.dimension; ++i) residual.push_back((*decoded)[i] - true_sum[i]);
  }
  out.count = residual.size();
  for (double r : residual) out.mean += r / residual.size();
  for (double r : residual) out.variance += (r - out.mean) * (r - out.mean) / (residual.size() - 1);
  return out;
}

TEST(DistributedDp, DecodedSumIsTheTrueSumPlusThePromisedNoise) {
  // 20 clients, each adding N_Z(0, (0.5 * 64)^2 / 20): the sum carries noise of
  // variance 0.5^2 in update units, plus the rounding's at most n/(4 scale^2).
  const auto c = config(200);
  const auto r = run_rounds(c, 20, 12);
  const double promised = c.noise_stddev * c.noise_stddev;
  const double rounding = 20 / (4 * c.scale * c.scale);
  const double slack = 5 * promised * std::sqrt(2.0 / r.count);  // 5 sd of a sample variance
  std::printf("residual variance %.5f, promised %.5f (+ rounding <= %.5f), n = %zu\n", r.variance,
              promised, rounding, r.count);
  EXPECT_GT(r.variance, promised - slack);
  EXPECT_LT(r.variance, promised + rounding + slack);
  EXPECT_NEAR(r.mean, 0, 5 * std::sqrt(promised / r.count));
  EXPECT_EQ(r.wrapped, 0u);
}

TEST(DistributedDp, DropoutsLeaveLessNoiseInTheSum) {
  // Shares were sized for 20 clients; 12 survive: the variance is 12/20 of
  // the promise. This is why the accountant takes the actual survivors.
  const auto c = config(200);
  const auto r = run_rounds(c, 12, 16);
  const double expected = c.noise_stddev * c.noise_stddev * 12 / 20;
  const double slack = 5 * expected * std::sqrt(2.0 / r.count);
  EXPECT_GT(r.variance, expected - slack);
  EXPECT_LT(r.variance, expected + 12 / (4 * c.scale * c.scale) + slack);
}

TEST(DistributedDp, TooFewBitsWrapAndAreCounted) {
  auto c = config(64);
  c.bits = 4;  // [-8, 8) while the noise alone has stddev 0.5 * 64 / sqrt(20) ~ 7 per client
  crypto::SeededRng rng(8);
  std::vector<float> u(64, 0.1f);
  auto enc = encode_client_update(u, c, seed_of(5), rng);
  ASSERT_TRUE(enc.ok());
  EXPECT_GT(enc->wrapped, 0u);
  c.bits = 20;
  crypto::SeededRng rng2(8);
  EXPECT_EQ(encode_client_update(u, c, seed_of(5), rng2)->wrapped, 0u);
}

TEST(DistributedDp, RefusesBadInputNamingTheField) {
  crypto::SeededRng rng(9);
  auto c = config(4);
  std::vector<float> u = {1, 2, 3, 4};
  c.bits = 65;
  EXPECT_NE(encode_client_update(u, c, seed_of(1), rng).status().message().find("bits"),
            std::string::npos);
  c = config(4);
  c.l2_clip = 0;
  EXPECT_NE(encode_client_update(u, c, seed_of(1), rng).status().message().find("l2_clip"),
            std::string::npos);
  c = config(5);
  EXPECT_NE(encode_client_update(u, c, seed_of(1), rng).status().message().find("update"),
            std::string::npos);
  c = config(4);
  u[2] = std::nanf("");
  EXPECT_NE(encode_client_update(u, c, seed_of(1), rng).status().message().find("coordinate 2"),
            std::string::npos);
}

}  // namespace
}  // namespace fl::aggregation::dp

namespace fl::aggregation::dp {
namespace {

TEST(DistributedDpModulus, ScaleForBitsFitsTheSumAndFewerBitsAreRefused) {
  for (uint32_t bits : {12u, 16u, 20u}) {
    auto scale = scale_for_bits(bits, 1.0, 1.0, 100, 1 << 16);
    ASSERT_TRUE(scale.ok());
    DistributedDpConfig c{.dimension = 1 << 16,
                          .l2_clip = 1.0,
                          .scale = *scale,
                          .noise_stddev = 1.0,
                          .expected_clients = 100,
                          .bits = bits};
    EXPECT_TRUE(check_modulus(c, 100, 32).ok()) << bits;
    c.bits = bits - 1;
    auto refused = check_modulus(c, 100, 32);
    EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.message().find("bits"), std::string::npos);
  }
  DistributedDpConfig wide{.dimension = 16,
                           .l2_clip = 1,
                           .scale = 1,
                           .noise_stddev = 1,
                           .expected_clients = 10,
                           .bits = 40};
  EXPECT_NE(check_modulus(wide, 10, 32).message().find("ring"), std::string::npos);
  EXPECT_FALSE(scale_for_bits(2, 1.0, 1.0, 1000, 16).ok());  // rounding noise alone overflows
}

TEST(DistributedDpAccounting, ApproachesCentralDpAsBitsGrowAndChargesDropouts) {
  // Kairouz et al.'s regime: d = 2^16, c = 1, z = 1 on a sum of 100 clients,
  // 100 rounds; the central Gaussian's epsilon is the floor. Without
  // sampling the discretisation's cost vanishes by 16 bits; with q = 0.01 a
  // gap of about 12% stays, and it is the generic subsampling bound (Zhu and
  // Wang, integer orders), not the discretisation.
  for (double q : {1.0, 0.01}) {
    RdpComposition central;
    central.add_poisson_gaussian(q, 1.0, 100);
    const double floor = central.epsilon(1e-5).epsilon;
    double previous = INFINITY;
    for (uint32_t bits : {12u, 14u, 16u, 18u, 20u}) {
      DistributedDpConfig c{.dimension = 1 << 16,
                            .l2_clip = 1.0,
                            .noise_stddev = 1.0,
                            .expected_clients = 100,
                            .bits = bits};
      c.scale = *scale_for_bits(bits, c.l2_clip, c.noise_stddev, 100, c.dimension);
      RdpComposition ddg;
      ddg.add_distributed_discrete_gaussian(accounting_of(c, 100, q), 100);
      const double e = ddg.epsilon(1e-5).epsilon;
      std::printf("q %.2f bits %u: scale %.1f, distributed epsilon %.3f, central %.3f (x%.3f)\n", q,
                  bits, c.scale, e, floor, e / floor);
      EXPECT_GE(e, floor * (1 - 1e-9));
      EXPECT_LE(e, previous);
      previous = e;
      if (bits >= 16) {
        EXPECT_LT(e, floor * (q == 1.0 ? 1.01 : 1.13)) << bits;
        // Dropouts: 70 of 100 shares in the sum cost more than all 100.
        RdpComposition dropped;
        dropped.add_distributed_discrete_gaussian(accounting_of(c, 70, q), 100);
        EXPECT_GT(dropped.epsilon(1e-5).epsilon, e * 1.1);
      }
    }
  }
}

}  // namespace
}  // namespace fl::aggregation::dp
