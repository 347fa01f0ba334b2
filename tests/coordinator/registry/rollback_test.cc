// Manual publication and rollback: an operator can go back one step at a
// time or straight to a named earlier version; what is refused changes
// nothing and tells nobody.
#include <gtest/gtest.h>

#include "tests/coordinator/registry/registry_test_support.h"

namespace fl::coordinator {
namespace {

using testing::RegistryHarness;

// Three versions of "m" published in turn: a, then b, then c.
struct ThreePublished : RegistryHarness {
  ThreePublished() {
    a = add_and_consider("m", {{"accuracy", 0.7}}, 1);
    b = add_and_consider("m", {{"accuracy", 0.8}}, 2);
    c = add_and_consider("m", {{"accuracy", 0.9}}, 3);
  }
  int64_t a = 0, b = 0, c = 0;
};

TEST(Rollback, GoesBackToTheVersionPublishedBeforeTheCurrentOne) {
  ThreePublished h;
  auto restored = h.registry->rollback("m", std::nullopt, 100, "admin:alice");
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(*restored, h.b);
  EXPECT_EQ(h.published("m"), h.b);
  EXPECT_EQ(h.stage(h.c), VersionStage::kRetired);

  const auto events = h.log.published();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events.back().version_id, h.b);
  EXPECT_EQ(events.back().reason, "rollback");

  const auto history = *h.registry->publications("m", 1);
  EXPECT_EQ(history[0].version_id, h.b);
  EXPECT_EQ(history[0].previous_version_id, h.c);
  EXPECT_EQ(history[0].reason, "rollback");
  EXPECT_EQ(history[0].actor, "admin:alice");
  EXPECT_EQ(history[0].at_ms, 100);
}

TEST(Rollback, RepeatedRollbacksWalkFurtherBackNeverForward) {
  ThreePublished h;
  EXPECT_EQ(*h.registry->rollback("m", std::nullopt, 10), h.b);
  EXPECT_EQ(*h.registry->rollback("m", std::nullopt, 11), h.a);
  auto nothing_left = h.registry->rollback("m", std::nullopt, 12);
  EXPECT_EQ(nothing_left.status().code(), ErrorCode::kFailedPrecondition)
      << nothing_left.status().to_string();
  EXPECT_EQ(h.published("m"), h.a);
}

TEST(Rollback, SkipsCandidatesThatWereNeverPublished) {
  RegistryHarness h;
  const int64_t a = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t held = h.add_and_consider("m", {{"accuracy", 0.1}}, 2);
  const int64_t c = h.add_and_consider("m", {{"accuracy", 0.95}}, 3);
  ASSERT_EQ(h.stage(held), VersionStage::kCandidate);
  ASSERT_EQ(h.published("m"), c);
  EXPECT_EQ(*h.registry->rollback("m", std::nullopt, 4), a);
}

TEST(Rollback, AManualPublishOfAnOlderVersionIsUndoneByOneRollback) {
  ThreePublished h;
  ASSERT_TRUE(h.registry->publish("m", h.a, "manual", 10, "admin").ok());
  EXPECT_EQ(*h.registry->rollback("m", std::nullopt, 11), h.c);
}

TEST(Rollback, ToANamedRetiredVersion) {
  ThreePublished h;
  auto restored = h.registry->rollback("m", h.a, 10);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*restored, h.a);
  EXPECT_EQ(h.published("m"), h.a);
  EXPECT_EQ(h.log.published().back().version_id, h.a);
  // Everything above a was abandoned: nothing earlier than a was published.
  EXPECT_EQ(h.registry->rollback("m", std::nullopt, 11).status().code(),
            ErrorCode::kFailedPrecondition);
}

TEST(Rollback, ToANamedCandidateThatNeverServed) {
  RegistryHarness h;
  const int64_t a = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t never_served = h.add("m", {{"accuracy", 0.5}});
  const int64_t c = h.add_and_consider("m", {{"accuracy", 0.95}}, 2);
  ASSERT_EQ(h.published("m"), c);
  EXPECT_EQ(*h.registry->rollback("m", never_served, 3), never_served);
  EXPECT_EQ(h.published("m"), never_served);
  // One more step back from it is the version served before it: a.
  EXPECT_EQ(*h.registry->rollback("m", std::nullopt, 4), a);
}

