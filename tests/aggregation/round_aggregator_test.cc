// The server's update pipeline: the secure path (quantise, ring sum, decode)
// gives the float weighted mean within one quantisation step, the plain path
// gives the same next weights, and a refused step leaves the optimiser as it
// was.
#include "aggregation/round_aggregator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace fl::aggregation {
namespace {

ServerOptimizerConfig fedadam() {
  ServerOptimizerConfig c;
  c.set_kind(proto::SERVER_OPTIMIZER_KIND_FEDADAM);
  c.set_server_lr(0.1);
  return c;
}

ServerOptimizerConfig fedavg() {
  ServerOptimizerConfig c;
  c.set_kind(proto::SERVER_OPTIMIZER_KIND_FEDAVG);
  return c;
}

struct Client {
  std::vector<float> delta;
  uint64_t examples;
};

std::vector<Client> clients(size_t count, size_t dim, uint64_t seed) {
  crypto::SeededRng rng(seed);
  std::vector<Client> out;
  for (size_t k = 0; k < count; ++k) {
    Client c{std::vector<float>(dim), 1 + rng.uniform(500)};
    // Some clients far beyond C = 1, some well inside it.
    const double scale = k % 3 == 0 ? 2.0 : 0.02;
    for (auto& x : c.delta) x = static_cast<float>((rng.uniform01() * 2 - 1) * scale);
    out.push_back(std::move(c));
  }
  return out;
}

ClientUpdateConfig update_config() {
  ClientUpdateConfig c;
  c.quantization = {.clip = 0.5, .bits = 20, .ring = crypto::RingBits::k64, .max_weight = 400};
  c.l2_clip = 1.0;
  return c;
}

std::vector<uint64_t> ring_sum(const std::vector<std::vector<uint64_t>>& inputs) {
  std::vector<uint64_t> sum(inputs.at(0).size(), 0);
  for (const auto& v : inputs)
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];  // mod 2^64
  return sum;
}

TEST(RoundAggregator, SecureWeightedMeanEqualsTheFloatWeightedMeanWithinOneStep) {
  const ClientUpdateConfig config = update_config();
  const auto cohort = clients(12, 200, 1);
  crypto::SeededRng rng(2);
  std::vector<std::vector<uint64_t>> inputs;
  PlainUpdateSum plain(200);
  std::vector<double> expected(200, 0.0);
  double total = 0;
  for (const Client& c : cohort) {
    auto update = build_client_update(c.delta, c.examples, config, rng);
    ASSERT_TRUE(update.ok()) << update.status().to_string();
    inputs.push_back(std::move(update->ring));
    auto weighted = clip_and_weigh(c.delta, c.examples, config);
    ASSERT_TRUE(weighted.ok());
    ASSERT_TRUE(plain.add(*weighted).ok());
    // By hand: clip to norm 1, weight min(examples, 400).
    double n = 0;
    for (float x : c.delta) n += static_cast<double>(x) * x;
    n = std::sqrt(n);
    const double shrink = n > 1.0 ? 1.0 / n : 1.0;
    const double w = static_cast<double>(std::min<uint64_t>(c.examples, 400));
    for (size_t i = 0; i < 200; ++i) expected[i] += w * c.delta[i] * shrink;
    total += w;
  }
  RoundAggregatorConfig server;
  server.quantization = config.quantization;
  auto secure = decode_secure_sum(ring_sum(inputs), cohort.size(), server);
  auto clear = decode_plain_sum(plain, server);
  ASSERT_TRUE(secure.ok()) << secure.status().to_string();
  ASSERT_TRUE(clear.ok());
  EXPECT_DOUBLE_EQ(secure->stats.total_weight, total);
  EXPECT_DOUBLE_EQ(clear->stats.total_weight, total);
  EXPECT_EQ(secure->stats.included, cohort.size());
  const double step = quantization_step(config.quantization);
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_NEAR(secure->mean[i], expected[i] / total, step) << i;
    EXPECT_NEAR(clear->mean[i], expected[i] / total, 1e-6) << i;
  }
}

