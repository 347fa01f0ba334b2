// Store::update_metrics: metrics measured after a version was created are
// merged into it; bad input changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::open_store;
using testing::sample_version;

TEST(StoreUpdateMetrics, MergesNewNamesAndOverwritesExistingOnesKeepingTheRest) {
  auto store = open_store(":memory:");
  ASSERT_NE(store, nullptr);
  NewVersion v = sample_version("m", 1);
  v.metrics = {{"accuracy", 0.8}, {"loss", 0.4}};
  const int64_t id = *store->add_version(v);

  ASSERT_TRUE(store->update_metrics(id, {{"accuracy", 0.85}, {"f1", 0.7}}).ok());
  const VersionMetrics expected = {{"accuracy", 0.85}, {"f1", 0.7}, {"loss", 0.4}};
  EXPECT_EQ(store->get_version(id)->metrics, expected);
  EXPECT_EQ(store->list_versions("m")->front().metrics, expected);
}

TEST(StoreUpdateMetrics, EmptyMetricsAreANoOpOnAKnownVersion) {
  auto store = open_store(":memory:");
  const int64_t id = *store->add_version(sample_version("m", 1));
  EXPECT_TRUE(store->update_metrics(id, {}).ok());
  EXPECT_EQ(store->get_version(id)->metrics, sample_version("m", 1).metrics);
}

TEST(StoreUpdateMetrics, UnknownVersionIsNotFound) {
  auto store = open_store(":memory:");
  EXPECT_EQ(store->update_metrics(42, {{"accuracy", 0.5}}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store->update_metrics(42, {}).code(), ErrorCode::kNotFound);
}

TEST(StoreUpdateMetrics, NonFiniteOrUnnamedMetricsAreRejectedAndNothingChanges) {
  auto store = open_store(":memory:");
  const int64_t id = *store->add_version(sample_version("m", 1));
  const VersionMetrics before = store->get_version(id)->metrics;
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    // The good metric listed first must not be written either.
    const Status s = store->update_metrics(id, {{"a_good_one", 1.0}, {"accuracy", bad}});
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << s.to_string();
  }
  EXPECT_EQ(store->update_metrics(id, {{"", 1.0}}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->get_version(id)->metrics, before);
}

}  // namespace
}  // namespace fl::coordinator
