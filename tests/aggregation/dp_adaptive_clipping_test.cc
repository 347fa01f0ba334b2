// Adaptive clipping finds the target quantile of the update norms from noised
// counts alone, and the value noise is inflated by the paper's formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "aggregation/dp/adaptive_clipping.h"

namespace fl::aggregation::dp {
namespace {

// Update norms of a synthetic population: log-normal around 2.0.
std::vector<double> population_norms(size_t n, crypto::Rng& rng) {
  std::vector<double> norms(n);
  for (auto& v : norms) v = 2.0 * std::exp(0.5 * standard_normal(rng));
  return norms;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1))];
}

TEST(AdaptiveClipping, ConvergesToTheTargetQuantile) {
  crypto::SeededRng rng(21, "dp.adaptive-test");
  const auto norms = population_norms(10000, rng);
  for (double target : {0.5, 0.8}) {
    auto clipping = AdaptiveClipping::create({.target_quantile = target});  // starts at 0.1
    ASSERT_TRUE(clipping.ok());
    const uint64_t cohort = 100;
    std::vector<double> late_clips;
    for (int round = 0; round < 300; ++round) {
      uint64_t unclipped = 0;
      for (uint64_t k = 0; k < cohort; ++k)
        unclipped += clipping->unclipped_bit(norms[rng.uniform(norms.size())]) ? 1 : 0;
      ASSERT_TRUE(clipping->update(clipping->noised_count(unclipped, cohort, rng), cohort).ok());
      if (round >= 200) late_clips.push_back(clipping->clip());
    }
    double mean_clip = 0;
    for (double c : late_clips) mean_clip += c / late_clips.size();
    // The clip's own fraction of unclipped norms is the target, within the
    // jitter of 100-client cohorts with count noise of stddev 5.
    const double fraction =
        std::count_if(norms.begin(), norms.end(), [&](double v) { return v <= mean_clip; }) /
        static_cast<double>(norms.size());
    std::printf("target %.2f: clip %.4f, true quantile %.4f, fraction unclipped %.3f\n", target,
                mean_clip, quantile(norms, target), fraction);
    EXPECT_NEAR(fraction, target, 0.05);
  }
}

TEST(AdaptiveClipping, DefaultsAreTheFlowerAndTffOnes) {
  AdaptiveClippingConfig c;
  EXPECT_EQ(c.initial_clip, 0.1);
  EXPECT_EQ(c.target_quantile, 0.5);
  EXPECT_EQ(c.learning_rate, 0.2);
  EXPECT_EQ(count_noise_stddev(c, 100), 5.0);  // cohort / 20
}

TEST(AdaptiveClipping, ValueNoiseIsInflatedByThePapersFormula) {
  // z = 1, sigma_b = 5: z_delta = (1 - 1/100)^(-1/2).
  auto z = value_noise_multiplier(1.0, 5.0);
  ASSERT_TRUE(z.ok());
  EXPECT_NEAR(*z, 1 / std::sqrt(0.99), 1e-12);
  EXPECT_GT(*z, 1.0);
  // 2 sigma_b <= z: the count alone would spend everything; refused.
  auto refused = value_noise_multiplier(1.0, 0.5);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("count_stddev"), std::string::npos);
}

TEST(AdaptiveClipping, RefusesBadSettingsNamingTheKey) {
  EXPECT_NE(AdaptiveClipping::create({.initial_clip = 0}).status().message().find("initial_clip"),
            std::string::npos);
  EXPECT_NE(
      AdaptiveClipping::create({.target_quantile = 1.0}).status().message().find("target_quantile"),
      std::string::npos);
  EXPECT_NE(
      AdaptiveClipping::create({.learning_rate = -1}).status().message().find("learning_rate"),
      std::string::npos);
  auto c = AdaptiveClipping::create({});
  const double before = c->clip();
  EXPECT_FALSE(c->update(10, 0).ok());
  EXPECT_FALSE(c->update(NAN, 10).ok());
  EXPECT_EQ(c->clip(), before);  // refused input changes no state
}

}  // namespace
}  // namespace fl::aggregation::dp
