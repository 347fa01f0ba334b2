// The local learning rate per federated round (model/round_lr_schedule.h):
// what the coordinator puts in each round's TrainingPlan and what fl-sim's
// clients train with.
#include "model/round_lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fl::model {
namespace {

RoundLrSchedule schedule(RoundLrScheduleKind kind, double lr, double decay, double lr_min,
                         uint32_t rounds) {
  RoundLrSchedule s;
  s.kind = kind;
  s.lr = lr;
  s.lr_decay = decay;
  s.lr_min = lr_min;
  s.rounds = rounds;
  return s;
}

TEST(RoundLrSchedule, ConstantKeepsTheFirstRoundsRate) {
  const auto s = schedule(RoundLrScheduleKind::kConstant, 0.05, 0.5, 0.01, 100);
  ASSERT_FALSE(check_round_lr_schedule(s));
  for (uint64_t t : {0u, 1u, 99u, 1000u}) EXPECT_DOUBLE_EQ(round_learning_rate(s, t), 0.05);
}

TEST(RoundLrSchedule, ExponentialMultipliesByTheDecayEachRoundDownToTheFloor) {
  const auto s = schedule(RoundLrScheduleKind::kExponential, 0.1, 0.9, 0.02, 100);
  ASSERT_FALSE(check_round_lr_schedule(s));
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 0), 0.1);
  EXPECT_NEAR(round_learning_rate(s, 1), 0.09, 1e-12);
  EXPECT_NEAR(round_learning_rate(s, 10), 0.1 * std::pow(0.9, 10), 1e-12);
  // 0.1 * 0.9^16 = 0.0185 < 0.02: the floor holds from then on, even where
  // 0.9^t underflows.
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 16), 0.02);
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 100000), 0.02);
}

TEST(RoundLrSchedule, CosineGoesFromLrToLrMinOverTheRunAndKeepsTheLastRoundTraining) {
  const auto s = schedule(RoundLrScheduleKind::kCosine, 0.08, 1.0, 0.01, 100);
  ASSERT_FALSE(check_round_lr_schedule(s));
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 0), 0.08);
  EXPECT_NEAR(round_learning_rate(s, 50), 0.045, 1e-12);  // half-way: the mean of the ends
  const double last = round_learning_rate(s, 99);
  EXPECT_GT(last, 0.01);
  EXPECT_LT(last, 0.0101);
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 100), 0.01);  // past the horizon
  EXPECT_DOUBLE_EQ(round_learning_rate(s, 5000), 0.01);
  double previous = 1;
  for (uint64_t t = 0; t < 100; ++t) {  // never rises, never leaves [lr_min, lr]
    const double lr = round_learning_rate(s, t);
    EXPECT_LE(lr, previous);
    EXPECT_GE(lr, 0.01);
    previous = lr;
  }
}

TEST(RoundLrSchedule, CosineToZeroStillTrainsInTheLastRound) {
  const auto s = schedule(RoundLrScheduleKind::kCosine, 0.05, 1.0, 0.0, 10);
  EXPECT_GT(round_learning_rate(s, 9), 0.0);
}

TEST(RoundLrSchedule, BadSettingsAreRefusedNamingTheKey) {
  struct Case {
    RoundLrSchedule s;
    const char* key;
  };
  const Case cases[] = {
      {schedule(RoundLrScheduleKind::kConstant, 0.0, 1.0, 0.0, 10), "lr"},
      {schedule(RoundLrScheduleKind::kConstant, NAN, 1.0, 0.0, 10), "lr"},
      {schedule(RoundLrScheduleKind::kExponential, 0.1, 0.0, 0.0, 10), "lr_decay"},
      {schedule(RoundLrScheduleKind::kExponential, 0.1, 1.5, 0.0, 10), "lr_decay"},
      {schedule(RoundLrScheduleKind::kExponential, 0.1, NAN, 0.0, 10), "lr_decay"},
      {schedule(RoundLrScheduleKind::kCosine, 0.1, 1.0, -0.01, 10), "lr_min"},
      {schedule(RoundLrScheduleKind::kCosine, 0.1, 1.0, 0.2, 10), "lr_min"},
      {schedule(RoundLrScheduleKind::kCosine, 0.1, 1.0, 0.0, 0), "rounds"},
  };
  for (const Case& c : cases) {
    const auto bad = check_round_lr_schedule(c.s);
    ASSERT_TRUE(bad) << c.key;
    EXPECT_EQ(bad->key, c.key);
    EXPECT_FALSE(bad->why.empty());
  }
}

TEST(RoundLrSchedule, NamesParseBackAndAnUnknownOneIsRefusedNamingTheKey) {
  for (auto kind : {RoundLrScheduleKind::kConstant, RoundLrScheduleKind::kExponential,
                    RoundLrScheduleKind::kCosine}) {
    auto parsed = parse_round_lr_schedule(round_lr_schedule_name(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  auto bad = parse_round_lr_schedule("linear");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lr_schedule"), std::string::npos);
  EXPECT_NE(bad.status().message().find("linear"), std::string::npos);
}

}  // namespace
}  // namespace fl::model
