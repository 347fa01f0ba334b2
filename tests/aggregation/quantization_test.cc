// Quantisation: the de-quantised secure sum is the mean update, within one
// quantisation step, and settings that could overflow are refused up front.
#include "aggregation/quantization.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace fl::aggregation {
namespace {

std::vector<uint64_t> ring_sum(const std::vector<std::vector<uint64_t>>& vs, crypto::RingBits r) {
  std::vector<uint64_t> s(vs[0].size(), 0);
  for (const auto& v : vs)
    for (size_t i = 0; i < v.size(); ++i) s[i] += v[i];
  for (auto& x : s) x &= crypto::ring_mask(r);
  return s;
}

TEST(Quantization, SumDecodesToTheMeanWithinOneStep) {
  for (auto ring : {crypto::RingBits::k32, crypto::RingBits::k64}) {
    QuantizationConfig c{.clip = 2.0, .bits = 16, .ring = ring};
    crypto::SeededRng rng(3);
    std::vector<std::vector<float>> updates(50, std::vector<float>(200));
    std::vector<std::vector<uint64_t>> q;
    for (auto& u : updates) {
      for (auto& x : u) x = static_cast<float>(rng.uniform01() * 3.0 - 1.5);  // inside the clip
      q.push_back(*quantize(u, 1.0, c, rng));
    }
    auto sum = dequantize_sum(ring_sum(q, ring), 50, c);
    ASSERT_TRUE(sum.ok());
    for (size_t i = 0; i < 200; ++i) {
      double mean = 0;
      for (auto& u : updates) mean += u[i] / 50.0;
      EXPECT_NEAR(sum->mean[i], mean, quantization_step(c)) << i;
    }
  }
}

TEST(Quantization, ClipsCoordinatesOutsideTheRange) {
  QuantizationConfig c{.clip = 1.0, .bits = 12};
  crypto::SeededRng rng(1);
  std::vector<float> u = {5.0f, -7.0f, 0.5f};
  auto q = quantize(u, 1.0, c, rng);
  ASSERT_TRUE(q.ok());
  auto d = dequantize_sum(*q, 1, c);
  EXPECT_FLOAT_EQ(d->mean[0], 1.0f);
  EXPECT_FLOAT_EQ(d->mean[1], -1.0f);
  EXPECT_NEAR(d->mean[2], 0.5f, quantization_step(c));
}

TEST(Quantization, StochasticRoundingIsUnbiased) {
  // A value between two levels: the average of many roundings approaches it
  // far more closely than one step.
  QuantizationConfig c{.clip = 1.0, .bits = 4};  // step = 1/7
  crypto::SeededRng rng(11);
  const float x = 0.3f;
  double total = 0;
  const int trials = 20000;
  for (int i = 0; i < trials; ++i) {
    auto q = quantize(std::vector<float>{x}, 1.0, c, rng);
    total += dequantize_sum(*q, 1, c)->mean[0];
  }
  EXPECT_NEAR(total / trials, x, 0.005);
  EXPECT_GT(quantization_step(c), 0.1);
}

TEST(Quantization, WeightedMeanUsesExampleCounts) {
  QuantizationConfig c{.clip = 1.0, .bits = 20, .ring = crypto::RingBits::k64, .max_weight = 1000};
  crypto::SeededRng rng(2);
  // Client A: update 0.5 with 100 examples; client B: -0.25 with 300.
  auto a = *quantize(std::vector<float>{0.5f}, 100, c, rng);
  auto b = *quantize(std::vector<float>{-0.25f}, 300, c, rng);
  ASSERT_EQ(a.size(), 2u);  // the weight rides as one more coordinate
  auto d = dequantize_sum(ring_sum({a, b}, c.ring), 2, c);
  ASSERT_TRUE(d.ok());
  EXPECT_DOUBLE_EQ(d->total_weight, 400);
  EXPECT_NEAR(d->mean[0], (0.5 * 100 - 0.25 * 300) / 400, 1e-4);
}

TEST(Quantization, WeightsAreCappedAtMaxWeight) {
  QuantizationConfig c{.clip = 1.0, .bits = 16, .ring = crypto::RingBits::k64, .max_weight = 50};
  crypto::SeededRng rng(2);
  auto a = *quantize(std::vector<float>{0.1f}, 1e9, c, rng);
  EXPECT_EQ(a.back(), 50u);
}

TEST(Quantization, RefusesSettingsThatOverflowForTheCohort) {
  // 16-bit values summed over 2^16 clients need 32 bits of magnitude plus sign.
  QuantizationConfig c{.clip = 1.0, .bits = 16, .ring = crypto::RingBits::k32};
  EXPECT_TRUE(check_quantization(c, 1000).ok());
  auto s = check_quantization(c, 1 << 17);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("overflow"), std::string::npos);
  c.ring = crypto::RingBits::k64;
  EXPECT_TRUE(check_quantization(c, 1 << 17).ok());
  c.bits = 64;
  EXPECT_FALSE(check_quantization(c, 2).ok());
  c = {.clip = 0.0};
  EXPECT_FALSE(check_quantization(c, 2).ok());
}

TEST(Quantization, RejectsNonFiniteCoordinates) {
  QuantizationConfig c;
  crypto::SeededRng rng(1);
  EXPECT_FALSE(quantize(std::vector<float>{1.0f, NAN}, 1.0, c, rng).ok());
  EXPECT_FALSE(quantize(std::vector<float>{INFINITY}, 1.0, c, rng).ok());
}

TEST(Quantization, SameSeedSameQuantisation) {
  QuantizationConfig c;
  std::vector<float> u(100, 0.123f);
  crypto::SeededRng a(5), b(5);
  EXPECT_EQ(*quantize(u, 1, c, a), *quantize(u, 1, c, b));
}

}  // namespace
}  // namespace fl::aggregation