TEST(Rollback, RefusalsChangeNothingAndNotifyNobody) {
  ThreePublished h;
  const int64_t other_model = h.add_and_consider("other", {{"accuracy", 0.5}}, 4);
  const int64_t newer = h.add("m", {{"accuracy", 0.1}});
  const size_t events_before = h.log.published().size();

  EXPECT_EQ(h.registry->rollback("nobody", std::nullopt, 5).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->rollback("m", 999, 5).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->rollback("m", other_model, 5).status().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->rollback("m", h.c, 5).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->rollback("m", newer, 5).status().code(), ErrorCode::kFailedPrecondition);

  EXPECT_EQ(h.published("m"), h.c);
  EXPECT_EQ(h.published("other"), other_model);
  EXPECT_EQ(h.log.published().size(), events_before);
  EXPECT_EQ(h.registry->publications("m", 100)->size(), 3u);
}

TEST(Rollback, AModelNeverPublishedOrPublishedOnceHasNothingToRollBackTo) {
  RegistryHarness h;
  h.add("unpublished", {{"accuracy", 0.5}});
  EXPECT_EQ(h.registry->rollback("unpublished", std::nullopt, 1).status().code(),
            ErrorCode::kFailedPrecondition);
  h.add_and_consider("once", {{"accuracy", 0.5}}, 1);
  auto refused = h.registry->rollback("once", std::nullopt, 2);
  EXPECT_EQ(refused.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(testing::contains(refused.status().message(), "nothing to roll back to"))
      << refused.status().to_string();
}

TEST(ManualPublish, BypassesTheGateAndIsRecordedWithItsReasonAndActor) {
  RegistryHarness h;
  const int64_t good = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t worse = h.add("m", {{"accuracy", 0.2}});
  ASSERT_TRUE(h.registry->publish("m", worse, "manual", 7, "admin:bob").ok());
  EXPECT_EQ(h.published("m"), worse);
  EXPECT_EQ(h.stage(good), VersionStage::kRetired);
  const Publication latest = h.registry->publications("m", 1)->front();
  EXPECT_EQ(latest.reason, "manual");
  EXPECT_EQ(latest.actor, "admin:bob");
  EXPECT_EQ(h.log.published().back().version_id, worse);
}

TEST(ManualPublish, RepublishingTheServedVersionNotifiesNobody) {
  RegistryHarness h;
  const int64_t v = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  ASSERT_TRUE(h.registry->publish("m", v, "manual", 2).ok());
  EXPECT_EQ(h.log.published().size(), 1u);
  EXPECT_EQ(h.registry->publications("m", 10)->size(), 1u);
}

TEST(ManualPublish, ErrorsChangeNothing) {
  RegistryHarness h;
  const int64_t v = h.add_and_consider("m", {{"accuracy", 0.9}}, 1);
  const int64_t other = h.add("other", {});
  EXPECT_EQ(h.registry->publish("m", 999, "manual", 2).code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->publish("m", other, "manual", 2).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(h.registry->publish("m", h.add("m", {}), "", 2).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(h.published("m"), v);
  EXPECT_EQ(h.log.published().size(), 1u);
}

TEST(RegistryReads, ListShowAndPublished) {
  ThreePublished h;
  auto versions = h.registry->list_versions("m");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].id, h.a);
  EXPECT_TRUE((*versions)[0].model_bytes.empty());  // listings leave payloads out
  EXPECT_FALSE(h.registry->show_version(h.b)->model_bytes.empty());
  EXPECT_EQ(h.registry->published_version("m")->id, h.c);
  EXPECT_EQ(h.registry->list_versions("nobody").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->show_version(999).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(h.registry->published_version("nobody").status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fl::coordinator
