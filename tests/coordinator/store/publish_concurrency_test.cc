// The registry's central invariant under contention: once a model has a
// published version it has exactly one, whatever mix of adds, publishes,
// rollbacks and retirements runs concurrently.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::published_count;
using testing::sample_version;

constexpr int kThreads = 8;
const std::vector<std::string> kModels = {"a", "b"};

// One worker: random registry operations on `store`, checking the invariant
// for both models after every one. Returns the number of violations seen.
int churn(Store& store, uint32_t seed, int operations, std::atomic<int>& failed_ops) {
  std::mt19937 rng(seed);
  int violations = 0;
  for (int i = 0; i < operations; ++i) {
    const std::string& model = kModels[rng() % kModels.size()];
    auto versions = store.list_versions(model);
    if (!versions.ok() || versions->empty()) {
      ++failed_ops;
      continue;
    }
    const ModelVersion& pick = (*versions)[rng() % versions->size()];
    Status status;
    switch (rng() % 4) {
      case 0: {  // a round produced a new candidate
        status = store.add_version(sample_version(model, rng(), versions->back().id)).status();
        break;
      }
      case 1: {  // publish the newest
        status = store.publish(model, versions->back().id);
        break;
      }
      case 2: {  // roll back (or forward) to any version
        status = store.publish(model, pick.id);
        break;
      }
      default: {  // retire a candidate; refused for the published one
        status = store.set_stage(pick.id, VersionStage::kRetired);
        if (status.code() == ErrorCode::kFailedPrecondition) status = Status::Ok();
        break;
      }
    }
    if (!status.ok()) ++failed_ops;
    for (const std::string& m : kModels) violations += published_count(store, m) != 1;
  }
  return violations;
}

void seed_models(Store& store) {
  for (const std::string& model : kModels) {
    auto id = store.add_version(sample_version(model, 0));
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(store.publish(model, *id).ok());
  }
}

TEST(StorePublishConcurrency, ExactlyOnePublishedVersionUnderEightThreadsSharingAStore) {
  auto store = open_store(":memory:");
  ASSERT_NE(store, nullptr);
  seed_models(*store);

  std::atomic<int> violations{0};
  std::atomic<int> failed_ops{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { violations += churn(*store, 1000 + t, 150, failed_ops); });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(failed_ops.load(), 0);
  for (const std::string& model : kModels) EXPECT_EQ(published_count(*store, model), 1u);
}

// Separate connections to one file: here SQLite's locking (BEGIN IMMEDIATE
// and the busy timeout), not our mutex, keeps the writers apart.
TEST(StorePublishConcurrency, ExactlyOnePublishedVersionUnderEightConnectionsToOneFile) {
  testing::TempDir dir;
  const std::string path = dir.file("registry.db");
  {
    auto store = open_store(path);
    ASSERT_NE(store, nullptr);
    seed_models(*store);
  }

  std::atomic<int> violations{0};
  std::atomic<int> failed_ops{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto store = SqliteStore::open(path, {.busy_timeout_ms = 60'000});
      if (!store.ok()) {
        ADD_FAILURE() << store.status().to_string();
        return;
      }
      violations += churn(**store, 2000 + t, 25, failed_ops);
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(failed_ops.load(), 0);
  auto store = open_store(path);
  for (const std::string& model : kModels) EXPECT_EQ(published_count(*store, model), 1u);
  EXPECT_EQ(testing::integrity_check(path), "ok");
}

}  // namespace
}  // namespace fl::coordinator
