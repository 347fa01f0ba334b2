// Server optimisers: Reddi et al., ICLR 2021, Algorithm 2, checked against
// trajectories computed by hand (in double precision, outside this code).
#include "aggregation/server_optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace fl::aggregation {
namespace {

using proto::SERVER_OPTIMIZER_KIND_FEDADAGRAD;
using proto::SERVER_OPTIMIZER_KIND_FEDADAM;
using proto::SERVER_OPTIMIZER_KIND_FEDAVG;
using proto::SERVER_OPTIMIZER_KIND_FEDAVGM;
using proto::SERVER_OPTIMIZER_KIND_FEDYOGI;

// Weights are float; the hand computation is double. 2e-6 is a few float ulps
// at these magnitudes and far below any step the tests tell apart.
constexpr double kTolerance = 2e-6;

const std::vector<float> kStart = {1.0f, -2.0f, 0.5f};
const std::vector<float> kDelta1 = {0.1f, -0.2f, 0.0f};
const std::vector<float> kDelta2 = {0.3f, 0.1f, -0.4f};

std::unique_ptr<ServerOptimizer> make(ServerOptimizerConfig config) {
  auto optimizer = ServerOptimizer::create(config);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status().to_string();
  return std::move(optimizer).value();
}

ServerOptimizerConfig adaptive(ServerOptimizerKind kind) {
  ServerOptimizerConfig config;
  config.set_kind(kind);
  config.set_server_lr(0.1);  // beta1 = 0.9, beta2 = 0.99, tau = 1e-3: the defaults
  return config;
}

void expect_weights(const std::vector<float>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], kTolerance) << "coordinate " << i;
  }
}

// Runs both steps and checks the weights after each.
void expect_trajectory(ServerOptimizer& optimizer, const std::vector<double>& after_step1,
                       const std::vector<double>& after_step2) {
  std::vector<float> x = kStart;
  ASSERT_TRUE(optimizer.apply(x, kDelta1).ok());
  expect_weights(x, after_step1);
  ASSERT_TRUE(optimizer.apply(x, kDelta2).ok());
  expect_weights(x, after_step2);
  EXPECT_EQ(optimizer.steps(), 2u);
}

TEST(ServerOptimizer, FedAvgWithUnitLearningRateAddsTheMeanUpdate) {
  ServerOptimizerConfig config;
  config.set_kind(SERVER_OPTIMIZER_KIND_FEDAVG);
  auto optimizer = make(config);
  std::vector<float> x = kStart;
  ASSERT_TRUE(optimizer->apply(x, kDelta1).ok());
  EXPECT_EQ(x, (std::vector<float>{1.0f + 0.1f, -2.0f - 0.2f, 0.5f}));
}

TEST(ServerOptimizer, FedAvgScalesTheUpdateByTheServerLearningRate) {
  ServerOptimizerConfig config;
  config.set_kind(SERVER_OPTIMIZER_KIND_FEDAVG);
  config.set_server_lr(0.5);
  auto optimizer = make(config);
  std::vector<float> x = kStart;
  ASSERT_TRUE(optimizer->apply(x, kDelta2).ok());
  expect_weights(x, {1.15, -1.95, 0.3});
}

TEST(ServerOptimizer, FedAvgMAccumulatesMomentumAcrossRounds) {
  // beta = 0.9 (default), eta = 1. m1 = D1 = (0.1, -0.2, 0);
  // m2 = 0.9 * m1 + D2 = (0.39, -0.08, -0.4): the first round's update still
  // pushes the second step, unlike FedAvg which would move by D2 alone.
  ServerOptimizerConfig config;
  config.set_kind(SERVER_OPTIMIZER_KIND_FEDAVGM);
  auto optimizer = make(config);
  expect_trajectory(*optimizer, {1.1, -2.2, 0.5}, {1.49, -2.28, 0.1});
}

TEST(ServerOptimizer, FedAdagradFollowsTheHandComputedTrajectory) {
  // Coordinate 0, step 1: m = 0.1 * 0.1 = 0.01; v = 1e-6 + 0.01 = 0.010001;
  // x = 1 + 0.1 * 0.01 / (sqrt(0.010001) + 1e-3) = 1.0099005.
  auto optimizer = make(adaptive(SERVER_OPTIMIZER_KIND_FEDADAGRAD));
  expect_trajectory(*optimizer, {1.0099005, -2.00995012, 0.5},
                    {1.02219444, -2.01351187, 0.490024969});
}

