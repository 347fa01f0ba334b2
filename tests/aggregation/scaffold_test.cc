// SCAFFOLD through the one pipeline (aggregation/scaffold.h): the secure
// aggregate of [delta_y, delta_c] equals the clear-text reference, the global
// control variate travels with the version's optimiser state, and on a
// problem whose clients disagree SCAFFOLD ends closer to the optimum than
// FedAvg in the same rounds.
#include "aggregation/scaffold.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aggregation/round_aggregator.h"

namespace fl::aggregation {
namespace {

ServerOptimizerConfig fedavg() {
  ServerOptimizerConfig c;
  c.set_kind(proto::SERVER_OPTIMIZER_KIND_FEDAVG);
  return c;
}

std::vector<uint64_t> ring_sum(const std::vector<std::vector<uint64_t>>& inputs) {
  std::vector<uint64_t> sum(inputs.at(0).size(), 0);
  for (const auto& v : inputs)
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];  // mod 2^64
  return sum;
}

TEST(Scaffold, SecureAggregateEqualsTheClearTextReference) {
  constexpr size_t kDim = 64, kClients = 9;
  constexpr uint64_t kPopulation = 30;
  ClientUpdateConfig config;
  config.quantization = {.clip = 1.0, .bits = 24, .ring = crypto::RingBits::k64, .max_weight = 300};
  config.control_variate = true;
  ASSERT_EQ(client_input_dimension(config, kDim), 2 * kDim + 1);  // the doubled upload

  crypto::SeededRng data_rng(11), quantize_rng(12);
  std::vector<float> x(kDim), c(kDim);
  for (auto& v : x) v = static_cast<float>(data_rng.uniform01() - 0.5);
  for (auto& v : c) v = static_cast<float>(0.1 * (data_rng.uniform01() - 0.5));

  std::vector<std::vector<uint64_t>> inputs;
  std::vector<double> dy_sum(kDim, 0), dc_sum(kDim, 0);
  double total_weight = 0;
  for (size_t k = 0; k < kClients; ++k) {
    const uint64_t examples = 20 + data_rng.uniform(400);
    std::vector<float> y(kDim), ci(kDim);
    for (size_t i = 0; i < kDim; ++i) {
      y[i] = x[i] + static_cast<float>(0.2 * (data_rng.uniform01() - 0.5));
      ci[i] = static_cast<float>(0.1 * (data_rng.uniform01() - 0.5));
    }
    const double travel = 0.05 * static_cast<double>(10 + k);  // K x lr, per client
    auto step = step_control_variate(x, y, c, ci, travel);
    ASSERT_TRUE(step.ok()) << step.status().to_string();
    auto update = build_scaffold_client_update(x, y, step->delta, examples, config, quantize_rng);
    ASSERT_TRUE(update.ok()) << update.status().to_string();
    inputs.push_back(std::move(update->ring));
    // The reference, by the paper's formulas in double.
    const double w = static_cast<double>(std::min<uint64_t>(examples, 300));
    total_weight += w;
    for (size_t i = 0; i < kDim; ++i) {
      const double ci_next = ci[i] - c[i] + (static_cast<double>(x[i]) - y[i]) / travel;
      dy_sum[i] += w * (static_cast<double>(y[i]) - x[i]);
      dc_sum[i] += w * (ci_next - ci[i]);
      EXPECT_NEAR(step->next[i], ci_next, 1e-5);
    }
  }
  RoundAggregatorConfig aggregator;
  aggregator.quantization = config.quantization;
  aggregator.control_variate = true;
  aggregator.global_control = c;
  aggregator.population_size = kPopulation;
  auto optimizer = ServerOptimizer::create(fedavg());
  ASSERT_TRUE(optimizer.ok());
  auto next = aggregate_secure_round(x, ring_sum(inputs), kClients, aggregator, **optimizer);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  ASSERT_EQ(next->weights.size(), kDim);
  ASSERT_EQ(next->global_control.size(), kDim);
  const double step = quantization_step(config.quantization);
  const double participation = static_cast<double>(kClients) / kPopulation;
  for (size_t i = 0; i < kDim; ++i) {
    EXPECT_NEAR(next->weights[i], x[i] + dy_sum[i] / total_weight, step + 1e-6) << i;
    EXPECT_NEAR(next->global_control[i], c[i] + participation * dc_sum[i] / total_weight,
                participation * step + 1e-6)
        << i;
  }
}

TEST(Scaffold, GlobalControlTravelsInTheOptimizerStateAndDefaultsToZero) {
  auto optimizer = ServerOptimizer::create(fedavg());
  ASSERT_TRUE(optimizer.ok());
  const std::string state = (*optimizer)->serialize_state();
  auto none = global_control_of(state, 3);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::vector<float>(3, 0.0f));
  auto saved = with_global_control(state, std::vector<float>{0.5f, -1.0f, 2.0f});
  ASSERT_TRUE(saved.ok());
  auto back = global_control_of(*saved, 3);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<float>{0.5f, -1.0f, 2.0f}));
  EXPECT_TRUE((*optimizer)->restore_state(*saved).ok());  // the optimiser still reads its part
  EXPECT_EQ(global_control_of(*saved, 4).status().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(global_control_of("\xff\xff", 3).status().code(), ErrorCode::kDataLoss);
}

