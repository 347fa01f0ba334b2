// complete_round is one transaction: when any statement in it fails, the
// round stays running and no version (nor any of its metrics) is left behind.
//
// The failures are injected with SQL triggers written to the database file by
// a second connection, so they strike in the middle of the store's own
// transaction, after earlier statements of it have succeeded.
#include <gtest/gtest.h>

#include <cmath>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::run_sql;
using testing::sample_version;

constexpr StageCounts kCounts{
    .selected = 10, .advertised = 9, .shared_keys = 9, .masked_input = 8, .unmasked = 8};

class RoundCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("store.db");
    store_ = open_store(path_);
    ASSERT_NE(store_, nullptr);
    base_ = *store_->add_version(sample_version("m", 1));
    ASSERT_TRUE(store_->publish("m", base_).ok());
    round_ = *store_->begin_round({"p", base_, 100});
  }

  // What a failed commit must leave: the round running, only the base version.
  void expect_nothing_committed() {
    auto round = store_->get_round(round_);
    ASSERT_TRUE(round.ok());
    EXPECT_EQ(round->state, RoundState::kRunning);
    EXPECT_EQ(round->result_version_id, std::nullopt);
    EXPECT_EQ(round->counts, StageCounts{});
    auto versions = store_->list_versions("m");
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), 1u);
    EXPECT_EQ((*versions)[0].id, base_);
    EXPECT_EQ((*versions)[0].stage, VersionStage::kPublished);
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
  int64_t base_ = 0;
  int64_t round_ = 0;
};

TEST_F(RoundCommitTest, FailureMarkingTheRoundCompletedUndoesTheNewVersion) {
  // Strikes the last statement: the version row and its metrics are written by then.
  run_sql(path_,
          "CREATE TRIGGER inject BEFORE UPDATE OF state ON rounds"
          " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  auto result = store_->complete_round(round_, kCounts, sample_version("m", 2), 200);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("injected failure"), std::string::npos)
      << result.status().to_string();
  expect_nothing_committed();

  // Once the fault is gone the same call succeeds: the round can be re-committed.
  run_sql(path_, "DROP TRIGGER inject");
  auto retried = store_->complete_round(round_, kCounts, sample_version("m", 2), 300);
  ASSERT_TRUE(retried.ok()) << retried.status().to_string();
  EXPECT_EQ(store_->get_round(round_)->result_version_id, *retried);
  EXPECT_EQ(store_->list_versions("m")->size(), 2u);
}

TEST_F(RoundCommitTest, AVersionRowViolatingAConstraintLeavesTheRoundRunning) {
  // The version row is inserted, then one of its metric rows is refused.
  run_sql(path_,
          "CREATE TRIGGER inject BEFORE INSERT ON version_metrics WHEN NEW.name = 'loss'"
          " BEGIN SELECT RAISE(ABORT, 'metric rejected'); END");
  auto result = store_->complete_round(round_, kCounts, sample_version("m", 2), 200);
  ASSERT_FALSE(result.ok());
  expect_nothing_committed();
  // No orphaned metric rows either: the model's versions carry only the base's.
  EXPECT_EQ((*store_->list_versions("m"))[0].metrics, sample_version("m", 1).metrics);
}

TEST_F(RoundCommitTest, AnUnknownParentIsNotFoundAndLeavesTheRoundRunning) {
  auto result =
      store_->complete_round(round_, kCounts, sample_version("m", 2, /*parent=*/777), 200);
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
  expect_nothing_committed();
}

TEST_F(RoundCommitTest, AFailedPublishLeavesThePreviousVersionPublished) {
  const int64_t candidate = *store_->add_version(sample_version("m", 3));
  run_sql(path_,
          "CREATE TRIGGER inject BEFORE UPDATE OF stage ON model_versions"
          " WHEN NEW.stage = 'published' BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  EXPECT_FALSE(store_->publish("m", candidate).ok());  // fails after retiring the old one
  EXPECT_EQ(store_->get_version(base_)->stage, VersionStage::kPublished);
  EXPECT_EQ(store_->get_version(candidate)->stage, VersionStage::kCandidate);
}

}  // namespace
}  // namespace fl::coordinator