TEST(ServerOptimizer, FedAdamFollowsTheHandComputedTrajectory) {
  // Coordinate 0, step 1: m = 0.01; v = 0.99e-6 + 0.01 * 0.01 = 1.0099e-4;
  // x = 1 + 0.1 * 0.01 / (sqrt(1.0099e-4) + 1e-3) = 1.09050283.
  auto optimizer = make(adaptive(SERVER_OPTIMIZER_KIND_FEDADAM));
  expect_trajectory(*optimizer, {1.09050283, -2.09512605, 0.5},
                    {1.21005236, -2.12947106, 0.402468164});
}

TEST(ServerOptimizer, FedYogiFollowsTheHandComputedTrajectory) {
  // Coordinate 0, step 1: v = 1e-6 - 0.01 * 0.01 * sign(1e-6 - 0.01) = 1.01e-4;
  // x = 1 + 0.1 * 0.01 / (sqrt(1.01e-4) + 1e-3) = 1.09049876. Yogi's v grows
  // additively where Adam's decays multiplicatively, so the two part ways.
  auto optimizer = make(adaptive(SERVER_OPTIMIZER_KIND_FEDYOGI));
  expect_trajectory(*optimizer, {1.09049876, -2.09512492, 0.5},
                    {1.20998923, -2.12933777, 0.402468755});
}

class ServerOptimizerEveryKind : public ::testing::TestWithParam<ServerOptimizerKind> {};

TEST_P(ServerOptimizerEveryKind, RestoredStateContinuesTheUninterruptedTrajectory) {
  ServerOptimizerConfig config;
  config.set_kind(GetParam());
  auto uninterrupted = make(config);
  auto before_restart = make(config);
  std::vector<float> x = kStart;
  std::vector<float> y = kStart;
  ASSERT_TRUE(uninterrupted->apply(x, kDelta1).ok());
  ASSERT_TRUE(before_restart->apply(y, kDelta1).ok());

  // The coordinator stores the weights and the state with the version, then restarts.
  const std::string saved = before_restart->serialize_state();
  before_restart.reset();
  auto after_restart = make(config);
  ASSERT_TRUE(after_restart->restore_state(saved).ok());
  EXPECT_EQ(after_restart->steps(), 1u);

  ASSERT_TRUE(uninterrupted->apply(x, kDelta2).ok());
  ASSERT_TRUE(after_restart->apply(y, kDelta2).ok());
  EXPECT_EQ(x, y);  // bit-identical: the moments are stored exactly
  EXPECT_EQ(uninterrupted->serialize_state(), after_restart->serialize_state());
}