TEST(Scaffold, RefusesWhatWouldBreakItsUpdateOrPrivacy) {
  EXPECT_NE(scaffold_refusal(true, 0, "sgd").find("dp"), std::string::npos);
  EXPECT_NE(scaffold_refusal(false, 1.0, "sgd").find("L2 clip"), std::string::npos);
  EXPECT_NE(scaffold_refusal(false, 0, "adam").find("sgd"), std::string::npos);
  EXPECT_EQ(scaffold_refusal(false, 0, "sgd"), "");
  ClientUpdateConfig config;
  config.control_variate = true;
  EXPECT_TRUE(check_client_update_config(config).ok());
  config.l2_clip = 1.0;
  EXPECT_EQ(check_client_update_config(config).message().rfind("control_variate: ", 0), 0u);
  // The flag survives the task's wire form.
  config.l2_clip = 0;
  auto back = client_update_config(quantization_plan(config));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->control_variate);
  std::vector<float> x(4, 0.0f), y(4, 0.1f), c(4, 0.0f);
  EXPECT_FALSE(step_control_variate(x, y, c, {}, 0.0).ok());  // no step taken: no estimate
  EXPECT_FALSE(step_control_variate(x, y, std::vector<float>(3), {}, 1.0).ok());
  EXPECT_FALSE(step_global_control(c, c, 1.5).ok());  // |S| > N
  EXPECT_FALSE(parse_training_algorithm("fedsgd").ok());
  EXPECT_EQ(*parse_training_algorithm(""), TrainingAlgorithm::kFedAvg);
}

// Two clients with opposite optima and different curvatures,
// f_i(x) = h_i/2 (x - o_i)^2 per coordinate: FedAvg's local steps drift to
// each client's optimum, so the average of the endpoints settles away from
// the global optimum sum(h_i o_i)/sum(h_i); SCAFFOLD's correction removes the
// drift. Both run the pipeline end to end (quantise, ring sum, decode, step).
double distance_after(bool scaffold, int rounds) {
  constexpr size_t kDim = 4;
  constexpr int kSteps = 20;
  constexpr double kLr = 0.05;
  const double h[2] = {1.0, 10.0}, o[2] = {1.0, -1.0};
  const double optimum = (h[0] * o[0] + h[1] * o[1]) / (h[0] + h[1]);
  ClientUpdateConfig config;
  config.quantization = {.clip = 4.0, .bits = 24, .ring = crypto::RingBits::k64, .max_weight = 0};
  config.control_variate = scaffold;
  RoundAggregatorConfig aggregator;
  aggregator.quantization = config.quantization;
  aggregator.control_variate = scaffold;
  aggregator.population_size = 2;
  auto optimizer = ServerOptimizer::create(fedavg());
  std::vector<float> x(kDim, 0.0f), c(kDim, 0.0f);
  std::vector<float> ci[2] = {std::vector<float>(kDim, 0.0f), std::vector<float>(kDim, 0.0f)};
  crypto::SeededRng rng(3);
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::vector<uint64_t>> inputs;
    std::vector<float> next_ci[2];
    for (int k = 0; k < 2; ++k) {
      auto correction = gradient_correction(c, ci[k]);
      std::vector<float> y = x;
      for (int s = 0; s < kSteps; ++s)
        for (size_t i = 0; i < kDim; ++i)
          y[i] -=
              static_cast<float>(kLr * (h[k] * (y[i] - o[k]) + (scaffold ? (*correction)[i] : 0)));
      Result<ClientUpdate> update = Internal("unset");
      if (scaffold) {
        auto step = step_control_variate(x, y, c, ci[k], kSteps * kLr);
        EXPECT_TRUE(step.ok());
        next_ci[k] = step->next;
        update = build_scaffold_client_update(x, y, step->delta, 1, config, rng);
      } else {
        update = build_client_update(x, y, 1, config, rng);
      }
      EXPECT_TRUE(update.ok()) << update.status().to_string();
      inputs.push_back(update->ring);
    }
    aggregator.global_control = c;
    auto next = aggregate_secure_round(x, ring_sum(inputs), 2, aggregator, **optimizer);
    EXPECT_TRUE(next.ok()) << next.status().to_string();
    x = next->weights;
    if (scaffold) {
      c = next->global_control;
      ci[0] = next_ci[0];
      ci[1] = next_ci[1];
    }
  }
  double d = 0;
  for (float v : x) d = std::max(d, std::abs(v - optimum));
  return d;
}

TEST(Scaffold, ConvergesCloserToTheOptimumThanFedAvgWhenClientsDisagree) {
  const double fedavg_distance = distance_after(false, 30);
  const double scaffold_distance = distance_after(true, 30);
  EXPECT_GT(fedavg_distance, 0.3) << "the problem should make FedAvg drift";
  EXPECT_LT(scaffold_distance, 0.02) << "fedavg " << fedavg_distance;
}

}  // namespace
}  // namespace fl::aggregation
