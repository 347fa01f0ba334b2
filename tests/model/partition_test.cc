// Partitioners: every example goes to exactly one client, and each kind skews
// labels (or sizes) the way its paper describes.
#include "model/partition.h"

#include <gtest/gtest.h>

#include <set>

namespace fl::model {
namespace {

Eigen::VectorXi balanced_labels(int n, int classes) {
  Eigen::VectorXi labels(n);
  for (int i = 0; i < n; ++i) labels[i] = i % classes;
  return labels;
}

void expect_exact_cover(const Partition& p, int64_t n) {
  std::vector<int> seen(static_cast<size_t>(n), 0);
  for (const auto& client : p)
    for (int64_t i : client) {
      ASSERT_GE(i, 0);
      ASSERT_LT(i, n);
      ++seen[static_cast<size_t>(i)];
    }
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << "example " << i;
}

TEST(Partition, IidIsBalancedAndCoversEveryExampleOnce) {
  const auto labels = balanced_labels(1003, 10);
  auto p = make_partition(labels, 10, 10, {.kind = PartitionKind::kIid}, 7);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  expect_exact_cover(*p, 1003);
  for (const auto& c : *p) {
    EXPECT_GE(c.size(), 100u);
    EXPECT_LE(c.size(), 101u);
  }
  const auto s = summarize_partition(*p, labels, 10);
  EXPECT_GT(s.mean_classes, 9.9);
  EXPECT_LT(s.mean_total_variation, 0.15);
}

TEST(Partition, SmallDirichletAlphaSkewsLabelsAndLargeAlphaIsNearUniform) {
  const auto labels = balanced_labels(10000, 10);
  auto skewed =
      make_partition(labels, 10, 50, {.kind = PartitionKind::kDirichlet, .alpha = 0.05}, 3);
  auto uniform =
      make_partition(labels, 10, 50, {.kind = PartitionKind::kDirichlet, .alpha = 1000}, 3);
  ASSERT_TRUE(skewed.ok());
  ASSERT_TRUE(uniform.ok());
  expect_exact_cover(*skewed, 10000);
  expect_exact_cover(*uniform, 10000);
  const auto s = summarize_partition(*skewed, labels, 10);
  const auto u = summarize_partition(*uniform, labels, 10);
  EXPECT_LT(s.mean_entropy_bits, 1.5);
  EXPECT_GT(s.mean_total_variation, 0.6);
  EXPECT_GT(u.mean_entropy_bits, 3.2);  // log2(10) = 3.32
  EXPECT_LT(u.mean_total_variation, 0.1);
  EXPECT_GE(s.min_size, 1);  // nobody is left without data
}

TEST(Partition, ShardsGiveAtMostTwoLabelsPerClient) {
  const auto labels = balanced_labels(6000, 10);
  auto p =
      make_partition(labels, 10, 100, {.kind = PartitionKind::kShards, .shards_per_client = 2}, 11);
  ASSERT_TRUE(p.ok());
  expect_exact_cover(*p, 6000);
  for (const auto& c : *p) {
    std::set<int> present;
    for (int64_t i : c) present.insert(labels[i]);
    EXPECT_LE(present.size(), 2u);
    EXPECT_EQ(c.size(), 60u);
  }
}

TEST(Partition, ShardsStayWithinAClassWhenSizesDoNotDivide) {
  Eigen::VectorXi labels(997);
  for (int i = 0; i < 997; ++i) labels[i] = (i * 7) % 3 == 0 ? 0 : (i % 5 == 0 ? 1 : 2);
  auto p = make_partition(labels, 3, 13, {.kind = PartitionKind::kShards}, 5);
  ASSERT_TRUE(p.ok());
  expect_exact_cover(*p, 997);
  for (const auto& c : *p) {
    std::set<int> present;
    for (int64_t i : c) present.insert(labels[i]);
    EXPECT_LE(present.size(), 2u);
  }
}

TEST(Partition, QuantitySkewVariesSizesButNotLabels) {
  const auto labels = balanced_labels(20000, 10);
  for (auto sizes : {QuantityDistribution::kPowerLaw, QuantityDistribution::kDirichlet}) {
    auto p = make_partition(
        labels, 10, 40, {.kind = PartitionKind::kQuantitySkew, .sizes = sizes, .min_examples = 10},
        9);
    ASSERT_TRUE(p.ok());
    expect_exact_cover(*p, 20000);
    const auto s = summarize_partition(*p, labels, 10);
    EXPECT_GE(s.min_size, 10);
    EXPECT_GT(s.max_size, 3 * s.median_size);
  }
}

TEST(Partition, SameSeedSamePartition) {
  const auto labels = balanced_labels(3000, 10);
  const PartitionSpec spec{.kind = PartitionKind::kDirichlet, .alpha = 0.3};
  auto a = make_partition(labels, 10, 30, spec, 42);
  auto b = make_partition(labels, 10, 30, spec, 42);
  auto c = make_partition(labels, 10, 30, spec, 43);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(Partition, RefusesMoreClientsThanExamples) {
  const auto labels = balanced_labels(10, 2);
  EXPECT_FALSE(make_partition(labels, 2, 11, {}, 1).ok());
}

TEST(PartitionSpecText, EveryKindRoundTripsThroughItsCommandLineForm) {
  const std::vector<PartitionSpec> specs = {
      {.kind = PartitionKind::kIid},
      {.kind = PartitionKind::kDirichlet, .alpha = 0.1 + 0.2},  // not exact in binary
      {.kind = PartitionKind::kShards, .shards_per_client = 3},
      {.kind = PartitionKind::kQuantitySkew, .exponent = 2.5},
      {.kind = PartitionKind::kQuantitySkew,
       .sizes = QuantityDistribution::kDirichlet,
       .beta = 0.7}};
  for (const PartitionSpec& spec : specs) {
    const std::string text = format_partition_spec(spec);
    auto parsed = parse_partition_spec(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status().to_string();
    const auto labels = balanced_labels(2000, 10);
    EXPECT_EQ(*make_partition(labels, 10, 20, *parsed, 9), *make_partition(labels, 10, 20, spec, 9))
        << text;
  }
  EXPECT_EQ(parse_partition_spec("quantity:1.5")->exponent, 1.5);
}

TEST(PartitionSpecText, RefusesBadValuesNamingWhatIsWrong) {
  for (const char* bad :
       {"", "iid:2", "dirichlet", "dirichlet:0", "dirichlet:-1", "dirichlet:x", "shards:0",
        "shards:1.5", "quantity:", "quantity:dirichlet:0", "zipf:2"}) {
    auto parsed = parse_partition_spec(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_FALSE(parsed.status().message().empty());
  }
  EXPECT_NE(parse_partition_spec("dirichlet:-1").status().message().find("alpha"),
            std::string::npos);
}

}  // namespace
}  // namespace fl::model
