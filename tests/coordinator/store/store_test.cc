// The Store contract, exercised on SqliteStore: every record round-trips, the
// registry's stage rules hold, and bad input changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::published_count;
using testing::sample_key;
using testing::sample_version;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_store(":memory:");
    ASSERT_NE(store_, nullptr);
  }
  int64_t add(const NewVersion& v) {
    auto id = store_->add_version(v);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return id.ok() ? *id : -1;
  }
  ModelVersion get(int64_t id) {
    auto v = store_->get_version(id);
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    return v.ok() ? *v : ModelVersion{};
  }
  VersionStage stage(int64_t id) { return get(id).stage; }

  std::unique_ptr<SqliteStore> store_;
};

// --- Model versions ---------------------------------------------------------

TEST_F(StoreTest, AddedVersionRoundTripsAsACandidate) {
  const int64_t parent = add(sample_version("mnist", 1));
  const NewVersion child = sample_version("mnist", 2, parent);
  const int64_t id = add(child);

  const ModelVersion v = get(id);
  EXPECT_EQ(v.id, id);
  EXPECT_EQ(v.model, "mnist");
  EXPECT_EQ(v.parent_id, parent);
  EXPECT_EQ(v.round_id, std::nullopt);
  EXPECT_EQ(v.created_at_ms, child.created_at_ms);
  EXPECT_EQ(v.stage, VersionStage::kCandidate);
  EXPECT_EQ(v.metrics, child.metrics);
  EXPECT_EQ(v.model_bytes, child.model_bytes);  // binary-safe: holds NUL and 0xff
  EXPECT_EQ(v.optimizer_state, child.optimizer_state);
  EXPECT_EQ(get(parent).parent_id, std::nullopt);
}

TEST_F(StoreTest, EmptyPayloadsAndNoMetricsRoundTrip) {
  NewVersion bare;
  bare.model = "bare";
  const ModelVersion v = get(add(bare));
  EXPECT_TRUE(v.model_bytes.empty());
  EXPECT_TRUE(v.optimizer_state.empty());
  EXPECT_TRUE(v.metrics.empty());
}

TEST_F(StoreTest, VersionIdsIncreaseAcrossModels) {
  const int64_t a = add(sample_version("a", 1));
  const int64_t b = add(sample_version("b", 2));
  const int64_t c = add(sample_version("a", 3));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_F(StoreTest, LatestVersionHonoursTheStageFilter) {
  EXPECT_EQ(store_->latest_version("m", std::nullopt).status().code(), ErrorCode::kNotFound);
  const int64_t v1 = add(sample_version("m", 1));
  const int64_t v2 = add(sample_version("m", 2, v1));
  add(sample_version("other", 3));
  ASSERT_TRUE(store_->publish("m", v1).ok());

  auto newest = store_->latest_version("m", std::nullopt);
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->id, v2);
  auto published = store_->latest_version("m", VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, v1);
  EXPECT_EQ(published->model_bytes, sample_version("m", 1).model_bytes);
  EXPECT_EQ(store_->latest_version("m", VersionStage::kRetired).status().code(),
            ErrorCode::kNotFound);
}

TEST_F(StoreTest, ListVersionsIsOldestFirstWithMetricsButWithoutPayloads) {
  const int64_t v1 = add(sample_version("m", 1));
  add(sample_version("other", 2));
  const int64_t v3 = add(sample_version("m", 3, v1));

  auto listed = store_->list_versions("m");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, v1);
  EXPECT_EQ((*listed)[1].id, v3);
  EXPECT_EQ((*listed)[1].parent_id, v1);
  EXPECT_EQ((*listed)[1].metrics, sample_version("m", 3).metrics);
  EXPECT_TRUE((*listed)[1].model_bytes.empty());

  auto none = store_->list_versions("unknown");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreTest, BadVersionsAreRejectedAndNothingIsAdded) {
  NewVersion unnamed = sample_version("", 1);
  EXPECT_EQ(store_->add_version(unnamed).status().code(), ErrorCode::kInvalidArgument);
  NewVersion nan_metric = sample_version("m", 1);
  nan_metric.metrics["loss"] = std::nan("");
  EXPECT_EQ(store_->add_version(nan_metric).status().code(), ErrorCode::kInvalidArgument);
  NewVersion orphan = sample_version("m", 1, /*parent=*/12345);
  EXPECT_EQ(store_->add_version(orphan).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->list_versions("m")->empty());
}

