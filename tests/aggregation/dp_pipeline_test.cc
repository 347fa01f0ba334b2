// Differential privacy through the one round pipeline (client_update.h and
// round_aggregator.h), as the SDK, the round engine and fl-sim run it: the
// mean a round produces is the clipped clients' sum plus noise of the
// promised stddev, over the expected cohort; distributed mode's noise shrinks
// with dropouts; bad settings are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/dp/dp_config.h"
#include "aggregation/round_aggregator.h"
#include "crypto/rng.h"

namespace fl::aggregation {
namespace {

constexpr size_t kDim = 4096;

// Client k's update: norm 2 (so the clip to C = 0.5 binds), spread over coordinates.
std::vector<float> update_of(int k) {
  std::vector<float> u(kDim);
  crypto::SeededRng rng(100 + k);
  double sq = 0;
  for (auto& x : u) {
    x = static_cast<float>(rng.uniform01() - 0.5);
    sq += double(x) * x;
  }
  for (auto& x : u) x = static_cast<float>(x * 2.0 / std::sqrt(sq));
  return u;
}

std::vector<double> clipped_sum(int clients, double c) {
  std::vector<double> sum(kDim, 0.0);
  for (int k = 0; k < clients; ++k) {
    auto u = update_of(k);
    double sq = 0;
    for (float x : u) sq += double(x) * x;
    const double f = std::min(1.0, c / std::sqrt(sq));
    for (size_t i = 0; i < kDim; ++i) sum[i] += u[i] * f;
  }
  return sum;
}

// Empirical stddev of (mean * expected - true sum) over the coordinates.
double noise_stddev(const MeanUpdate& mean, const std::vector<double>& truth, double expected) {
  double sq = 0;
  for (size_t i = 0; i < kDim; ++i) {
    const double e = mean.mean[i] * expected - truth[i];
    sq += e * e;
  }
  return std::sqrt(sq / kDim);
}

std::vector<uint64_t> secure_sum(const std::vector<std::vector<uint64_t>>& inputs) {
  std::vector<uint64_t> sum(inputs[0].size(), 0);
  for (const auto& in : inputs)
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] + in[i]) & 0xffffffffull;
  return sum;
}

TEST(DpPipeline, CentralModeAddsNoiseOfStddevZTimesCToTheClippedSum) {
  const int clients = 20;
  const double z = 1.3, c = 0.5, expected = 25;
  ClientUpdateConfig cu;
  cu.quantization.bits = 24;
  cu.quantization.clip = c;
  cu.l2_clip = c;
  std::vector<std::vector<uint64_t>> inputs;
  for (int k = 0; k < clients; ++k) {
    crypto::SeededRng rng(k);
    auto u = build_client_update(update_of(k), 10, cu, rng);
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    EXPECT_TRUE(u->stats.clipped);
    inputs.push_back(u->ring);
  }
  crypto::SeededRng noise(7);
  RoundAggregatorConfig ra;
  ra.quantization = cu.quantization;
  ra.dp_mode = dp::DpMode::kCentral;
  ra.noise_multiplier = z;
  ra.l2_clip = c;
  ra.expected_clients = expected;
  ra.noise_rng = &noise;
  auto mean = decode_secure_sum(secure_sum(inputs), clients, ra);
  ASSERT_TRUE(mean.ok()) << mean.status().to_string();
  EXPECT_EQ(mean->stats.included, uint64_t(clients));
  const double sd = noise_stddev(*mean, clipped_sum(clients, c), expected);
  // kDim samples: the stddev's relative standard error is 1/sqrt(2 kDim) ~ 1.1%.
  EXPECT_NEAR(sd, z * c, 0.05 * z * c);

  // Without DP the same sum decodes to the plain mean: the noise came from DP.
  RoundAggregatorConfig plain;
  plain.quantization = cu.quantization;
  auto exact = decode_secure_sum(secure_sum(inputs), clients, plain);
  ASSERT_TRUE(exact.ok());
  EXPECT_LT(noise_stddev(*exact, clipped_sum(clients, c), clients), 0.01 * z * c);
}

