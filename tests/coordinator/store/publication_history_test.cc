// The publication history: every change of a model's published version is
// recorded, with its time, reason and actor, in the same transaction as the
// stage change; nothing else is; and nothing is lost when the file is
// reopened.
#include <gtest/gtest.h>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::published_count;
using testing::sample_version;

PublishInfo info(int64_t at_ms, std::string reason, std::string actor = "tester") {
  return {.at_ms = at_ms,
          .reason = std::move(reason),
          .actor = std::move(actor),
          .expected_published = std::nullopt};
}

class PublicationHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(":memory:");
    ASSERT_NE(store_, nullptr);
  }
  int64_t add(const std::string& model, uint64_t seed) {
    auto id = store_->add_version(sample_version(model, seed));
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return id.ok() ? *id : -1;
  }
  std::vector<Publication> history(const std::string& model, size_t limit = 100) {
    auto h = store_->list_publications(model, limit);
    EXPECT_TRUE(h.ok()) << h.status().to_string();
    return h.ok() ? *h : std::vector<Publication>{};
  }
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(PublicationHistoryTest, EveryPublishIsRecordedNewestFirstWithWhatReplacedWhat) {
  const int64_t a = add("m", 1);
  const int64_t b = add("m", 2);
  ASSERT_TRUE(store_->publish("m", a, info(100, "auto", "coordinator")).ok());
  ASSERT_TRUE(store_->publish("m", b, info(200, "manual", "admin:alice")).ok());
  ASSERT_TRUE(store_->publish("m", a, info(300, "rollback", "admin:bob")).ok());

  const std::vector<Publication> h = history("m");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].version_id, a);
  EXPECT_EQ(h[0].previous_version_id, b);
  EXPECT_EQ(h[0].at_ms, 300);
  EXPECT_EQ(h[0].reason, "rollback");
  EXPECT_EQ(h[0].actor, "admin:bob");
  EXPECT_EQ(h[1].version_id, b);
  EXPECT_EQ(h[1].previous_version_id, a);
  EXPECT_EQ(h[1].reason, "manual");
  EXPECT_EQ(h[2].version_id, a);
  EXPECT_EQ(h[2].previous_version_id, std::nullopt);
  EXPECT_EQ(h[2].model, "m");
  EXPECT_GT(h[0].id, h[1].id);
  EXPECT_GT(h[1].id, h[2].id);
}

TEST_F(PublicationHistoryTest, TheLimitKeepsTheNewest) {
  const int64_t a = add("m", 1);
  const int64_t b = add("m", 2);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->publish("m", i % 2 ? b : a, info(i, "x")).ok());
  const std::vector<Publication> h = history("m", 2);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].at_ms, 4);
  EXPECT_EQ(h[1].at_ms, 3);
}

TEST_F(PublicationHistoryTest, RepublishingThePublishedVersionRecordsNothing) {
  const int64_t a = add("m", 1);
  ASSERT_TRUE(store_->publish("m", a, info(1, "auto")).ok());
  ASSERT_TRUE(store_->publish("m", a, info(2, "manual")).ok());
  EXPECT_EQ(history("m").size(), 1u);
}

TEST_F(PublicationHistoryTest, TheOldTwoArgumentPublishAndSetStageAreRecordedToo) {
  const int64_t a = add("m", 1);
  const int64_t b = add("m", 2);
  ASSERT_TRUE(store_->publish("m", a).ok());
  ASSERT_TRUE(store_->set_stage(b, VersionStage::kPublished).ok());
  const std::vector<Publication> h = history("m");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].version_id, b);
  EXPECT_EQ(h[0].reason, "unspecified");
  EXPECT_EQ(h[1].version_id, a);
  EXPECT_EQ(h[1].at_ms, 0);
}

