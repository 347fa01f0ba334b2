// Adaptive clipping through the one round pipeline (client_update.h,
// round_aggregator.h, dp_config.h's plan_adaptive_round), as the round engine
// and fl-sim run it: each client's unclipped bit rides in its secure
// aggregation input, the coordinator gets only the (noised) count, the mean
// is untouched by the extra element, the count noise has the promised
// variance, and the clip driven by these counts finds the median norm.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "aggregation/client_update.h"
#include "aggregation/dp/adaptive_clipping.h"
#include "aggregation/dp/dp_config.h"
#include "aggregation/dp/unclipped_count.h"
#include "aggregation/round_aggregator.h"
#include "crypto/rng.h"

namespace fl::aggregation {
namespace {

// A random direction of L2 norm `norm`.
std::vector<float> update_with_norm(size_t dim, double norm, uint64_t seed) {
  crypto::SeededRng rng(seed, "adaptive-pipeline.update");
  std::vector<double> v(dim);
  double sq = 0;
  for (auto& x : v) {
    x = dp::standard_normal(rng);
    sq += x * x;
  }
  std::vector<float> out(dim);
  for (size_t i = 0; i < dim; ++i) out[i] = static_cast<float>(v[i] * norm / std::sqrt(sq));
  return out;
}

// What secure aggregation unmasks: the element-wise sum in the ring.
std::vector<uint64_t> ring_sum(const std::vector<std::vector<uint64_t>>& inputs,
                               crypto::RingBits ring) {
  const uint64_t mask = ring == crypto::RingBits::k32 ? 0xffffffffull : ~uint64_t{0};
  std::vector<uint64_t> sum(inputs.at(0).size(), 0);
  for (const auto& in : inputs) {
    EXPECT_EQ(in.size(), sum.size());
    for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] + in[i]) & mask;
  }
  return sum;
}

struct Moments {
  double mean = 0, variance = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x / static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean) / static_cast<double>(v.size() - 1);
  return m;
}

dp::DpConfig dp_config(dp::DpMode mode, double z, double q, uint64_t population) {
  dp::DpConfig c;
  c.mode = mode;
  c.noise_multiplier = z;
  c.sampling_rate = q;
  c.population_size = population;
  c.target_delta = 1e-5;
  c.bits = 20;
  c.adaptive = dp::AdaptiveClippingConfig{};
  return c;
}