TEST_F(StoreTest, UnknownVersionIdsAreNotFound) {
  EXPECT_EQ(store_->get_version(42).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->publish("m", 42).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->set_stage(42, VersionStage::kRetired).code(), ErrorCode::kNotFound);
}

// --- Stages: publish, rollback, retire --------------------------------------

TEST_F(StoreTest, PublishRetiresThePreviouslyPublishedVersion) {
  const int64_t v1 = add(sample_version("m", 1));
  const int64_t v2 = add(sample_version("m", 2, v1));
  ASSERT_TRUE(store_->publish("m", v1).ok());
  EXPECT_EQ(stage(v1), VersionStage::kPublished);
  EXPECT_EQ(stage(v2), VersionStage::kCandidate);

  ASSERT_TRUE(store_->publish("m", v2).ok());
  EXPECT_EQ(stage(v1), VersionStage::kRetired);
  EXPECT_EQ(stage(v2), VersionStage::kPublished);
  EXPECT_EQ(published_count(*store_, "m"), 1u);
}

TEST_F(StoreTest, RollbackRepublishesARetiredVersion) {
  const int64_t v1 = add(sample_version("m", 1));
  const int64_t v2 = add(sample_version("m", 2, v1));
  ASSERT_TRUE(store_->publish("m", v1).ok());
  ASSERT_TRUE(store_->publish("m", v2).ok());
  ASSERT_TRUE(store_->publish("m", v1).ok());
  EXPECT_EQ(stage(v1), VersionStage::kPublished);
  EXPECT_EQ(stage(v2), VersionStage::kRetired);
  EXPECT_TRUE(store_->publish("m", v1).ok());  // again: a no-op
  EXPECT_EQ(published_count(*store_, "m"), 1u);
}