TEST(DpPipeline, DistributedModeNoiseSurvivesTheSumAndShrinksWithDropouts) {
  const double z = 1.0, c = 0.5;
  dp::DpConfig cfg;
  cfg.mode = dp::DpMode::kDistributed;
  cfg.noise_multiplier = z;
  cfg.clip = c;
  cfg.sampling_rate = 0.02;
  cfg.population_size = 1000;  // 20 expected clients
  cfg.target_delta = 1e-5;
  cfg.bits = 20;
  ASSERT_TRUE(dp::check_dp_for_model(cfg, kDim, 32).ok());
  auto d = dp::distributed_config(cfg, kDim);
  ASSERT_TRUE(d.ok()) << d.status().to_string();

  ClientUpdateConfig cu;
  cu.l2_clip = c;
  cu.distributed_dp = *d;
  crypto::SeededRng seed_rng(3);
  cu.rotation_seed = seed_rng.key32();
  // Through the wire form, as a device receives it.
  auto received = client_update_config(quantization_plan(cu));
  ASSERT_TRUE(received.ok()) << received.status().to_string();
  ASSERT_TRUE(received->distributed_dp.has_value());
  EXPECT_EQ(client_input_dimension(*received, kDim), kDim);  // already a power of two

  for (int survivors : {20, 10}) {
    std::vector<std::vector<uint64_t>> inputs;
    for (int k = 0; k < survivors; ++k) {
      crypto::SeededRng rng(1000 + k);
      auto u = build_client_update(update_of(k), 10, *received, rng);
      ASSERT_TRUE(u.ok()) << u.status().to_string();
      EXPECT_EQ(u->stats.wrapped, 0u);
      inputs.push_back(u->ring);
    }
    RoundAggregatorConfig ra;
    ra.dp_mode = dp::DpMode::kDistributed;
    ra.expected_clients = cfg.expected_clients();
    ra.distributed = *d;
    ra.rotation_seed = cu.rotation_seed;
    auto mean = decode_secure_sum(secure_sum(inputs), survivors, ra);
    ASSERT_TRUE(mean.ok()) << mean.status().to_string();
    // Each survivor's share has variance (zC)^2 / expected; rounding adds a
    // little (gamma^2/4 per client and coordinate, far below the noise here).
    const double promised = z * c * std::sqrt(survivors / cfg.expected_clients());
    const double sd = noise_stddev(*mean, clipped_sum(survivors, c), cfg.expected_clients());
    EXPECT_NEAR(sd, promised, 0.06 * promised) << survivors << " survivors";
  }
}

TEST(DpPipeline, SettingsThatBreakTheGuaranteeAreRefused) {
  dp::DpConfig ok;
  ok.mode = dp::DpMode::kCentral;
  ok.noise_multiplier = 1;
  ok.clip = 0.5;
  ok.sampling_rate = 0.1;
  ok.population_size = 1000;
  ok.target_delta = 1e-5;
  ASSERT_TRUE(dp::check_dp_config(ok).ok());
  auto refused_with = [&](dp::DpConfig c, const std::string& key) {
    Status s = dp::check_dp_config(c);
    if (s.ok()) s = dp::check_dp_for_model(c, 100000, 32);
    EXPECT_FALSE(s.ok()) << key;
    EXPECT_EQ(s.message().rfind(key, 0), 0u) << s.message();
  };
  auto c = ok;
  c.noise_multiplier = 0;
  refused_with(c, "dp.noise_multiplier");
  c = ok;
  c.noise_multiplier = -1;
  refused_with(c, "dp.noise_multiplier");
  c = ok;
  c.clip = 0;
  refused_with(c, "dp.clip");  // DP on without clipping
  c = ok;
  c.target_delta = 1e-3;  // >= 1/population
  refused_with(c, "dp.target_delta");
  c = ok;
  c.max_epsilon = -1;
  refused_with(c, "dp.max_epsilon");
  c = ok;
  c.mode = dp::DpMode::kDistributed;
  c.bits = 8;
  c.population_size = 1'000'000;  // 100,000 expected clients' rounding alone overflows 8 bits
  c.target_delta = 1e-7;
  refused_with(c, "dp.bits");
  c = ok;
  c.mode = dp::DpMode::kDistributed;
  c.bits = 40;  // wider than the 32-bit ring
  refused_with(c, "dp.bits");

  ClientUpdateConfig cu;
  cu.l2_clip = 0.5;
  cu.quantization.max_weight = 100;
  ok.mode = dp::DpMode::kDistributed;
  ok.bits = 20;
  cu.distributed_dp = *dp::distributed_config(ok, 1000);
  EXPECT_FALSE(check_client_update_config(cu).ok());  // weighted mean: sensitivity not C

  RoundAggregatorConfig central;
  central.dp_mode = dp::DpMode::kCentral;
  central.noise_multiplier = 1;
  central.l2_clip = 0.5;
  central.expected_clients = 10;
  std::vector<uint64_t> sum(10, 0);
  EXPECT_FALSE(decode_secure_sum(sum, 3, central).ok());  // no CSPRNG for the noise
}

}  // namespace
}  // namespace fl::aggregation
