// The discrete Gaussian sampler draws from N_Z(0, sigma^2) exactly: its
// samples pass a chi-square goodness-of-fit test against the pmf, and the same
// test rejects them against a pmf with the wrong sigma.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "aggregation/dp/discrete_gaussian.h"

namespace fl::aggregation::dp {
namespace {

struct ChiSquare {
  double statistic = 0;
  int degrees_of_freedom = 0;
  // Upper 0.001 quantile of chi^2_df (Wilson-Hilferty; accurate to about 1%
  // for df >= 3, far below the margins below).
  double critical() const {
    const double k = degrees_of_freedom, z = 3.090;
    const double c = 1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k));
    return k * c * c * c;
  }
};

// Chi-square of the samples against N_Z(0, model_sigma^2), with bins of
// expected count >= 5 (the tails pooled).
ChiSquare chi_square(const std::vector<int64_t>& samples, double model_sigma) {
  const int64_t span = static_cast<int64_t>(40 * model_sigma) + 10;
  std::vector<double> pmf(2 * span + 1);
  double total = 0;
  for (int64_t x = -span; x <= span; ++x) {
    pmf[x + span] = std::exp(-static_cast<double>(x * x) / (2 * model_sigma * model_sigma));
    total += pmf[x + span];
  }
  for (double& p : pmf) p /= total;
  std::map<int64_t, double> observed;
  for (int64_t s : samples) observed[std::clamp(s, -span, span)] += 1;
  const double n = static_cast<double>(samples.size());
  // Central bins while their expected count is >= 5; the rest pooled per side.
  int64_t k = 0;
  while (k + 1 <= span && n * pmf[k + 1 + span] >= 5) ++k;
  ChiSquare out;
  auto add = [&](double obs, double exp) {
    out.statistic += (obs - exp) * (obs - exp) / exp;
    ++out.degrees_of_freedom;
  };
  for (int64_t x = -k; x <= k; ++x) add(observed[x], n * pmf[x + span]);
  double lo_obs = 0, lo_exp = 0, hi_obs = 0, hi_exp = 0;
  for (int64_t x = k + 1; x <= span; ++x) {
    lo_obs += observed[-x];
    hi_obs += observed[x];
    lo_exp += n * pmf[-x + span];
    hi_exp += n * pmf[x + span];
  }
  if (lo_exp > 0) add(lo_obs, lo_exp);
  if (hi_exp > 0) add(hi_obs, hi_exp);
  out.degrees_of_freedom -= 1;
  return out;
}

std::vector<int64_t> draw(double sigma, int n, uint64_t seed) {
  auto dg = DiscreteGaussian::create(sigma);
  EXPECT_TRUE(dg.ok());
  crypto::SeededRng rng(seed, "dp.discrete-gaussian-test");
  std::vector<int64_t> out(n);
  for (auto& v : out) v = dg->sample(rng);
  return out;
}

TEST(DiscreteGaussian, FitsItsPmfForSeveralSigmas) {
  for (double sigma : {0.4, 1.0, 2.7, 11.3, 60.0}) {
    const auto samples = draw(sigma, 60000, 7);
    const auto fit = chi_square(samples, sigma);
    EXPECT_LT(fit.statistic, fit.critical())
        << "sigma " << sigma << ", df " << fit.degrees_of_freedom;
  }
}

TEST(DiscreteGaussian, SameTestRejectsAWrongSigma) {
  // 8% off in sigma: the goodness-of-fit test must notice, so it has power.
  for (double sigma : {1.0, 2.7, 11.3}) {
    const auto samples = draw(sigma, 60000, 7);
    const auto fit = chi_square(samples, sigma * 1.08);
    EXPECT_GT(fit.statistic, fit.critical()) << "sigma " << sigma;
  }
}

