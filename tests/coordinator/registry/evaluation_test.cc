// Federated evaluation: adding up the clients' counts gives exactly the
// metrics of scoring the model on all their data at once, however the data
// is split; malformed reports are refused, naming the report.
#include "coordinator/registry/evaluation.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <vector>

#include "model/metrics.h"
#include "model/model.h"
#include "tests/model/test_data.h"

namespace fl::coordinator {
namespace {

using model::testing::make_blobs;
using model::testing::make_linear;

// A classifier with random weights: its predictions spread over the classes
// and err often, so every metric is far from 0 and 1 and a wrong sum shows.
model::Model random_classifier(int dim, int classes, uint64_t seed) {
  model::ModelSpec spec = model::ModelSpec::softmax_regression(dim, classes);
  model::Model m = *model::create_model(spec, seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (Eigen::Index i = 0; i < m.params.size(); ++i) m.params[i] = normal(rng);
  return m;
}

// Splits 0..n-1 into `clients` non-empty random parts.
std::vector<std::vector<int64_t>> random_partition(int64_t n, int clients, uint64_t seed) {
  std::vector<int64_t> order = model::shuffled_indices(n, seed);
  std::mt19937_64 rng(seed + 1);
  std::vector<int64_t> cuts;
  for (int c = 1; c < clients; ++c) cuts.push_back(1 + static_cast<int64_t>(rng() % (n - 1)));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<std::vector<int64_t>> parts;
  int64_t start = 0;
  cuts.push_back(n);
  for (int64_t cut : cuts) {
    parts.emplace_back(order.begin() + start, order.begin() + cut);
    start = cut;
  }
  return parts;
}

void expect_matches_central_evaluation(const model::Model& m, const model::Dataset& all,
                                       const std::vector<std::vector<int64_t>>& parts) {
  std::vector<EvaluationCounts> reports;
  for (const auto& part : parts) {
    auto counts = evaluation_counts(m, model::subset(all, part));
    ASSERT_TRUE(counts.ok()) << counts.status().to_string();
    reports.push_back(*counts);
  }
  auto combined = combine_evaluations(reports);
  ASSERT_TRUE(combined.ok()) << combined.status().to_string();
  auto central = model::evaluate(m, all);
  ASSERT_TRUE(central.ok());
  const model::ClassificationMetrics& c = *central->classification;

  EXPECT_EQ(combined->at("examples"), static_cast<double>(all.size()));
  EXPECT_NEAR(combined->at("accuracy"), c.accuracy, 1e-12);
  EXPECT_NEAR(combined->at("precision"), c.macro.precision, 1e-12);
  EXPECT_NEAR(combined->at("recall"), c.macro.recall, 1e-12);
  EXPECT_NEAR(combined->at("f1"), c.macro.f1, 1e-12);
  // Losses are float32 sums on each side, added in a different order.
  EXPECT_NEAR(combined->at("loss"), central->loss, 1e-5 * central->loss);
  EXPECT_GT(c.accuracy, 0.05);  // the comparison is not between two zeros
  EXPECT_LT(c.accuracy, 0.95);
}

TEST(FederatedEvaluation, CombinedCountsEqualEvaluatingTheUnionForRandomPartitions) {
  for (uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const model::Dataset all = make_blobs(400, 5, 4, seed, 1.5f);
    const model::Model m = random_classifier(5, 4, seed);
    const int clients = 1 + static_cast<int>(seed % 6);
    expect_matches_central_evaluation(m, all, random_partition(all.size(), clients, seed));
  }
}

TEST(FederatedEvaluation, CombinedCountsEqualTheUnionWhenClientsEachSeeOneClass) {
  // The non-IID extreme: no client alone can compute a meaningful precision,
  // which is why clients report counts, not their own metrics.
  const model::Dataset all = make_blobs(300, 3, 3, 7, 1.0f);
  const model::Model m = random_classifier(3, 3, 7);
  std::vector<std::vector<int64_t>> by_class(3);
  for (int64_t i = 0; i < all.size(); ++i) by_class[all.labels[i]].push_back(i);
  expect_matches_central_evaluation(m, all, by_class);
}

TEST(FederatedEvaluation, CombinesHandComputedCounts) {
  // Union: [[4, 1], [2, 6]]: 13 examples, 10 correct.
  const std::vector<EvaluationCounts> reports = {
      {.examples = 6, .loss_sum = 3.0, .num_classes = 2, .confusion = {3, 1, 0, 2}},
      {.examples = 7, .loss_sum = 0.5, .num_classes = 2, .confusion = {1, 0, 2, 4}},
  };
  auto m = combine_evaluations(reports);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const double p0 = 4.0 / 6, p1 = 6.0 / 7, r0 = 4.0 / 5, r1 = 6.0 / 8;
  EXPECT_EQ(m->at("examples"), 13.0);
  EXPECT_DOUBLE_EQ(m->at("accuracy"), 10.0 / 13);
  EXPECT_DOUBLE_EQ(m->at("precision"), (p0 + p1) / 2);
  EXPECT_DOUBLE_EQ(m->at("recall"), (r0 + r1) / 2);
  EXPECT_DOUBLE_EQ(m->at("f1"), (2 * p0 * r0 / (p0 + r0) + 2 * p1 * r1 / (p1 + r1)) / 2);
  EXPECT_DOUBLE_EQ(m->at("loss"), 3.5 / 13);
}

TEST(FederatedEvaluation, AClassNeverPredictedOrAbsentScoresZeroAsInScikitLearn) {
  // Class 1 is never predicted (precision 0/0 -> 0), class 2 never occurs
  // and is never predicted (recall 0/0 -> 0); macro averages over all three.
  const std::vector<EvaluationCounts> reports = {
      {.examples = 5, .loss_sum = 1.0, .num_classes = 3, .confusion = {2, 0, 0, 3, 0, 0, 0, 0, 0}},
  };
  auto m = combine_evaluations(reports);
  ASSERT_TRUE(m.ok());
  const double p0 = 2.0 / 5, r0 = 1.0;
  EXPECT_DOUBLE_EQ(m->at("precision"), p0 / 3);
  EXPECT_DOUBLE_EQ(m->at("recall"), r0 / 3);
  EXPECT_DOUBLE_EQ(m->at("f1"), (2 * p0 * r0 / (p0 + r0)) / 3);
}

// A valid report to corrupt one field of.
EvaluationCounts valid() {
  return {.examples = 4, .loss_sum = 1.0, .num_classes = 2, .confusion = {1, 1, 1, 1}};
}

void expect_report_refused(EvaluationCounts bad, const std::string& why) {
  SCOPED_TRACE(why);
  const std::vector<EvaluationCounts> reports = {valid(), valid(), std::move(bad)};
  auto m = combine_evaluations(reports);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("report 2"), std::string::npos) << m.status().to_string();
}

TEST(FederatedEvaluation, MalformedReportsAreRefusedNamingTheReport) {
  EvaluationCounts r = valid();
  r.num_classes = 3;
  r.confusion.assign(9, 0);
  r.confusion[0] = 4;
  expect_report_refused(r, "mismatched num_classes");

  r = valid();
  r.confusion = {1, 1, 1};
  expect_report_refused(r, "confusion of the wrong size");

  r = valid();
  r.confusion = {3, -1, 1, 1};
  expect_report_refused(r, "negative cell");

  r = valid();
  r.examples = -4;
  expect_report_refused(r, "negative examples");

  r = valid();
  r.examples = 0;
  r.confusion = {0, 0, 0, 0};
  expect_report_refused(r, "zero examples");

  r = valid();
  r.examples = 5;
  expect_report_refused(r, "examples disagree with the confusion matrix");

  r = valid();
  r.loss_sum = std::nan("");
  expect_report_refused(r, "non-finite loss");

  r = valid();
  r.loss_sum = -1;
  expect_report_refused(r, "negative loss");
}

TEST(FederatedEvaluation, NoReportsOrTooFewClassesAreRefused) {
  EXPECT_EQ(combine_evaluations({}).status().code(), ErrorCode::kInvalidArgument);
  const std::vector<EvaluationCounts> one_class = {
      {.examples = 2, .loss_sum = 0, .num_classes = 1, .confusion = {2}}};
  EXPECT_EQ(combine_evaluations(one_class).status().code(), ErrorCode::kInvalidArgument);
}

TEST(FederatedEvaluation, CountsNeedDataTheModelCanScore) {
  const model::Model classifier = random_classifier(5, 3, 1);
  const model::Dataset wrong_width = make_blobs(10, 4, 3, 1);
  EXPECT_FALSE(evaluation_counts(classifier, wrong_width).ok());
  const model::Model regressor = *model::create_model(model::ModelSpec::linear_regression(3), 1);
  EXPECT_FALSE(evaluation_counts(regressor, make_blobs(10, 4, 3, 1)).ok());
}

// --- Regression ---------------------------------------------------------------

// A linear regressor with weights off the data's true ones, so errors are
// large and uneven across examples and a wrong sum shows.
model::Model random_regressor(int dim, uint64_t seed) {
  model::Model m = *model::create_model(model::ModelSpec::linear_regression(dim), seed);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (Eigen::Index i = 0; i < m.params.size(); ++i) m.params[i] = normal(rng);
  return m;
}

TEST(FederatedEvaluation, RegressionCountsEqualEvaluatingTheUnionForRandomPartitions) {
  for (uint64_t seed : {11u, 12u, 13u, 14u, 15u, 16u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Eigen::VectorXf w = Eigen::VectorXf::LinSpaced(4, -1.0f, 2.0f);
    const model::Dataset all = make_linear(300, w, 0.5f, 0.3f, seed);
    const model::Model m = random_regressor(4, seed);
    const int clients = 1 + static_cast<int>(seed % 7);
    std::vector<EvaluationCounts> reports;
    for (const auto& part : random_partition(all.size(), clients, seed)) {
      auto counts = evaluation_counts(m, model::subset(all, part));
      ASSERT_TRUE(counts.ok()) << counts.status().to_string();
      EXPECT_TRUE(counts->is_regression());
      EXPECT_TRUE(counts->confusion.empty());
      reports.push_back(*counts);
    }
    auto combined = combine_evaluations(reports);
    ASSERT_TRUE(combined.ok()) << combined.status().to_string();
    auto central = model::evaluate(m, all);
    ASSERT_TRUE(central.ok());
    const model::RegressionMetrics& r = *central->regression;
    EXPECT_EQ(combined->at("examples"), static_cast<double>(all.size()));
    // Sums in double of float predictions, added in another order.
    EXPECT_NEAR(combined->at("mse"), r.mse, 1e-9 * r.mse);
    EXPECT_NEAR(combined->at("mae"), r.mae, 1e-9 * r.mae);
    EXPECT_NEAR(combined->at("loss"), central->loss, 1e-5 * central->loss);
    EXPECT_GT(r.mse, 1.0);                       // the comparison is not between two zeros
    EXPECT_EQ(combined->count("accuracy"), 0u);  // no classification metric for a regressor
  }
}

TEST(FederatedEvaluation, CombinesHandComputedRegressionCounts) {
  const std::vector<EvaluationCounts> reports = {
      {.examples = 2,
       .loss_sum = 1.0,
       .num_classes = 0,
       .confusion = {},
       .squared_error_sum = 2.0,
       .absolute_error_sum = 2.0},
      {.examples = 3,
       .loss_sum = 4.5,
       .num_classes = 0,
       .confusion = {},
       .squared_error_sum = 9.0,
       .absolute_error_sum = 4.0},
  };
  auto m = combine_evaluations(reports);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->at("examples"), 5.0);
  EXPECT_DOUBLE_EQ(m->at("mse"), 11.0 / 5);
  EXPECT_DOUBLE_EQ(m->at("mae"), 6.0 / 5);
  EXPECT_DOUBLE_EQ(m->at("loss"), 5.5 / 5);
}

EvaluationCounts valid_regression() {
  return {.examples = 4,
          .loss_sum = 1.0,
          .num_classes = 0,
          .confusion = {},
          .squared_error_sum = 2.0,
          .absolute_error_sum = 2.5};
}

void expect_regression_report_refused(EvaluationCounts bad, const std::string& why) {
  SCOPED_TRACE(why);
  const std::vector<EvaluationCounts> reports = {valid_regression(), std::move(bad)};
  auto m = combine_evaluations(reports);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("report 1"), std::string::npos) << m.status().to_string();
}

TEST(FederatedEvaluation, MalformedRegressionReportsAreRefusedNamingTheReport) {
  EvaluationCounts r = valid_regression();
  r.squared_error_sum = -1;
  expect_regression_report_refused(r, "negative squared error");

  r = valid_regression();
  r.squared_error_sum = std::numeric_limits<double>::infinity();
  expect_regression_report_refused(r, "infinite squared error");

  r = valid_regression();
  r.absolute_error_sum = std::nan("");
  expect_regression_report_refused(r, "non-finite absolute error");

  r = valid_regression();
  r.absolute_error_sum = -0.5;
  expect_regression_report_refused(r, "negative absolute error");

  r = valid_regression();
  r.confusion = {4};
  expect_regression_report_refused(r, "confusion cells in a regression report");

  r = valid_regression();
  r.examples = 0;
  expect_regression_report_refused(r, "zero examples");

  r = valid_regression();
  r.loss_sum = std::nan("");
  expect_regression_report_refused(r, "non-finite loss");

  // Sums no real errors can give: (sum |e|)^2 > n * sum e^2.
  r = valid_regression();
  r.squared_error_sum = 0;
  r.absolute_error_sum = 1;
  expect_regression_report_refused(r, "absolute errors without squared ones");

  expect_regression_report_refused(valid(), "a classification report among regression ones");
}

// One hostile client's 2^62 examples would overflow the sum with anyone's
// report (an inconclusive evaluation, every version held) or swamp them.
TEST(FederatedEvaluation, AReportCountingMoreExamplesThanADeviceHoldsIsRefused) {
  EvaluationCounts huge = valid_regression();
  huge.examples = int64_t{1} << 62;
  huge.squared_error_sum = 1e30;
  huge.absolute_error_sum = 1e10;
  const EvaluationCounts reports[] = {valid_regression(), huge};
  auto combined = combine_evaluations(reports);
  ASSERT_FALSE(combined.ok());
  EXPECT_NE(combined.status().message().find("report 1"), std::string::npos)
      << combined.status().message();
  EXPECT_NE(combined.status().message().find("examples in one report"), std::string::npos)
      << combined.status().message();
  huge.examples = kMaxEvaluationExamples;
  const EvaluationCounts at_limit[] = {valid_regression(), huge};
  EXPECT_TRUE(combine_evaluations(at_limit).ok());
}

TEST(FederatedEvaluation, ARegressionReportAmongClassificationOnesIsRefused) {
  const std::vector<EvaluationCounts> mixed = {valid(), valid_regression()};
  auto m = combine_evaluations(mixed);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("report 1: is a regression report where report 0 is a "
                                      "classification report"),
            std::string::npos)
      << m.status().to_string();

  EvaluationCounts with_errors = valid();
  with_errors.squared_error_sum = 1.0;
  expect_report_refused(with_errors, "error sums in a classification report");
}

}  // namespace
}  // namespace fl::coordinator