TEST_P(ServerOptimizerEveryKind, RejectsAnUpdateOfTheWrongDimensionWithoutChange) {
  ServerOptimizerConfig config;
  config.set_kind(GetParam());
  auto optimizer = make(config);
  std::vector<float> x = kStart;
  const std::vector<float> short_update = {0.1f, 0.2f};
  EXPECT_EQ(optimizer->apply(x, short_update).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(x, kStart);
  EXPECT_EQ(optimizer->steps(), 0u);

  // After a step the dimension is fixed: a consistent but different-sized pair is refused.
  ASSERT_TRUE(optimizer->apply(x, kDelta1).ok());
  const std::string state = optimizer->serialize_state();
  std::vector<float> other = {1.0f, 2.0f};
  EXPECT_EQ(optimizer->apply(other, short_update).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(other, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(optimizer->serialize_state(), state);
}

TEST_P(ServerOptimizerEveryKind, RejectsANonFiniteUpdateWithoutChange) {
  ServerOptimizerConfig config;
  config.set_kind(GetParam());
  auto optimizer = make(config);
  std::vector<float> x = kStart;
  ASSERT_TRUE(optimizer->apply(x, kDelta1).ok());
  const std::vector<float> weights_before = x;
  const std::string state_before = optimizer->serialize_state();

  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    const std::vector<float> update = {0.1f, bad, 0.3f};
    const Status status = optimizer->apply(x, update);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
    EXPECT_EQ(x, weights_before);
    EXPECT_EQ(optimizer->serialize_state(), state_before);
  }
}

TEST_P(ServerOptimizerEveryKind, RejectsAStepThatWouldOverflowWithoutChange) {
  ServerOptimizerConfig config;
  config.set_kind(GetParam());
  config.set_server_lr(1e30);
  auto optimizer = make(config);
  const float big = std::numeric_limits<float>::max();
  std::vector<float> x = {big, 0.0f, 0.0f};
  const std::vector<float> update = {big, 1.0f, 1.0f};
  EXPECT_EQ(optimizer->apply(x, update).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(x, (std::vector<float>{big, 0.0f, 0.0f}));
  EXPECT_EQ(optimizer->steps(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ServerOptimizerEveryKind,
                         ::testing::Values(SERVER_OPTIMIZER_KIND_FEDAVG,
                                           SERVER_OPTIMIZER_KIND_FEDAVGM,
                                           SERVER_OPTIMIZER_KIND_FEDADAGRAD,
                                           SERVER_OPTIMIZER_KIND_FEDADAM,
                                           SERVER_OPTIMIZER_KIND_FEDYOGI),
                         [](const auto& info) {
                           return proto::ServerOptimizerKind_Name(info.param)
                               .substr(sizeof("SERVER_OPTIMIZER_KIND_") - 1);
                         });

TEST(ServerOptimizer, RestoreRefusesCorruptStateAndKeepsItsOwn) {
  auto optimizer = make(adaptive(SERVER_OPTIMIZER_KIND_FEDADAM));
  std::vector<float> x = kStart;
  ASSERT_TRUE(optimizer->apply(x, kDelta1).ok());
  const std::string good = optimizer->serialize_state();

  EXPECT_EQ(optimizer->restore_state("\xff\xff\xff garbage").code(), ErrorCode::kDataLoss);

  proto::ServerOptimizerState truncated;
  ASSERT_TRUE(truncated.ParseFromString(good));
  truncated.mutable_second_moment()->RemoveLast();
  EXPECT_EQ(optimizer->restore_state(truncated.SerializeAsString()).code(), ErrorCode::kDataLoss);

  proto::ServerOptimizerState negative;
  ASSERT_TRUE(negative.ParseFromString(good));
  negative.set_second_moment(0, -1.0f);
  EXPECT_EQ(optimizer->restore_state(negative.SerializeAsString()).code(), ErrorCode::kDataLoss);

  EXPECT_EQ(optimizer->serialize_state(), good);
}

TEST(ServerOptimizer, RestoreRefusesTheStateOfAnotherKind) {
  auto adam = make(adaptive(SERVER_OPTIMIZER_KIND_FEDADAM));
  auto yogi = make(adaptive(SERVER_OPTIMIZER_KIND_FEDYOGI));
  std::vector<float> x = kStart;
  ASSERT_TRUE(adam->apply(x, kDelta1).ok());
  EXPECT_EQ(yogi->restore_state(adam->serialize_state()).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(yogi->steps(), 0u);
}

TEST(ServerOptimizer, CreateRejectsUnusableConfigurations) {
  const auto rejected = [](ServerOptimizerConfig config) {
    return ServerOptimizer::create(config).status().code() == ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(rejected(ServerOptimizerConfig{}));  // kind unspecified

  ServerOptimizerConfig config = adaptive(SERVER_OPTIMIZER_KIND_FEDADAM);
  config.set_server_lr(0);
  EXPECT_TRUE(rejected(config));
  config = adaptive(SERVER_OPTIMIZER_KIND_FEDADAM);
  config.set_beta2(1.0);
  EXPECT_TRUE(rejected(config));
  config = adaptive(SERVER_OPTIMIZER_KIND_FEDYOGI);
  config.set_tau(0);
  EXPECT_TRUE(rejected(config));
  config = adaptive(SERVER_OPTIMIZER_KIND_FEDADAM);
  config.set_momentum(0.9);  // FedAvgM's knob on an adaptive optimiser: a likely typo
  EXPECT_TRUE(rejected(config));
  config.Clear();
  config.set_kind(SERVER_OPTIMIZER_KIND_FEDAVG);
  config.set_beta1(0.9);
  EXPECT_TRUE(rejected(config));
}

}  // namespace
}  // namespace fl::aggregation