TEST(DiscreteGaussian, VarianceMatchesTheExactRational) {
  auto dg = DiscreteGaussian::create(3.3);
  ASSERT_TRUE(dg.ok());
  EXPECT_NEAR(dg->variance(), 3.3 * 3.3, 1e-9);
  const auto samples = draw(3.3, 60000, 11);
  double mean = 0, var = 0;
  for (auto s : samples) mean += static_cast<double>(s) / samples.size();
  for (auto s : samples) var += (s - mean) * (s - mean) / (samples.size() - 1);
  // For sigma >= 1 the discrete Gaussian's variance is sigma^2 to within
  // 1e-8; the sample variance's stddev is sigma^2 sqrt(2/n).
  const double tolerance = 5 * dg->variance() * std::sqrt(2.0 / samples.size());
  EXPECT_NEAR(var, dg->variance(), tolerance);
  EXPECT_NEAR(mean, 0, 5 * 3.3 / std::sqrt(static_cast<double>(samples.size())));
}

TEST(DiscreteGaussian, BernoulliExpNegHitsExpOfMinusGamma) {
  crypto::SeededRng seeded(5, "dp.bernoulli-test");
  RandomBits rng(seeded);
  const int n = 100000;
  for (auto [num, den] : {std::pair{1, 3}, std::pair{1, 1}, std::pair{7, 2}}) {
    int ones = 0;
    for (int i = 0; i < n; ++i) ones += exact::bernoulli_exp_neg(num, den, rng) ? 1 : 0;
    const double p = std::exp(-static_cast<double>(num) / den);
    EXPECT_NEAR(ones / static_cast<double>(n), p, 5 * std::sqrt(p * (1 - p) / n))
        << num << "/" << den;
  }
}

TEST(DiscreteGaussian, BernoulliAndUniformAreUnbiased) {
  crypto::SeededRng seeded(6, "dp.bernoulli-test");
  RandomBits bits(seeded);
  const int n = 100000;
  int ones = 0;
  const Uint128 den = (static_cast<Uint128>(1) << 90) + 12345;  // far past 64 bits
  for (int i = 0; i < n; ++i) ones += exact::bernoulli(den / 3, den, bits) ? 1 : 0;
  EXPECT_NEAR(ones / static_cast<double>(n), 1.0 / 3, 5 * std::sqrt(2.0 / 9 / n));
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[static_cast<int>(exact::uniform(7, bits))];
  for (int c : counts) EXPECT_NEAR(c, 10000, 5 * std::sqrt(10000 * 6.0 / 7));
}

TEST(DiscreteGaussian, RefusesSigmaOutOfRange) {
  for (double bad : {0.0, -1.0, 1e-3, 1e7, std::nan("")}) {
    auto dg = DiscreteGaussian::create(bad);
    ASSERT_FALSE(dg.ok()) << bad;
    EXPECT_NE(dg.status().message().find("sigma"), std::string::npos);
  }
}

TEST(DiscreteGaussian, WorksAtBothEndsOfItsRange) {
  for (double sigma : {DiscreteGaussian::kMinSigma, DiscreteGaussian::kMaxSigma}) {
    auto dg = DiscreteGaussian::create(sigma);
    ASSERT_TRUE(dg.ok()) << sigma;
    EXPECT_NEAR(dg->variance(), sigma * sigma, 1e-9 * sigma * sigma);
    crypto::SeededRng rng(12);
    double sq = 0;
    for (int i = 0; i < 2000; ++i) {
      const double s = static_cast<double>(dg->sample(rng));
      sq += s * s / 2000;
    }
    // sigma = 1/32 is almost always 0 (P[x != 0] ~ 2 exp(-512)); 2^20 spreads.
    if (sigma < 1) {
      EXPECT_EQ(sq, 0);
    } else {
      EXPECT_NEAR(std::sqrt(sq), sigma, 0.1 * sigma);
    }
  }
}

TEST(DiscreteGaussian, SameSeedSameSamples) {
  EXPECT_EQ(draw(5.0, 100, 3), draw(5.0, 100, 3));
  EXPECT_NE(draw(5.0, 100, 3), draw(5.0, 100, 4));
}

}  // namespace
}  // namespace fl::aggregation::dp