TEST(RoundAggregator, BothPathsEndInTheSameOptimiserStep) {
  const ClientUpdateConfig config = update_config();
  const auto cohort = clients(5, 50, 3);
  const std::vector<float> global(50, 0.25f);
  auto optimizer = ServerOptimizer::create(fedavg());
  ASSERT_TRUE(optimizer.ok());
  crypto::SeededRng rng(4);
  std::vector<std::vector<uint64_t>> inputs;
  PlainUpdateSum plain(50);
  for (const Client& c : cohort) {
    inputs.push_back(build_client_update(c.delta, c.examples, config, rng)->ring);
    ASSERT_TRUE(plain.add(*clip_and_weigh(c.delta, c.examples, config)).ok());
  }
  RoundAggregatorConfig server;
  server.quantization = config.quantization;
  auto secure =
      aggregate_secure_round(global, ring_sum(inputs), cohort.size(), server, **optimizer);
  auto mean = decode_plain_sum(plain, server);
  ASSERT_TRUE(secure.ok() && mean.ok());
  auto clear = step_server_optimizer(global, *mean, **optimizer);
  ASSERT_TRUE(clear.ok());
  for (size_t i = 0; i < 50; ++i)
    EXPECT_NEAR(secure->weights[i], clear->weights[i], quantization_step(config.quantization));
  EXPECT_EQ(secure->optimizer->steps(), 1u);
}

TEST(RoundAggregator, TheOptimiserIsUntouchedBySuccessAndByError) {
  const std::vector<float> global = {1.0f, 2.0f, 3.0f};
  auto optimizer = ServerOptimizer::create(fedadam());
  ASSERT_TRUE(optimizer.ok());
  MeanUpdate first{{0.1f, -0.2f, 0.3f}, {}};
  auto stepped = step_server_optimizer(global, first, **optimizer);
  ASSERT_TRUE(stepped.ok());
  // The caller's optimiser did not move; the copy did.
  EXPECT_EQ((*optimizer)->steps(), 0u);
  EXPECT_EQ(stepped->optimizer->steps(), 1u);
  ServerOptimizer& adopted = *stepped->optimizer;
  const std::string state = adopted.serialize_state();

  MeanUpdate wrong_size{{0.1f, 0.2f}, {}};
  MeanUpdate not_finite{{0.1f, NAN, 0.3f}, {}};
  MeanUpdate overflow{{3e38f, 3e38f, 3e38f}, {}};
  for (const MeanUpdate* bad : {&wrong_size, &not_finite, &overflow}) {
    auto refused = step_server_optimizer(stepped->weights, *bad, adopted);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(adopted.serialize_state(), state);

  // A secure sum that cannot be decoded is refused, naming the step.
  RoundAggregatorConfig server;
  server.quantization = update_config().quantization;
  auto zero_inputs =
      aggregate_secure_round(global, std::vector<uint64_t>(4, 0), 0, server, adopted);
  ASSERT_FALSE(zero_inputs.ok());
  EXPECT_NE(zero_inputs.status().message().find("cannot decode the secure sum"), std::string::npos);
  auto wrong_dimension =
      aggregate_secure_round(global, std::vector<uint64_t>{1, 2, 1}, 1, server, adopted);
  ASSERT_FALSE(wrong_dimension.ok());
  EXPECT_NE(wrong_dimension.status().message().find("server optimiser refused"), std::string::npos);
  EXPECT_EQ(adopted.serialize_state(), state);
}

TEST(RoundAggregator, PlainSumRefusesBadInputWithoutChange) {
  PlainUpdateSum sum(3);
  ASSERT_TRUE(sum.add(std::vector<float>{1, 2, 3}, 2.0).ok());
  EXPECT_FALSE(sum.add(std::vector<float>{1, 2}, 1.0).ok());
  EXPECT_FALSE(sum.add(std::vector<float>{1, NAN, 3}, 1.0).ok());
  EXPECT_FALSE(sum.add(std::vector<float>{1, 2, 3}, -1.0).ok());
  EXPECT_FALSE(sum.add(std::vector<float>{1, 2, 3}, INFINITY).ok());
  EXPECT_EQ(sum.inputs(), 1u);
  EXPECT_DOUBLE_EQ(sum.total_weight(), 2.0);
  auto mean = decode_plain_sum(sum, {});
  ASSERT_TRUE(mean.ok());
  EXPECT_EQ(mean->mean, (std::vector<float>{1, 2, 3}));
  EXPECT_FALSE(decode_plain_sum(PlainUpdateSum(3), {}).ok());  // nobody sent
  PlainUpdateSum weightless(1);
  ASSERT_TRUE(weightless.add(std::vector<float>{1}, 0.0).ok());
  EXPECT_FALSE(decode_plain_sum(weightless, {}).ok());
}

}  // namespace
}  // namespace fl::aggregation