namespace fl::coordinator {
namespace {

PrivacySpend sample_spend(double epsilon) {
  PrivacySpend p;
  p.mechanism = "central";
  p.sampling_rate = 0.1;
  p.noise_multiplier = 1.1;
  p.clip = 0.5;
  p.expected_clients = 100;
  p.survivors = 93;
  p.epsilon = epsilon;
  p.delta = 1e-5;
  p.order = 12;
  return p;
}

TEST_F(RoundCommitTest, PrivacyLedgerRowIsCommittedWithTheVersionAndSurvivesReopening) {
  auto v = store_->complete_round(round_, kCounts, sample_version("m", 2), 200, sample_spend(0.7));
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  store_.reset();
  store_ = open_store(path_);
  auto ledger = store_->privacy_ledger("p");
  ASSERT_TRUE(ledger.ok()) << ledger.status().to_string();
  ASSERT_EQ(ledger->size(), 1u);
  const PrivacyLedgerEntry& e = (*ledger)[0];
  EXPECT_EQ(e.round_id, round_);
  EXPECT_EQ(e.version_id, *v);
  EXPECT_EQ(e.population, "p");
  EXPECT_EQ(e.spend.mechanism, "central");
  EXPECT_EQ(e.spend.survivors, 93u);
  EXPECT_DOUBLE_EQ(e.spend.epsilon, 0.7);
  EXPECT_DOUBLE_EQ(e.spend.noise_multiplier, 1.1);
  EXPECT_TRUE(store_->privacy_ledger("other")->empty());
}

TEST_F(RoundCommitTest, FailedCommitLeavesNoPrivacyRowAndNoVersion) {
  run_sql(path_,
          "CREATE TRIGGER inject BEFORE INSERT ON privacy_ledger"
          " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  auto result =
      store_->complete_round(round_, kCounts, sample_version("m", 2), 200, sample_spend(0.7));
  ASSERT_FALSE(result.ok());
  expect_nothing_committed();
  EXPECT_TRUE(store_->privacy_ledger("p")->empty());
}

TEST_F(RoundCommitTest, InvalidPrivacySpendIsRefusedBeforeAnythingIsWritten) {
  PrivacySpend bad = sample_spend(0.7);
  bad.noise_multiplier = 0;
  EXPECT_FALSE(store_->complete_round(round_, kCounts, sample_version("m", 2), 200, bad).ok());
  bad = sample_spend(std::nan(""));
  EXPECT_FALSE(store_->complete_round(round_, kCounts, sample_version("m", 2), 200, bad).ok());
  bad = sample_spend(0.7);
  bad.mechanism = "laplace";
  EXPECT_FALSE(store_->complete_round(round_, kCounts, sample_version("m", 2), 200, bad).ok());
  expect_nothing_committed();
}

// The bounded read the admin API and /metrics use: the newest rows in round
// order, and the count of the whole ledger, of that population only.
TEST_F(RoundCommitTest, LedgerTailIsTheNewestRowsOldestFirstWithTheWholeCount) {
  ASSERT_TRUE(
      store_->complete_round(round_, kCounts, sample_version("m", 2), 200, sample_spend(0.5)).ok());
  for (int i = 1; i < 5; ++i) {
    const int64_t round = *store_->begin_round({"p", base_, 100 + i});
    ASSERT_TRUE(store_
                    ->complete_round(round, kCounts, sample_version("m", 2 + i), 200 + i,
                                     sample_spend(0.5 + i))
                    .ok());
  }
  const int64_t elsewhere = *store_->begin_round({"q", base_, 300});
  ASSERT_TRUE(
      store_->complete_round(elsewhere, kCounts, sample_version("m", 9), 301, sample_spend(9))
          .ok());

  auto tail = store_->privacy_ledger_tail("p", 2);
  ASSERT_TRUE(tail.ok()) << tail.status().to_string();
  EXPECT_EQ(tail->rounds, 5u);
  ASSERT_EQ(tail->rows.size(), 2u);
  EXPECT_DOUBLE_EQ(tail->rows[0].spend.epsilon, 3.5);
  EXPECT_DOUBLE_EQ(tail->rows[1].spend.epsilon, 4.5);
  EXPECT_LT(tail->rows[0].round_id, tail->rows[1].round_id);
  EXPECT_EQ(tail->rows[1].round_id, store_->privacy_ledger("p")->back().round_id);

  EXPECT_EQ(store_->privacy_ledger_tail("p", 100)->rows.size(), 5u);
  auto count_only = store_->privacy_ledger_tail("p", 0);
  EXPECT_EQ(count_only->rounds, 5u);
  EXPECT_TRUE(count_only->rows.empty());
  auto none = store_->privacy_ledger_tail("nobody", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->rounds, 0u);
  EXPECT_TRUE(none->rows.empty());
}

}  // namespace
}  // namespace fl::coordinator
