// Central DP noise: the coordinator's Gaussian has stddev z * C, and bad
// settings are refused without touching the sum.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aggregation/dp/central_dp.h"

namespace fl::aggregation::dp {
namespace {

TEST(CentralDp, NoiseHasStddevZTimesC) {
  crypto::SeededRng rng(31, "dp.central-test");
  std::vector<float> sum(20000, 3.0f);
  ASSERT_TRUE(add_central_gaussian_noise(sum, 1.1, 0.5, rng).ok());
  double mean = 0, var = 0;
  for (float v : sum) mean += (v - 3.0) / sum.size();
  for (float v : sum) var += (v - 3.0 - mean) * (v - 3.0 - mean) / (sum.size() - 1);
  const double expected = 0.55 * 0.55;
  EXPECT_NEAR(var, expected, 5 * expected * std::sqrt(2.0 / sum.size()));
  EXPECT_NEAR(mean, 0, 5 * 0.55 / std::sqrt(static_cast<double>(sum.size())));
}

TEST(CentralDp, RefusesZOrCNotPositiveAndLeavesTheSum) {
  crypto::SeededRng rng(32);
  std::vector<float> sum(4, 1.0f);
  EXPECT_NE(add_central_gaussian_noise(sum, 0, 1, rng).message().find("noise_multiplier"),
            std::string::npos);
  EXPECT_NE(add_central_gaussian_noise(sum, 1, -1, rng).message().find("l2_clip"),
            std::string::npos);
  EXPECT_EQ(sum, std::vector<float>(4, 1.0f));
}

}  // namespace
}  // namespace fl::aggregation::dp
