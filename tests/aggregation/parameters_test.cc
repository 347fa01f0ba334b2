// The k/t rule and the neighbour graph.
#include "aggregation/secagg/parameters.h"

#include <gtest/gtest.h>

#include <cmath>

#include "aggregation/secagg/neighbour_graph.h"

namespace fl::aggregation::secagg {
namespace {

TEST(Parameters, ThresholdExceedsHalfTheNeighbourhoodAndMeetsBothBounds) {
  for (uint64_t n : {10u, 100u, 1000u, 10000u}) {
    ParameterInputs in{.cohort_size = n, .dropout_fraction = 0.1, .corrupt_fraction = 0.05};
    auto p = choose_parameters(in);
    ASSERT_TRUE(p.ok()) << n << ": " << p.status().message();
    const uint32_t m = p->degree + 1;
    EXPECT_GT(p->threshold, m / 2) << n;
    EXPECT_LE(p->threshold, m);
    EXPECT_LE(p->privacy_failure_log2, -40.0);
    if (p->graph == GraphKind::kHarary) {
      EXPECT_EQ(p->degree % 2, 0u);
      EXPECT_LE(p->correctness_failure_log2, -20.0);
    }
  }
}

TEST(Parameters, HararyDegreeGrowsLogarithmically) {
  ParameterInputs in{.cohort_size = 1000, .dropout_fraction = 0.1, .corrupt_fraction = 0.05};
  auto small = choose_parameters(in);
  in.cohort_size = 100000;
  auto large = choose_parameters(in);
  ASSERT_TRUE(small.ok() && large.ok());
  EXPECT_EQ(small->graph, GraphKind::kHarary);
  // 100x the clients costs far less than 100x the neighbours.
  EXPECT_LT(large->degree, small->degree * 2);
  EXPECT_LT(small->degree, 200u);
}

TEST(Parameters, CompleteGraphUsesTheWholeCohort) {
  ParameterInputs in{.cohort_size = 500,
                     .dropout_fraction = 0.3,
                     .corrupt_fraction = 0.05,
                     .graph = GraphKind::kComplete};
  auto p = choose_parameters(in);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->degree, 499u);
  EXPECT_EQ(p->threshold, 251u);
}

TEST(Parameters, RefusesImpossibleSettings) {
  EXPECT_FALSE(choose_parameters({.cohort_size = 1}).ok());
  EXPECT_FALSE(choose_parameters({.cohort_size = 100, .dropout_fraction = 1.0}).ok());
  EXPECT_FALSE(choose_parameters({.cohort_size = 100, .dropout_fraction = -0.1}).ok());
  EXPECT_FALSE(choose_parameters({.cohort_size = 100, .corrupt_fraction = 0.5}).ok());
  // Small cohort, heavy dropout: the expected survivors fall below n/2 + 1.
  auto p = choose_parameters(
      {.cohort_size = 20, .dropout_fraction = 0.55, .graph = GraphKind::kComplete});
  EXPECT_FALSE(p.ok());
}

TEST(Parameters, BinomialTailMatchesADirectSum) {
  // P[Bin(10, 0.3) >= 7] = sum_{i=7}^{10} C(10,i) 0.3^i 0.7^(10-i)
  double direct = 0;
  for (int i = 7; i <= 10; ++i)
    direct += std::tgamma(11) / std::tgamma(i + 1) / std::tgamma(11 - i) * std::pow(0.3, i) *
              std::pow(0.7, 10 - i);
  EXPECT_NEAR(std::exp2(binomial_tail_log2(10, 0.3, 7)), direct, 1e-12);
  EXPECT_EQ(binomial_tail_log2(10, 0.3, 0), 0.0);
}

TEST(NeighbourGraph, HararyIsSymmetricRegularAndSharedByAllParties) {
  const std::vector<uint8_t> sid(32, 7);
  NeighbourGraph g(GraphKind::kHarary, 101, 10, sid);
  NeighbourGraph again(GraphKind::kHarary, 101, 10, sid);
  for (uint32_t u = 0; u < 101; ++u) {
    auto ns = g.neighbours(u);
    EXPECT_EQ(ns.size(), 10u);
    EXPECT_EQ(ns, again.neighbours(u));
    for (uint32_t v : ns) {
      EXPECT_TRUE(g.adjacent(u, v));
      EXPECT_TRUE(g.adjacent(v, u));
    }
    EXPECT_FALSE(g.adjacent(u, u));
  }
}

TEST(NeighbourGraph, DependsOnTheSession) {
  NeighbourGraph a(GraphKind::kHarary, 50, 6, std::vector<uint8_t>(32, 1));
  NeighbourGraph b(GraphKind::kHarary, 50, 6, std::vector<uint8_t>(32, 2));
  int differ = 0;
  for (uint32_t u = 0; u < 50; ++u) differ += a.neighbours(u) != b.neighbours(u);
  EXPECT_GT(differ, 25);
}

TEST(NeighbourGraph, LargeDegreeBecomesComplete) {
  NeighbourGraph g(GraphKind::kHarary, 8, 8, std::vector<uint8_t>(32, 1));
  EXPECT_EQ(g.neighbours(3).size(), 7u);
}

}  // namespace
}  // namespace fl::aggregation::secagg
