// The quality gate as the round engine meets it through Registry::consider:
// a candidate replaces the served model only when it is not worse than it by
// more than the tolerance; otherwise it stays a candidate and an operator is
// told why, with both values.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/coordinator/registry/registry_test_support.h"

namespace fl::coordinator {
namespace {

using testing::contains;
using testing::RegistryHarness;

RegistryOptions gate(std::string metric, bool higher_is_better, double tolerance,
                     bool require_metric = true) {
  RegistryOptions options;
  options.gate = {.metric = std::move(metric),
                  .higher_is_better = higher_is_better,
                  .tolerance = tolerance,
                  .require_metric = require_metric};
  return options;
}

TEST(QualityGate, TheFirstVersionOfAModelIsPublishedAndTheServiceTold) {
  RegistryHarness h(gate("accuracy", true, 0.0));
  const int64_t v = h.add("m", {{"accuracy", 0.3}});
  auto decision = h.registry->consider(v, 1000);
  ASSERT_TRUE(decision.ok()) << decision.status().to_string();
  EXPECT_TRUE(decision->published());
  EXPECT_EQ(decision->baseline_id, std::nullopt);
  EXPECT_EQ(h.published("m"), v);
  ASSERT_EQ(h.log.published().size(), 1u);
  EXPECT_EQ(h.log.published()[0].version_id, v);
  EXPECT_EQ(h.log.published()[0].reason, "auto");
  EXPECT_TRUE(h.log.alerts().empty());
}

TEST(QualityGate, JudgesARegressorsFederatedMseLowerIsBetter) {
  EXPECT_FALSE(default_higher_is_better("fed_mse"));
  EXPECT_FALSE(default_higher_is_better("fed_mae"));
  EXPECT_FALSE(default_higher_is_better("loss"));
  EXPECT_TRUE(default_higher_is_better("fed_accuracy"));
  RegistryHarness h(gate("fed_mse", default_higher_is_better("fed_mse"), 0.1));
  const int64_t served = h.add_and_consider("m", {{"fed_mse", 2.0}}, 1);
  const int64_t worse = h.add("m", {{"fed_mse", 2.5}});
  auto held = h.registry->consider(worse, 2);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->published());
  EXPECT_TRUE(contains(held->reason, "lower is better")) << held->reason;
  EXPECT_EQ(h.published("m"), served);
  const int64_t better = h.add("m", {{"fed_mse", 1.2}});
  ASSERT_TRUE(h.registry->consider(better, 3).ok());
  EXPECT_EQ(h.published("m"), better);
}

TEST(QualityGate, ABetterCandidateReplacesThePublishedVersion) {
  RegistryHarness h(gate("accuracy", true, 0.0));
  const int64_t first = h.add_and_consider("m", {{"accuracy", 0.80}}, 1);
  const int64_t better = h.add("m", {{"accuracy", 0.85}});
  auto decision = h.registry->consider(better, 2);
  ASSERT_TRUE(decision.ok());
  EXPECT_TRUE(decision->published());
  EXPECT_EQ(decision->baseline_id, first);
  EXPECT_EQ(decision->baseline_value, 0.80);
  EXPECT_EQ(decision->candidate_value, 0.85);
  EXPECT_EQ(h.published("m"), better);
  EXPECT_EQ(h.stage(first), VersionStage::kRetired);
}

TEST(QualityGate, AWorseCandidateIsHeldAsACandidateWithAnAlertGivingBothValues) {
  RegistryHarness h(gate("accuracy", true, 0.01));
  const int64_t served = h.add_and_consider("m", {{"accuracy", 0.90}}, 1);
  const int64_t worse = h.add("m", {{"accuracy", 0.85}});
  auto decision = h.registry->consider(worse, 2);
  ASSERT_TRUE(decision.ok());
  EXPECT_FALSE(decision->published());
  EXPECT_EQ(h.published("m"), served);
  EXPECT_EQ(h.stage(worse), VersionStage::kCandidate);
  EXPECT_EQ(h.log.published().size(), 1u);  // only the first version

  const auto alerts = h.log.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].model, "m");
  EXPECT_EQ(alerts[0].kind, "quality_gate");
  EXPECT_EQ(alerts[0].message, decision->reason);
  EXPECT_TRUE(contains(alerts[0].message, "0.85")) << alerts[0].message;
  EXPECT_TRUE(contains(alerts[0].message, "0.9")) << alerts[0].message;
  EXPECT_TRUE(contains(alerts[0].message, "0.01")) << alerts[0].message;
  EXPECT_TRUE(contains(alerts[0].message, std::to_string(worse))) << alerts[0].message;
}

TEST(QualityGate, HigherIsBetterToleranceAdmitsSmallDropsOnly) {
  RegistryHarness h(gate("accuracy", true, 0.02));
  const int64_t served = h.add_and_consider("m", {{"accuracy", 0.90}}, 1);
  const int64_t small_drop = h.add("m", {{"accuracy", 0.89}});
  const int64_t big_drop = h.add("m", {{"accuracy", 0.87}});
  EXPECT_FALSE(h.registry->consider(big_drop, 2)->published());
  EXPECT_EQ(h.published("m"), served);
  EXPECT_TRUE(h.registry->consider(small_drop, 3)->published());
  EXPECT_EQ(h.published("m"), small_drop);
}