TEST_F(PublicationHistoryTest, AFailedPublishRecordsNothingAndChangesNothing) {
  const int64_t a = add("m", 1);
  const int64_t other = add("other", 2);
  ASSERT_TRUE(store_->publish("m", a, info(1, "auto")).ok());

  EXPECT_EQ(store_->publish("m", other, info(2, "manual")).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->publish("m", 999, info(2, "manual")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->publish("m", a, info(2, "")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(history("m").size(), 1u);
  EXPECT_TRUE(history("other").empty());
  EXPECT_EQ(store_->latest_version("m", VersionStage::kPublished)->id, a);
}

TEST_F(PublicationHistoryTest, ExpectedPublishedTurnsAStaleDecisionIntoAbortedWithoutChange) {
  const int64_t a = add("m", 1);
  const int64_t b = add("m", 2);
  const int64_t c = add("m", 3);
  PublishInfo first = info(1, "auto");
  first.expected_published = kNoPublishedVersion;
  ASSERT_TRUE(store_->publish("m", a, first).ok());

  // A gate compared c against "nothing published", but a is now published.
  PublishInfo stale = info(2, "auto");
  stale.expected_published = kNoPublishedVersion;
  const Status refused = store_->publish("m", c, stale);
  EXPECT_EQ(refused.code(), ErrorCode::kAborted) << refused.to_string();
  stale.expected_published = b;
  EXPECT_EQ(store_->publish("m", c, stale).code(), ErrorCode::kAborted);
  EXPECT_EQ(store_->latest_version("m", VersionStage::kPublished)->id, a);
  EXPECT_EQ(history("m").size(), 1u);

  // Even when the version is the one already published: the caller must not
  // believe it made a change another writer made.
  stale.expected_published = b;
  EXPECT_EQ(store_->publish("m", a, stale).code(), ErrorCode::kAborted);

  PublishInfo fresh = info(3, "auto");
  fresh.expected_published = a;
  EXPECT_TRUE(store_->publish("m", c, fresh).ok());
  EXPECT_EQ(store_->latest_version("m", VersionStage::kPublished)->id, c);
}

TEST_F(PublicationHistoryTest, HistoriesOfModelsAreSeparateAndUnknownModelsHaveNone) {
  ASSERT_TRUE(store_->publish("a", add("a", 1), info(1, "auto")).ok());
  ASSERT_TRUE(store_->publish("b", add("b", 2), info(2, "auto")).ok());
  EXPECT_EQ(history("a").size(), 1u);
  EXPECT_EQ(history("b").size(), 1u);
  EXPECT_TRUE(history("nobody").empty());
}

TEST(PublicationHistoryFile, HistoryAndMergedMetricsSurviveReopening) {
  testing::TempDir dir;
  const std::string path = dir.file("store.db");
  int64_t a = 0;
  int64_t b = 0;
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    a = *store->add_version(sample_version("m", 1));
    b = *store->add_version(sample_version("m", 2));
    ASSERT_TRUE(store->publish("m", a, info(10, "auto", "coordinator")).ok());
    ASSERT_TRUE(store->publish("m", b, info(20, "manual", "admin")).ok());
    ASSERT_TRUE(store->update_metrics(b, {{"live_accuracy", 0.75}, {"loss", 0.5}}).ok());
  }
  auto store = open_store(path);
  ASSERT_NE(store, nullptr);
  auto h = store->list_publications("m", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].version_id, b);
  EXPECT_EQ((*h)[0].previous_version_id, a);
  EXPECT_EQ((*h)[0].at_ms, 20);
  EXPECT_EQ((*h)[0].actor, "admin");
  EXPECT_EQ((*h)[1].reason, "auto");
  const ModelVersion v = *store->get_version(b);
  EXPECT_EQ(v.metrics.at("live_accuracy"), 0.75);
  EXPECT_EQ(v.metrics.at("loss"), 0.5);
  EXPECT_EQ(v.metrics.at("accuracy"), sample_version("m", 2).metrics.at("accuracy"));
  EXPECT_EQ(published_count(*store, "m"), 1u);
}

}  // namespace
}  // namespace fl::coordinator
