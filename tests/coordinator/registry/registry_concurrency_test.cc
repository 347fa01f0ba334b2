// The registry's invariants under contention: threads of the service racing
// each other, and an admin CLI with its own connection to the same SQLite
// file racing the service. Whatever interleaving happens, a model ends with
// exactly one published version, the publication history is one unbroken
// chain ending at it, and the service heard every change it made in the
// order it was committed.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "tests/coordinator/registry/registry_test_support.h"

namespace fl::coordinator {
namespace {

using testing::NotificationLog;
using testing::sample_version;

const std::string kModel = "m";

// Errors the operations may legitimately return under contention: a
// rollback with nothing to go back to, or to a newer or the current version
// (FailedPrecondition); across processes, a decision overtaken by the other
// process again and again (Aborted, changing nothing).
bool expected_refusal(const Status& status) {
  return status.ok() || status.code() == ErrorCode::kFailedPrecondition ||
         status.code() == ErrorCode::kAborted;
}

// One worker: random registry operations; returns the unexpected errors and
// counts the operations overtaken by another process (Aborted).
int churn(Registry& registry, Store& store, uint32_t seed, int operations,
          std::atomic<int>& aborted) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> accuracy(0.5, 1.0);
  int unexpected = 0;
  for (int i = 0; i < operations; ++i) {
    const int64_t now = 1'000'000 + i;
    auto versions = store.list_versions(kModel);
    if (!versions.ok() || versions->empty()) {
      ++unexpected;
      continue;
    }
    const int64_t pick = (*versions)[rng() % versions->size()].id;
    Status status;
    switch (rng() % 5) {
      case 0: {  // a round produced a candidate; the gate decides
        NewVersion v = sample_version(kModel, rng());
        v.metrics = {{"accuracy", accuracy(rng)}};
        auto id = store.add_version(v);
        status = id.ok() ? registry.consider(*id, now).status() : id.status();
        break;
      }
      case 1:
        status = registry.publish(kModel, pick, "manual", now, "admin");
        break;
      case 2:
        status = registry.rollback(kModel, std::nullopt, now).status();
        break;
      case 3:
        status = registry.rollback(kModel, pick, now).status();
        break;
      default:
        status = registry.observe(kModel, pick, {{"live_accuracy", accuracy(rng)}}, now).status();
        break;
    }
    aborted += status.code() == ErrorCode::kAborted;
    if (!expected_refusal(status)) {
      ADD_FAILURE() << status.to_string();
      ++unexpected;
    }
  }
  return unexpected;
}

// The history, oldest first, is a chain: each entry replaced the one before
// it, and the last is what is published now.
void expect_consistent_history(Store& store, size_t expected_entries) {
  auto versions = store.list_versions(kModel);
  ASSERT_TRUE(versions.ok());
  int64_t published = 0;
  size_t published_count = 0;
  for (const ModelVersion& v : *versions) {
    if (v.stage == VersionStage::kPublished) {
      published = v.id;
      ++published_count;
    }
  }
  EXPECT_EQ(published_count, 1u);

  auto history = store.list_publications(kModel, 1'000'000);
  ASSERT_TRUE(history.ok());
  ASSERT_FALSE(history->empty());
  EXPECT_EQ(history->size(), expected_entries);
  std::optional<int64_t> previous;
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    EXPECT_EQ(it->previous_version_id, previous) << "publication " << it->id;
    EXPECT_NE(std::optional<int64_t>(it->version_id), previous) << "publication " << it->id;
    previous = it->version_id;
  }
  EXPECT_EQ(history->front().version_id, published);
}

std::unique_ptr<Registry> make_registry(Store& store, NotificationLog& log) {
  RegistryOptions options;
  options.gate.tolerance = 0.05;
  options.monitor =
      MonitorPolicy{.metric = "live_accuracy", .floor = 0.6, .higher_is_better = true};
  options.callbacks = log.callbacks();
  auto registry = Registry::create(store, std::move(options));
  EXPECT_TRUE(registry.ok());
  return registry.ok() ? std::move(registry).value() : nullptr;
}

void seed_model(Store& store) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    NewVersion v = sample_version(kModel, seed);
    v.metrics = {{"accuracy", 0.7}};
    auto id = store.add_version(v);
    ASSERT_TRUE(id.ok());
    PublishInfo info;
    info.reason = "seed";
    ASSERT_TRUE(store.publish(kModel, *id, info).ok());
  }
}

TEST(RegistryConcurrency, ThreadsOfOneServiceKeepOnePublishedVersionAndHearItInOrder) {
  testing::TempDir dir;
  auto store = testing::open_store(dir.file("registry.db"));
  ASSERT_NE(store, nullptr);
  seed_model(*store);
  NotificationLog log;
  auto registry = make_registry(*store, log);
  ASSERT_NE(registry, nullptr);

  std::atomic<int> unexpected{0};
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] { unexpected += churn(*registry, *store, 100 + t, 60, aborted); });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(aborted.load(), 0);  // one process: its mutex leaves nothing to overtake
  const auto events = log.published();
  ASSERT_FALSE(events.empty());
  // Three seeded publishes plus one per notification: every change was heard.
  expect_consistent_history(*store, 3 + events.size());
  // Heard in commit order, so the service serves what the store says.
  EXPECT_EQ(events.back().version_id, store->latest_version(kModel, VersionStage::kPublished)->id);
  auto history = *store->list_publications(kModel, 1'000'000);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[events.size() - 1 - i].version_id, history[i].version_id) << i;
  }
}

// Two connections to one file, as when an operator's CLI runs beside the
// service: SQLite's locks and the registry's compare-and-set at commit keep
// them apart, not a shared mutex.
TEST(RegistryConcurrency, AnAdminCliOnTheSameFileRacingTheServiceKeepsTheInvariants) {
  testing::TempDir dir;
  const std::string path = dir.file("registry.db");
  auto service_store = SqliteStore::open(path, {.busy_timeout_ms = 60'000});
  ASSERT_TRUE(service_store.ok());
  seed_model(**service_store);
  auto cli_store = SqliteStore::open(path, {.busy_timeout_ms = 60'000});
  ASSERT_TRUE(cli_store.ok());

  NotificationLog service_log;
  NotificationLog cli_log;
  auto service = make_registry(**service_store, service_log);
  auto cli = make_registry(**cli_store, cli_log);
  ASSERT_NE(service, nullptr);
  ASSERT_NE(cli, nullptr);

  constexpr int kOperations = 40;
  std::atomic<int> unexpected{0};
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back(
        [&, t] { unexpected += churn(*service, **service_store, 200 + t, kOperations, aborted); });
    threads.emplace_back(
        [&, t] { unexpected += churn(*cli, **cli_store, 300 + t, kOperations, aborted); });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(unexpected.load(), 0);
  // Both sides got work done; giving up after repeated overtaking is rare.
  EXPECT_FALSE(service_log.published().empty());
  EXPECT_FALSE(cli_log.published().empty());
  EXPECT_LT(aborted.load(), 6 * kOperations / 20);
  expect_consistent_history(**service_store,
                            3 + service_log.published().size() + cli_log.published().size());
  EXPECT_EQ(testing::integrity_check(path), "ok");
}

}  // namespace
}  // namespace fl::coordinator