TEST(QualityGate, ADropOfExactlyTheToleranceAsTypedInDecimalPasses) {
  // 0.90 - 0.88 is 0.020000000000000018 in doubles.
  RegistryHarness h(gate("accuracy", true, 0.02));
  h.add_and_consider("m", {{"accuracy", 0.90}}, 1);
  const int64_t at_tolerance = h.add("m", {{"accuracy", 0.88}});
  EXPECT_TRUE(h.registry->consider(at_tolerance, 2)->published());
}

TEST(QualityGate, LowerIsBetterToleranceAdmitsSmallRisesOnly) {
  RegistryHarness h(gate("loss", false, 0.1));
  const int64_t served = h.add_and_consider("m", {{"loss", 0.50}}, 1);
  const int64_t big_rise = h.add("m", {{"loss", 0.70}});
  const int64_t small_rise = h.add("m", {{"loss", 0.55}});
  const int64_t lower = h.add("m", {{"loss", 0.30}});

  auto held = h.registry->consider(big_rise, 2);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->published());
  EXPECT_TRUE(contains(held->reason, "lower is better")) << held->reason;
  EXPECT_EQ(h.published("m"), served);
  EXPECT_TRUE(h.registry->consider(small_rise, 3)->published());
  EXPECT_TRUE(h.registry->consider(lower, 4)->published());
  EXPECT_EQ(h.published("m"), lower);
}

TEST(QualityGate, ACandidateWithoutTheMetricIsHeldWhenTheMetricIsRequired) {
  RegistryHarness h(gate("accuracy", true, 0.0, /*require_metric=*/true));
  const int64_t unmeasured = h.add("m", {{"loss", 0.1}});
  auto decision = h.registry->consider(unmeasured, 1);
  ASSERT_TRUE(decision.ok());
  EXPECT_FALSE(decision->published());
  EXPECT_EQ(h.published("m"), -1);
  ASSERT_EQ(h.log.alerts().size(), 1u);
  EXPECT_EQ(h.log.alerts()[0].kind, "quality_gate");
  EXPECT_TRUE(contains(h.log.alerts()[0].message, "accuracy"));
}

TEST(QualityGate, ACandidateWithoutTheMetricIsPublishedWhenTheMetricIsOptional) {
  RegistryHarness h(gate("accuracy", true, 0.0, /*require_metric=*/false));
  h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t unmeasured = h.add("m", {});
  EXPECT_TRUE(h.registry->consider(unmeasured, 2)->published());
  EXPECT_EQ(h.published("m"), unmeasured);
}

TEST(QualityGate, APublishedVersionWithoutTheMetricDoesNotBlockTheFirstMeasuredOne) {
  // The round engine publishes an untrained initial model with no metrics.
  RegistryHarness h(gate("accuracy", true, 0.0));
  const int64_t initial = h.add("m", {});
  ASSERT_TRUE(h.registry->publish("m", initial, "initial", 1).ok());
  const int64_t trained = h.add("m", {{"accuracy", 0.4}});
  EXPECT_TRUE(h.registry->consider(trained, 2)->published());
  EXPECT_EQ(h.published("m"), trained);
}

TEST(QualityGate, ThePublicationIsRecordedAsAutomaticWithTimeAndActor) {
  RegistryOptions options = gate("accuracy", true, 0.0);
  options.actor = "coordinator-7";
  RegistryHarness h(std::move(options));
  const int64_t v = h.add_and_consider("m", {{"accuracy", 0.5}}, 1234);
  auto history = h.registry->publications("m", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].version_id, v);
  EXPECT_EQ((*history)[0].reason, "auto");
  EXPECT_EQ((*history)[0].actor, "coordinator-7");
  EXPECT_EQ((*history)[0].at_ms, 1234);
}

TEST(QualityGate, OnlyCandidatesGoThroughTheGate) {
  RegistryHarness h;
  const int64_t served = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t retired = h.add("m", {{"accuracy", 0.95}});
  ASSERT_TRUE(h.store->set_stage(retired, VersionStage::kRetired).ok());

  EXPECT_EQ(h.registry->consider(served, 2).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->consider(retired, 2).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->consider(999, 2).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.published("m"), served);
}

TEST(QualityGate, InvalidPoliciesAreRefusedAtConstruction) {
  auto store = testing::open_store(":memory:");
  RegistryOptions negative;
  negative.gate.tolerance = -0.1;
  EXPECT_EQ(Registry::create(*store, negative).status().code(), ErrorCode::kInvalidArgument);
  RegistryOptions unnamed;
  unnamed.gate.metric = "";
  EXPECT_EQ(Registry::create(*store, unnamed).status().code(), ErrorCode::kInvalidArgument);
  RegistryOptions bad_floor;
  bad_floor.monitor =
      MonitorPolicy{.metric = "accuracy", .floor = std::nan(""), .higher_is_better = true};
  EXPECT_EQ(Registry::create(*store, bad_floor).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fl::coordinator