TEST(AdaptivePipeline, WithDpOffTheCountIsExactAndTheMeanIsUnchangedByTheBit) {
  constexpr size_t kDim = 64;
  constexpr int kClients = 30;
  const double clip = 1.0;
  for (uint64_t max_weight : {uint64_t{0}, uint64_t{100}}) {
    ClientUpdateConfig plain;
    plain.quantization = {
        .clip = 1.0, .bits = 20, .ring = crypto::RingBits::k32, .max_weight = max_weight};
    plain.l2_clip = clip;
    ClientUpdateConfig with_bit = plain;
    with_bit.unclipped_bit = true;
    EXPECT_EQ(client_input_dimension(with_bit, kDim), client_input_dimension(plain, kDim) + 1);

    std::vector<std::vector<uint64_t>> without, with;
    PlainUpdateSum plain_sum(kDim);
    uint64_t unclipped = 0;
    for (int k = 0; k < kClients; ++k) {
      const double norm = 0.1 * (k + 1);  // 0.1 .. 3.0: ten are within C = 1
      unclipped += norm <= clip ? 1 : 0;
      const auto delta = update_with_norm(kDim, norm, k);
      crypto::SeededRng r1(k), r2(k);
      auto a = build_client_update(delta, 10 + k, plain, r1);
      auto b = build_client_update(delta, 10 + k, with_bit, r2);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(b->ring.size(), client_input_dimension(with_bit, kDim));
      // The bit is appended after everything else; the rest is bit-identical.
      EXPECT_TRUE(std::equal(a->ring.begin(), a->ring.end(), b->ring.begin()));
      EXPECT_EQ(b->ring.back(), norm <= clip ? 1u : 0u);
      without.push_back(a->ring);
      with.push_back(b->ring);
      auto w = clip_and_weigh(delta, 10 + k, with_bit);
      ASSERT_TRUE(w.ok());
      ASSERT_TRUE(plain_sum.add(*w).ok());
    }
    ASSERT_EQ(unclipped, 10u);
    RoundAggregatorConfig server;
    server.quantization = plain.quantization;
    auto reference =
        decode_secure_sum(ring_sum(without, plain.quantization.ring), kClients, server);
    server.unclipped_bit = true;
    auto decoded = decode_secure_sum(ring_sum(with, plain.quantization.ring), kClients, server);
    ASSERT_TRUE(reference.ok() && decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ(decoded->mean, reference->mean) << "max_weight " << max_weight;
    EXPECT_EQ(decoded->stats.total_weight, reference->stats.total_weight);
    EXPECT_FALSE(reference->stats.noised_unclipped_count.has_value());
    ASSERT_TRUE(decoded->stats.noised_unclipped_count.has_value());
    EXPECT_EQ(*decoded->stats.noised_unclipped_count, 10.0);
    EXPECT_EQ(decoded->stats.unclipped_count_cohort, double(kClients));

    // The plain path (secure aggregation off) counts the same clients.
    auto plain_mean = decode_plain_sum(plain_sum, server);
    ASSERT_TRUE(plain_mean.ok()) << plain_mean.status().to_string();
    EXPECT_EQ(plain_mean->stats.noised_unclipped_count, 10.0);
  }
}

TEST(AdaptivePipeline, CentralCountCarriesNoiseOfStddevSigmaBAndValuesOfZDeltaTimesC) {
  constexpr size_t kDim = 2048;
  constexpr int kClients = 40;
  // z = 3 with sigma_b = 40 / 20 = 2: z_delta = (1/9 - 1/16)^(-1/2) = 4.54,
  // far enough from z that the value noise test tells them apart.
  const dp::DpConfig cfg = dp_config(dp::DpMode::kCentral, 3.0, 0.04, 1000);
  ASSERT_TRUE(dp::check_dp_config(cfg).ok()) << dp::check_dp_config(cfg).to_string();
  auto plan = dp::plan_adaptive_round(cfg, 0.5, kClients);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->clip, 0.5);
  EXPECT_EQ(plan->count_noise_stddev, 2.0);
  EXPECT_NEAR(plan->z_value, 1 / std::sqrt(1.0 / 9 - 1.0 / 16), 1e-12);

  ClientUpdateConfig cu;
  cu.quantization = {.clip = plan->clip, .bits = 24, .ring = crypto::RingBits::k32};
  cu.l2_clip = plan->clip;
  cu.unclipped_bit = true;
  std::vector<std::vector<uint64_t>> inputs;
  std::vector<double> clipped_sum(kDim, 0.0);
  uint64_t unclipped = 0;
  for (int k = 0; k < kClients; ++k) {
    const double norm = k % 4 == 0 ? 0.3 : 0.9;  // a quarter within the clip
    unclipped += norm <= plan->clip ? 1 : 0;
    const auto delta = update_with_norm(kDim, norm, 100 + k);
    for (size_t i = 0; i < kDim; ++i) clipped_sum[i] += delta[i] * std::min(1.0, plan->clip / norm);
    crypto::SeededRng rng(k);
    auto u = build_client_update(delta, 1, cu, rng);
    ASSERT_TRUE(u.ok());
    inputs.push_back(u->ring);
  }
  const auto sum = ring_sum(inputs, cu.quantization.ring);

  RoundAggregatorConfig ra;
  ra.quantization = cu.quantization;
  ra.dp_mode = dp::DpMode::kCentral;
  ra.noise_multiplier = plan->z_value;
  ra.l2_clip = plan->clip;
  ra.expected_clients = cfg.expected_clients();
  ra.unclipped_bit = true;
  ra.count_noise_stddev = plan->count_noise_stddev;

  std::vector<double> count_errors;
  for (uint64_t trial = 0; trial < 3000; ++trial) {
    crypto::SeededRng noise(trial, "adaptive-pipeline.central-noise");
    ra.noise_rng = &noise;
    auto mean = decode_secure_sum(sum, kClients, ra);
    ASSERT_TRUE(mean.ok()) << mean.status().to_string();
    ASSERT_TRUE(mean->stats.noised_unclipped_count.has_value());
    EXPECT_EQ(mean->stats.unclipped_count_cohort, 40.0);
    count_errors.push_back(*mean->stats.noised_unclipped_count - static_cast<double>(unclipped));
    if (trial == 0) {
      // Value noise of stddev z_delta * C on the clipped sum.
      double sq = 0;
      for (size_t i = 0; i < kDim; ++i) {
        const double e = mean->mean[i] * ra.expected_clients - clipped_sum[i];
        sq += e * e;
      }
      const double promised = plan->z_value * plan->clip;
      EXPECT_NEAR(std::sqrt(sq / kDim), promised, 0.06 * promised);
      // The same noise stream without the bit gives the same mean.
      crypto::SeededRng again(trial, "adaptive-pipeline.central-noise");
      RoundAggregatorConfig no_bit = ra;
      no_bit.unclipped_bit = false;
      no_bit.noise_rng = &again;
      auto reference =
          decode_secure_sum(std::span<const uint64_t>(sum).first(sum.size() - 1), kClients, no_bit);
      ASSERT_TRUE(reference.ok());
      EXPECT_EQ(reference->mean, mean->mean);
    }
  }
  const Moments m = moments(count_errors);
  std::printf("central: count error mean %.3f, variance %.3f (promised 0, %.3f)\n", m.mean,
              m.variance, 4.0);
  EXPECT_NEAR(m.mean, 0, 4 * 2.0 / std::sqrt(3000.0));
  EXPECT_NEAR(m.variance, 4.0, 0.1 * 4.0);  // relative standard error sqrt(2/3000) = 2.6%
}

