// Automatic rollback: metrics observed on the served version are recorded,
// and when the monitored one falls through the floor the registry goes back
// to the most recent earlier version known to meet it, and says so.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/coordinator/registry/registry_test_support.h"

namespace fl::coordinator {
namespace {

using testing::contains;
using testing::RegistryHarness;

RegistryOptions monitored(std::string metric, double floor, bool higher_is_better = true) {
  RegistryOptions options;
  options.gate.require_metric = false;  // these tests publish by hand
  options.monitor = MonitorPolicy{
      .metric = std::move(metric), .floor = floor, .higher_is_better = higher_is_better};
  return options;
}

// Publishes `ids` in order, by hand.
void publish_in_turn(RegistryHarness& h, std::initializer_list<int64_t> ids) {
  int64_t now = 1;
  for (int64_t id : ids) ASSERT_TRUE(h.registry->publish("m", id, "manual", now++).ok());
}

TEST(AutoRollback, FallingBelowTheFloorRollsBackToThePreviousGoodVersion) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t a = h.add("m", {{"live_accuracy", 0.9}});
  const int64_t b = h.add("m", {});
  publish_in_turn(h, {a, b});

  auto restored = h.registry->observe("m", b, {{"live_accuracy", 0.7}}, 100);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(*restored, a);
  EXPECT_EQ(h.published("m"), a);
  EXPECT_EQ(h.store->get_version(b)->metrics.at("live_accuracy"), 0.7);  // recorded

  const auto published = h.log.published();
  EXPECT_EQ(published.back().version_id, a);
  EXPECT_EQ(published.back().reason, "auto-rollback");
  const auto alerts = h.log.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "rollback");
  EXPECT_TRUE(contains(alerts[0].message, "0.7")) << alerts[0].message;
  EXPECT_TRUE(contains(alerts[0].message, "0.8")) << alerts[0].message;
  EXPECT_TRUE(contains(alerts[0].message, "version " + std::to_string(a))) << alerts[0].message;

  const Publication latest = h.registry->publications("m", 1)->front();
  EXPECT_EQ(latest.reason, "auto-rollback");
  EXPECT_EQ(latest.previous_version_id, b);
  EXPECT_EQ(latest.at_ms, 100);
}

TEST(AutoRollback, SkipsEarlierVersionsBelowTheFloorOrNeverMeasured) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t good = h.add("m", {{"live_accuracy", 0.85}});
  const int64_t bad = h.add("m", {{"live_accuracy", 0.75}});
  const int64_t unmeasured = h.add("m", {});
  const int64_t current = h.add("m", {});
  publish_in_turn(h, {good, bad, unmeasured, current});

  EXPECT_EQ(*h.registry->observe("m", current, {{"live_accuracy", 0.5}}, 10), good);
  EXPECT_EQ(h.published("m"), good);
}

TEST(AutoRollback, NeverReturnsToAVersionThatWasRolledBackFrom) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t a = h.add("m", {{"live_accuracy", 0.9}});
  const int64_t b = h.add("m", {{"live_accuracy", 0.95}});
  const int64_t c = h.add("m", {});
  publish_in_turn(h, {a, b});
  ASSERT_EQ(*h.registry->rollback("m", std::nullopt, 5), a);  // an operator distrusted b
  publish_in_turn(h, {c});

  // b measured well once, but it was abandoned: back to a.
  EXPECT_EQ(*h.registry->observe("m", c, {{"live_accuracy", 0.1}}, 10), a);
}

TEST(AutoRollback, WithNoGoodEarlierVersionItAlertsAndKeepsServing) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t a = h.add("m", {{"live_accuracy", 0.6}});
  const int64_t b = h.add("m", {});
  publish_in_turn(h, {a, b});

  auto result = h.registry->observe("m", b, {{"live_accuracy", 0.7}}, 10);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, std::nullopt);
  EXPECT_EQ(h.published("m"), b);
  const auto alerts = h.log.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, "no_rollback_target");
  EXPECT_TRUE(contains(alerts[0].message, "0.7")) << alerts[0].message;
}

TEST(AutoRollback, LowerIsBetterRollsBackWhenTheMetricRisesAboveTheFloor) {
  RegistryHarness h(monitored("live_loss", 0.5, /*higher_is_better=*/false));
  const int64_t a = h.add("m", {{"live_loss", 0.3}});
  const int64_t b = h.add("m", {});
  publish_in_turn(h, {a, b});

  EXPECT_EQ(*h.registry->observe("m", b, {{"live_loss", 0.5}}, 10), std::nullopt);  // at the floor
  EXPECT_EQ(h.published("m"), b);
  EXPECT_EQ(*h.registry->observe("m", b, {{"live_loss", 0.6}}, 11), a);
  EXPECT_EQ(h.published("m"), a);
}

TEST(AutoRollback, ObservationsOnTheGoodSideOrOfOtherVersionsOnlyRecord) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t a = h.add("m", {{"live_accuracy", 0.9}});
  const int64_t b = h.add("m", {});
  const int64_t candidate = h.add("m", {});
  publish_in_turn(h, {a, b});

  EXPECT_EQ(*h.registry->observe("m", b, {{"live_accuracy", 0.85}}, 10), std::nullopt);
  EXPECT_EQ(*h.registry->observe("m", a, {{"live_accuracy", 0.1}}, 11), std::nullopt);
  EXPECT_EQ(*h.registry->observe("m", candidate, {{"live_accuracy", 0.1}}, 12), std::nullopt);
  EXPECT_EQ(*h.registry->observe("m", b, {{"loss", 3.0}}, 13), std::nullopt);  // not monitored
  EXPECT_EQ(h.published("m"), b);
  EXPECT_TRUE(h.log.alerts().empty());
  EXPECT_EQ(h.store->get_version(a)->metrics.at("live_accuracy"), 0.1);
  EXPECT_EQ(h.store->get_version(b)->metrics.at("loss"), 3.0);
}

TEST(AutoRollback, WithoutAMonitorObservationsOnlyRecord) {
  RegistryHarness h;  // no MonitorPolicy
  const int64_t a = h.add("m", {{"accuracy", 0.9}});
  const int64_t b = h.add("m", {{"accuracy", 0.9}});
  publish_in_turn(h, {a, b});
  EXPECT_EQ(*h.registry->observe("m", b, {{"accuracy", 0.0}}, 10), std::nullopt);
  EXPECT_EQ(h.published("m"), b);
  EXPECT_EQ(h.store->get_version(b)->metrics.at("accuracy"), 0.0);
}

TEST(AutoRollback, BadObservationsAreRefusedAndChangeNothing) {
  RegistryHarness h(monitored("live_accuracy", 0.8));
  const int64_t a = h.add("m", {{"live_accuracy", 0.9}});
  const int64_t other = h.add("other", {});
  publish_in_turn(h, {a});
  EXPECT_EQ(h.registry->observe("m", 999, {{"live_accuracy", 0.1}}, 1).status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->observe("m", other, {{"live_accuracy", 0.1}}, 1).status().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->observe("m", a, {{"live_accuracy", std::nan("")}}, 1).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(h.store->get_version(a)->metrics.at("live_accuracy"), 0.9);
  EXPECT_TRUE(h.store->get_version(other)->metrics.empty());
}

}  // namespace
}  // namespace fl::coordinator