TEST_F(StoreTest, PublishingAVersionUnderAnotherModelsNameChangesNothing) {
  const int64_t a = add(sample_version("a", 1));
  const int64_t b = add(sample_version("b", 2));
  ASSERT_TRUE(store_->publish("a", a).ok());
  EXPECT_EQ(store_->publish("a", b).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(stage(a), VersionStage::kPublished);
  EXPECT_EQ(stage(b), VersionStage::kCandidate);
}

TEST_F(StoreTest, PublishingOneModelLeavesOtherModelsAlone) {
  const int64_t a = add(sample_version("a", 1));
  const int64_t b1 = add(sample_version("b", 2));
  const int64_t b2 = add(sample_version("b", 3));
  ASSERT_TRUE(store_->publish("a", a).ok());
  ASSERT_TRUE(store_->publish("b", b1).ok());
  ASSERT_TRUE(store_->publish("b", b2).ok());
  EXPECT_EQ(stage(a), VersionStage::kPublished);
}

TEST_F(StoreTest, SetStageRetiresACandidateButNeverUnpublishes) {
  const int64_t v1 = add(sample_version("m", 1));
  const int64_t v2 = add(sample_version("m", 2));
  ASSERT_TRUE(store_->publish("m", v1).ok());

  ASSERT_TRUE(store_->set_stage(v2, VersionStage::kRetired).ok());  // failed the quality gate
  EXPECT_EQ(stage(v2), VersionStage::kRetired);
  EXPECT_EQ(store_->set_stage(v2, VersionStage::kCandidate).code(), ErrorCode::kFailedPrecondition);

  EXPECT_EQ(store_->set_stage(v1, VersionStage::kRetired).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->set_stage(v1, VersionStage::kCandidate).code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(stage(v1), VersionStage::kPublished);
}

TEST_F(StoreTest, SetStageToPublishedIsPublish) {
  const int64_t v1 = add(sample_version("m", 1));
  const int64_t v2 = add(sample_version("m", 2));
  ASSERT_TRUE(store_->set_stage(v1, VersionStage::kPublished).ok());
  ASSERT_TRUE(store_->set_stage(v2, VersionStage::kPublished).ok());
  EXPECT_EQ(stage(v1), VersionStage::kRetired);
  EXPECT_EQ(stage(v2), VersionStage::kPublished);
}

// --- Rounds -----------------------------------------------------------------

constexpr StageCounts kCounts{
    .selected = 130, .advertised = 120, .shared_keys = 115, .masked_input = 110, .unmasked = 108};

TEST_F(StoreTest, CompletedRoundRoundTripsWithItsResultVersion) {
  const int64_t base = add(sample_version("m", 1));
  auto round = store_->begin_round(
      {.population = "hospitals", .base_version_id = base, .started_at_ms = 1000});
  ASSERT_TRUE(round.ok()) << round.status().to_string();

  auto running = store_->get_round(*round);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->population, "hospitals");
  EXPECT_EQ(running->base_version_id, base);
  EXPECT_EQ(running->state, RoundState::kRunning);
  EXPECT_EQ(running->started_at_ms, 1000);
  EXPECT_EQ(running->ended_at_ms, std::nullopt);
  EXPECT_EQ(running->result_version_id, std::nullopt);
  EXPECT_EQ(running->counts, StageCounts{});

  const NewVersion result = sample_version("m", 2);  // no parent: defaults to the base
  auto produced = store_->complete_round(*round, kCounts, result, 2000);
  ASSERT_TRUE(produced.ok()) << produced.status().to_string();

  auto completed = store_->get_round(*round);
  ASSERT_TRUE(completed.ok());
  EXPECT_EQ(completed->state, RoundState::kCompleted);
  EXPECT_EQ(completed->counts, kCounts);
  EXPECT_EQ(completed->ended_at_ms, 2000);
  EXPECT_EQ(completed->result_version_id, *produced);
  EXPECT_TRUE(completed->failure_reason.empty());

  const ModelVersion v = get(*produced);
  EXPECT_EQ(v.round_id, *round);
  EXPECT_EQ(v.parent_id, base);
  EXPECT_EQ(v.stage, VersionStage::kCandidate);
  EXPECT_EQ(v.model_bytes, result.model_bytes);
  EXPECT_EQ(v.metrics, result.metrics);
}

TEST_F(StoreTest, FailedRoundKeepsItsReasonAndCounts) {
  const int64_t base = add(sample_version("m", 1));
  const int64_t round = *store_->begin_round({"clinics", base, 10});
  const StageCounts counts{.selected = 10, .advertised = 4};
  ASSERT_TRUE(store_->fail_round(round, "cohort below threshold t=5", counts, 20).ok());

  auto failed = store_->get_round(round);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, RoundState::kFailed);
  EXPECT_EQ(failed->failure_reason, "cohort below threshold t=5");
  EXPECT_EQ(failed->counts, counts);
  EXPECT_EQ(failed->ended_at_ms, 20);
  EXPECT_EQ(failed->result_version_id, std::nullopt);
}