TEST(AdaptivePipeline, DistributedCountIsNoisedByTheClientsWithThePromisedVariance) {
  constexpr size_t kDim = 16;
  const dp::DpConfig cfg = dp_config(dp::DpMode::kDistributed, 1.0, 0.05, 1000);  // 50 expected
  ASSERT_TRUE(dp::check_dp_for_model(cfg, kDim, 32).ok())
      << dp::check_dp_for_model(cfg, kDim, 32).to_string();
  auto plan = dp::plan_adaptive_round(cfg, 0.5, 50);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(plan->count_noise_stddev, 2.5);
  auto d = dp::distributed_config(cfg, *plan, kDim);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_DOUBLE_EQ(d->noise_stddev, plan->z_value * 0.5);  // the inflated value noise

  ClientUpdateConfig sent;
  sent.l2_clip = plan->clip;
  sent.distributed_dp = *d;
  sent.unclipped_bit = true;
  sent.count_noise_stddev = plan->count_noise_stddev;
  crypto::SeededRng seed_rng(5);
  sent.rotation_seed = seed_rng.key32();
  auto cu = client_update_config(quantization_plan(sent));  // as a device receives it
  ASSERT_TRUE(cu.ok()) << cu.status().to_string();
  EXPECT_EQ(client_input_dimension(*cu, kDim), kDim + 1);

  RoundAggregatorConfig ra;
  ra.dp_mode = dp::DpMode::kDistributed;
  ra.expected_clients = cfg.expected_clients();
  ra.distributed = *d;
  ra.rotation_seed = sent.rotation_seed;
  ra.unclipped_bit = true;
  ra.count_noise_stddev = plan->count_noise_stddev;

  for (int survivors : {50, 25}) {
    std::vector<double> count_errors;
    const int trials = 2000;
    for (int trial = 0; trial < trials; ++trial) {
      std::vector<std::vector<uint64_t>> inputs;
      uint64_t unclipped = 0;
      for (int k = 0; k < survivors; ++k) {
        const double norm = k % 5 == 0 ? 0.2 : 0.8;
        unclipped += norm <= plan->clip ? 1 : 0;
        crypto::SeededRng rng(uint64_t(trial) * 1000 + k, "adaptive-pipeline.client");
        auto u = build_client_update(update_with_norm(kDim, norm, k), 1, *cu, rng);
        ASSERT_TRUE(u.ok()) << u.status().to_string();
        ASSERT_EQ(u->stats.wrapped, 0u);
        inputs.push_back(std::move(u->ring));
      }
      const auto sum = ring_sum(inputs, crypto::RingBits::k32);
      auto mean = decode_secure_sum(sum, survivors, ra);
      ASSERT_TRUE(mean.ok()) << mean.status().to_string();
      ASSERT_TRUE(mean->stats.noised_unclipped_count.has_value());
      EXPECT_EQ(mean->stats.unclipped_count_cohort, 50.0);
      // Each missing client counts as half unclipped (the centred estimate).
      count_errors.push_back(*mean->stats.noised_unclipped_count - double(unclipped) -
                             (50.0 - survivors) / 2);
      if (trial == 0) {
        RoundAggregatorConfig no_bit = ra;
        no_bit.unclipped_bit = false;
        auto reference =
            decode_secure_sum(std::span<const uint64_t>(sum).first(kDim), survivors, no_bit);
        ASSERT_TRUE(reference.ok());
        EXPECT_EQ(reference->mean, mean->mean);
      }
    }
    // sigma_b^2 scaled by the survivors' share of the noise.
    const double promised = 2.5 * 2.5 * survivors / 50.0;
    const Moments m = moments(count_errors);
    std::printf("distributed, %d of 50: count error mean %.3f, variance %.3f (promised 0, %.3f)\n",
                survivors, m.mean, m.variance, promised);
    EXPECT_NEAR(m.mean, 0, 4 * std::sqrt(promised / trials));
    EXPECT_NEAR(m.variance, promised, 0.12 * promised);  // relative standard error 3.2%
  }
}

