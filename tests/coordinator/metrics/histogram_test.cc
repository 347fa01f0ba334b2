#include "coordinator/metrics/histogram.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

namespace fl::metrics {
namespace {

TEST(Histogram, AnObservationEqualToABoundCountsInThatBucket) {
  const std::vector<double> bounds = {0.1, 1.0};
  Histogram histogram(bounds);
  histogram.observe(0.1);  // le="0.1" means <= 0.1
  histogram.observe(1.0);
  histogram.observe(1.0000001);
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative_counts, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(Histogram, CountsAreCumulativeAndTheLastIsTheTotal) {
  const std::vector<double> bounds = {1, 2, 4};
  Histogram histogram(bounds);
  for (double value : {-3.0, 0.5, 1.5, 3.0, 3.5, 100.0}) histogram.observe(value);
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative_counts, (std::vector<uint64_t>{2, 3, 5, 6}));
  EXPECT_EQ(snapshot.count(), 6u);
  EXPECT_EQ(snapshot.sum, 105.5);
}

TEST(Histogram, IgnoresNaNSoTheSumStaysUsable) {
  const std::vector<double> bounds = {1};
  Histogram histogram(bounds);
  histogram.observe(std::numeric_limits<double>::quiet_NaN());
  histogram.observe(0.5);
  EXPECT_EQ(histogram.snapshot().count(), 1u);
  EXPECT_EQ(histogram.snapshot().sum, 0.5);
}

TEST(Histogram, InfinityLandsInTheImplicitInfBucket) {
  const std::vector<double> bounds = {1};
  Histogram histogram(bounds);
  histogram.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(histogram.snapshot().cumulative_counts, (std::vector<uint64_t>{0, 1}));
}

TEST(HistogramBuckets, HelpersProduceValidBounds) {
  EXPECT_EQ(linear_buckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(exponential_buckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1.0}));
  EXPECT_TRUE(validate_bucket_bounds(default_buckets()).ok());
  EXPECT_TRUE(validate_bucket_bounds(exponential_buckets(0.0001, 2.5, 12)).ok());
}

}  // namespace
}  // namespace fl::metrics