TEST_F(StoreTest, OnlyARunningRoundCanEnd) {
  const int64_t base = add(sample_version("m", 1));
  const int64_t done = *store_->begin_round({"p", base, 1});
  ASSERT_TRUE(store_->complete_round(done, kCounts, sample_version("m", 2), 2).ok());
  const int64_t failed = *store_->begin_round({"p", base, 3});
  ASSERT_TRUE(store_->fail_round(failed, "deadline", {}, 4).ok());
  const size_t versions_before = store_->list_versions("m")->size();

  for (int64_t round : {done, failed}) {
    EXPECT_EQ(store_->complete_round(round, kCounts, sample_version("m", 9), 5).status().code(),
              ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store_->fail_round(round, "again", {}, 5).code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(store_->get_round(done)->state, RoundState::kCompleted);
  EXPECT_EQ(store_->get_round(failed)->failure_reason, "deadline");
  EXPECT_EQ(store_->list_versions("m")->size(), versions_before);
}

TEST_F(StoreTest, RoundResultMustBeAVersionOfTheRoundsModel) {
  const int64_t base = add(sample_version("m", 1));
  const int64_t round = *store_->begin_round({"p", base, 1});
  EXPECT_EQ(store_->complete_round(round, kCounts, sample_version("other", 2), 2).status().code(),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->get_round(round)->state, RoundState::kRunning);
  EXPECT_TRUE(store_->list_versions("other")->empty());
}

TEST_F(StoreTest, BadRoundInputIsRejectedWithoutChange) {
  const int64_t base = add(sample_version("m", 1));
  EXPECT_EQ(store_->begin_round({"", base, 1}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->begin_round({"p", 999, 1}).status().code(), ErrorCode::kNotFound);
  const int64_t round = *store_->begin_round({"p", base, 1});

  const StageCounts growing{.selected = 5, .advertised = 6};  // more advertised than selected
  EXPECT_EQ(store_->complete_round(round, growing, sample_version("m", 2), 2).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->fail_round(round, "", {}, 2).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->complete_round(round, kCounts, sample_version("m", 2, /*parent=*/999), 2)
                .status()
                .code(),
            ErrorCode::kNotFound);

  EXPECT_EQ(store_->get_round(round)->state, RoundState::kRunning);
  EXPECT_EQ(store_->list_versions("m")->size(), 1u);
  EXPECT_EQ(store_->list_rounds(10)->size(), 1u);
}

TEST_F(StoreTest, UnknownRoundIdsAreNotFound) {
  EXPECT_EQ(store_->get_round(7).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->complete_round(7, kCounts, sample_version("m", 1), 1).status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->fail_round(7, "x", {}, 1).code(), ErrorCode::kNotFound);
}

TEST_F(StoreTest, FailRunningRoundsFailsExactlyTheRunningOnes) {
  const int64_t base = add(sample_version("m", 1));
  const int64_t completed = *store_->begin_round({"p", base, 1});
  ASSERT_TRUE(store_->complete_round(completed, kCounts, sample_version("m", 2), 2).ok());
  const int64_t running1 = *store_->begin_round({"p", base, 3});
  const int64_t running2 = *store_->begin_round({"q", base, 4});

  auto failed = store_->fail_running_rounds("coordinator restarted", 99);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(*failed, (std::vector<int64_t>{running1, running2}));
  for (int64_t id : {running1, running2}) {
    auto round = store_->get_round(id);
    EXPECT_EQ(round->state, RoundState::kFailed);
    EXPECT_EQ(round->failure_reason, "coordinator restarted");
    EXPECT_EQ(round->ended_at_ms, 99);
  }
  EXPECT_EQ(store_->get_round(completed)->state, RoundState::kCompleted);
  EXPECT_TRUE(store_->fail_running_rounds("again", 100)->empty());
}

TEST_F(StoreTest, ListRoundsIsNewestFirstAndLimited) {
  const int64_t base = add(sample_version("m", 1));
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*store_->begin_round({"p", base, i}));

  auto recent = store_->list_rounds(3);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].id, ids[4]);
  EXPECT_EQ((*recent)[2].id, ids[2]);
  EXPECT_EQ(store_->list_rounds(100)->size(), 5u);
  EXPECT_TRUE(store_->list_rounds(0)->empty());
}

// --- Clients ----------------------------------------------------------------

TEST_F(StoreTest, EnrolmentRoundTripsByIdAndByKey) {
  auto first = store_->enroll(sample_key(1), 500, "site-berlin");
  auto second = store_->enroll(sample_key(2), 600, std::nullopt);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_LT(*first, *second);

  auto by_id = store_->find_client(*first);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->client_id, *first);
  EXPECT_EQ(by_id->public_key, sample_key(1));
  EXPECT_EQ(by_id->enrolled_at_ms, 500);
  EXPECT_EQ(by_id->label, "site-berlin");

  auto by_key = store_->find_client_by_key(sample_key(2));
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(by_key->client_id, *second);
  EXPECT_EQ(by_key->label, std::nullopt);
}

TEST_F(StoreTest, ReEnrollingAKeyIsAlreadyExistsAndNamesTheExistingClient) {
  const uint64_t id = *store_->enroll(sample_key(1), 500, "first");
  auto again = store_->enroll(sample_key(1), 900, "second");
  ASSERT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("client " + std::to_string(id)), std::string::npos)
      << again.status().message();
  auto existing = store_->find_client_by_key(sample_key(1));
  EXPECT_EQ(existing->client_id, id);
  EXPECT_EQ(existing->label, "first");  // unchanged
}

TEST_F(StoreTest, UnknownClientsAreNotFound) {
  EXPECT_EQ(store_->find_client(1).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->find_client(std::numeric_limits<uint64_t>::max()).status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->find_client_by_key(sample_key(3)).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fl::coordinator