// A synthetic population's update norms: log-normal, median 2.
std::vector<double> population_norms(size_t n) {
  crypto::SeededRng rng(21, "adaptive-pipeline.norms");
  std::vector<double> norms(n);
  for (auto& v : norms) v = 2.0 * std::exp(0.5 * dp::standard_normal(rng));
  return norms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One round: plan, clients' inputs, secure sum, decode, clip update.
void run_round(const dp::DpConfig& cfg, dp::AdaptiveClipping& clipping,
               const std::vector<double>& norms, int round, crypto::Rng& rng) {
  constexpr size_t kDim = 8;
  constexpr uint64_t kCohort = 100;
  auto plan = dp::plan_adaptive_round(cfg, clipping.clip(), kCohort);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ClientUpdateConfig cu;
  cu.l2_clip = plan->clip;
  cu.unclipped_bit = true;
  RoundAggregatorConfig ra;
  ra.dp_mode = cfg.mode;
  ra.noise_multiplier = plan->z_value;
  ra.l2_clip = plan->clip;
  ra.expected_clients = cfg.expected_clients();
  ra.unclipped_bit = true;
  ra.count_noise_stddev = plan->count_noise_stddev;
  ra.noise_rng = &rng;
  if (cfg.mode == dp::DpMode::kDistributed) {
    auto d = dp::distributed_config(cfg, *plan, kDim);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    cu.distributed_dp = *d;
    cu.count_noise_stddev = plan->count_noise_stddev;
    cu.rotation_seed = rng.key32();
    ra.distributed = *d;
    ra.rotation_seed = cu.rotation_seed;
  } else {
    cu.quantization = {.clip = plan->clip, .bits = 16, .ring = crypto::RingBits::k32};
    ra.quantization = cu.quantization;
  }
  std::vector<std::vector<uint64_t>> inputs;
  for (uint64_t k = 0; k < kCohort; ++k) {
    const double norm = norms[rng.uniform(norms.size())];
    auto u = build_client_update(update_with_norm(kDim, norm, round * kCohort + k), 1, cu, rng);
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    inputs.push_back(std::move(u->ring));
  }
  auto mean = decode_secure_sum(ring_sum(inputs, crypto::RingBits::k32), kCohort, ra);
  ASSERT_TRUE(mean.ok()) << mean.status().to_string();
  ASSERT_TRUE(mean->stats.noised_unclipped_count.has_value());
  ASSERT_TRUE(
      clipping.update(*mean->stats.noised_unclipped_count, mean->stats.unclipped_count_cohort)
          .ok());
}

TEST(AdaptivePipeline, ClipDrivenByTheSecureCountsConvergesToTheMedianNorm) {
  const auto norms = population_norms(10000);
  const double true_median = median(norms);
  for (dp::DpMode mode : {dp::DpMode::kCentral, dp::DpMode::kDistributed}) {
    const dp::DpConfig cfg = dp_config(mode, 1.0, 0.1, 1000);  // 100 per round, sigma_b 5
    ASSERT_TRUE(dp::check_dp_config(cfg).ok());
    auto clipping = dp::AdaptiveClipping::create(*cfg.adaptive);  // 0.1, target 0.5, lr 0.2
    ASSERT_TRUE(clipping.ok());
    crypto::SeededRng rng(3, "adaptive-pipeline.rounds");
    double late = 0;
    for (int round = 0; round < 200; ++round) {
      ASSERT_NO_FATAL_FAILURE(run_round(cfg, *clipping, norms, round, rng));
      if (round >= 100) late += clipping->clip() / 100;
    }
    std::printf("%s: clip over rounds 100-199 %.4f, median norm %.4f (%.1f%%)\n",
                std::string(dp::dp_mode_name(mode)).c_str(), late, true_median,
                100 * (late / true_median - 1));
    // From 0.1, twenty times too small; the late clips' mean sits within a
    // few per cent of the median (its jitter at 100 clients and sigma_b 5 is
    // about 1%).
    EXPECT_NEAR(late, true_median, 0.04 * true_median) << dp::dp_mode_name(mode);
  }
}

TEST(AdaptiveWireForm, RoundTripsAndOlderPlansParseAsOff) {
  ClientUpdateConfig central;
  central.quantization = {.clip = 0.5, .bits = 16, .ring = crypto::RingBits::k32};
  central.l2_clip = 0.5;
  central.unclipped_bit = true;
  auto back = client_update_config(quantization_plan(central));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->unclipped_bit);
  EXPECT_EQ(client_input_dimension(*back, 100), 101u);

  const dp::DpConfig cfg = dp_config(dp::DpMode::kDistributed, 1.0, 0.1, 1000);
  auto plan = dp::plan_adaptive_round(cfg, 0.7, 100);
  ASSERT_TRUE(plan.ok());
  ClientUpdateConfig distributed;
  distributed.l2_clip = 0.7;
  distributed.distributed_dp = *dp::distributed_config(cfg, *plan, 1000);
  distributed.unclipped_bit = true;
  distributed.count_noise_stddev = plan->count_noise_stddev;
  back = client_update_config(quantization_plan(distributed));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->unclipped_bit);
  EXPECT_EQ(back->count_noise_stddev, 5.0);
  EXPECT_EQ(client_input_dimension(*back, 1000), 1025u);

  // A plan written before the field existed.
  proto::QuantizationPlan old_plan = quantization_plan(central);
  old_plan.clear_unclipped_bit();
  back = client_update_config(old_plan);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->unclipped_bit);
  EXPECT_EQ(client_input_dimension(*back, 100), 100u);
}

TEST(AdaptiveWireForm, APlanWithTheBitButABadSigmaIsRefused) {
  const dp::DpConfig cfg = dp_config(dp::DpMode::kDistributed, 1.0, 0.1, 1000);
  auto plan = dp::plan_adaptive_round(cfg, 0.7, 100);
  ASSERT_TRUE(plan.ok());
  ClientUpdateConfig distributed;
  distributed.l2_clip = 0.7;
  distributed.distributed_dp = *dp::distributed_config(cfg, *plan, 1000);
  distributed.unclipped_bit = true;
  const proto::QuantizationPlan good = quantization_plan(distributed);
  for (double sigma : {0.0, -1.0, double(NAN), double(INFINITY), 1e9}) {
    proto::QuantizationPlan bad = good;
    bad.mutable_distributed_dp()->set_count_noise_stddev(sigma);
    auto refused = client_update_config(bad);
    ASSERT_FALSE(refused.ok()) << sigma;
    EXPECT_NE(refused.status().message().find("count_noise_stddev"), std::string::npos)
        << refused.status().message();
  }
  // Without a clip there is nothing to report on.
  ClientUpdateConfig no_clip;
  no_clip.unclipped_bit = true;
  auto refused = client_update_config(quantization_plan(no_clip));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().rfind("l2_clip", 0), 0u) << refused.status().message();
}

TEST(AdaptiveDpConfig, RefusesBadSettingsNamingTheKey) {
  auto refused_with = [](const dp::DpConfig& c, const std::string& key) {
    Status s = dp::check_dp_config(c);
    if (s.ok()) s = dp::check_dp_for_model(c, 1000, 32);
    ASSERT_FALSE(s.ok()) << key;
    EXPECT_EQ(s.message().rfind(key + ":", 0), 0u) << s.message();
  };
  const dp::DpConfig ok = dp_config(dp::DpMode::kCentral, 1.0, 0.1, 1000);
  ASSERT_TRUE(dp::check_dp_config(ok).ok());
  auto c = ok;
  c.adaptive->target_quantile = 1.0;
  refused_with(c, "dp.adaptive_clipping.target_quantile");
  c = ok;
  c.adaptive->learning_rate = 0;
  refused_with(c, "dp.adaptive_clipping.learning_rate");
  c = ok;
  c.adaptive->initial_clip = -1;
  refused_with(c, "dp.adaptive_clipping.initial_clip");
  c = ok;
  c.adaptive->count_stddev = -2;
  refused_with(c, "dp.adaptive_clipping.count_stddev");
  c = ok;
  c.adaptive->count_stddev = 0.4;  // 2 sigma_b <= z: the count would spend the whole budget
  refused_with(c, "dp.adaptive_clipping.count_stddev");
  c = ok;
  c.noise_multiplier = 12;  // the default sigma_b = 100 / 20 = 5 is too small for z = 12
  refused_with(c, "dp.adaptive_clipping.count_stddev");
  c = ok;
  c.clip = 0.5;  // a fixed clip as well: which one?
  refused_with(c, "dp.clip");
  c = ok;
  c.mode = dp::DpMode::kOff;
  c.adaptive->target_quantile = 0;  // checked with DP off too
  refused_with(c, "dp.adaptive_clipping.target_quantile");

  // The fixed-clip encoding cannot be built by mistake for an adaptive round.
  c = ok;
  c.mode = dp::DpMode::kDistributed;
  EXPECT_FALSE(dp::distributed_config(c, 1000).ok());
  // A modulus that holds the values but not the bits' sum: 100 expected
  // clients, m = 2 (the unscaled share 2 * 5 / 10 = 1 is below 2), about
  // 2 (100 + 4 (10 + 10)) = 360 > 2^8.
  c.bits = 9;
  dp::DpConfig fixed = c;
  fixed.adaptive.reset();
  fixed.clip = 0.1;
  ASSERT_TRUE(dp::check_dp_for_model(fixed, 1000, 32).ok())
      << dp::check_dp_for_model(fixed, 1000, 32).to_string();
  Status s = dp::check_dp_for_model(c, 1000, 32);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("adaptive clipping bits"), std::string::npos) << s.message();

  // Off mode: the count is exact and the values carry no noise.
  c = ok;
  c.mode = dp::DpMode::kOff;
  auto plan = dp::plan_adaptive_round(c, 0.3, 100);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->clip, 0.3);
  EXPECT_EQ(plan->z_value, 0);
  EXPECT_EQ(plan->count_noise_stddev, 0);
  EXPECT_FALSE(dp::plan_adaptive_round(ok, 0, 100).ok());
}

}  // namespace
}  // namespace fl::aggregation
