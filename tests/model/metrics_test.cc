// Metrics agree with scikit-learn on the examples of its documentation.
#include "model/metrics.h"

#include <gtest/gtest.h>

namespace fl::model {
namespace {

Eigen::VectorXi ints(std::initializer_list<int> v) {
  Eigen::VectorXi out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (int x : v) out[i++] = x;
  return out;
}

Eigen::VectorXf floats(std::initializer_list<float> v) {
  Eigen::VectorXf out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (float x : v) out[i++] = x;
  return out;
}

// sklearn.metrics.precision_recall_fscore_support docs:
// y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
TEST(ClassificationMetrics, MatchScikitLearnOnItsDocumentedExample) {
  Result<ClassificationMetrics> m =
      classification_metrics(ints({0, 1, 2, 0, 1, 2}), ints({0, 2, 1, 0, 0, 1}), 3);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_DOUBLE_EQ(m->accuracy, 2.0 / 6.0);
  EXPECT_NEAR(m->macro.precision, 0.2222, 1e-4);
  EXPECT_NEAR(m->macro.recall, 0.3333, 1e-4);
  EXPECT_NEAR(m->macro.f1, 0.2667, 1e-4);
  EXPECT_NEAR(m->weighted.precision, 0.2222, 1e-4);
  EXPECT_NEAR(m->weighted.f1, 0.2667, 1e-4);
  EXPECT_NEAR(m->per_class[0].precision, 2.0 / 3.0, 1e-12);
  EXPECT_EQ(m->per_class[1].precision, 0.0);  // zero_division=0
  EXPECT_EQ(m->per_class[2].support, 2);
  // Confusion: rows are true classes, columns predictions.
  EXPECT_EQ(m->confusion(0, 0), 2);
  EXPECT_EQ(m->confusion(1, 0), 1);
  EXPECT_EQ(m->confusion(1, 2), 1);
  EXPECT_EQ(m->confusion(2, 1), 2);
  EXPECT_EQ(m->confusion.sum(), 6);
  EXPECT_FALSE(m->log_loss.has_value());
}

TEST(ClassificationMetrics, WeightedAveragesFollowSupport) {
  // Class 0: 3 examples all right; class 1: 1 example, predicted 0.
  Result<ClassificationMetrics> m =
      classification_metrics(ints({0, 0, 0, 1}), ints({0, 0, 0, 0}), 2);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->per_class[0].precision, 0.75);
  EXPECT_DOUBLE_EQ(m->per_class[0].recall, 1.0);
  EXPECT_DOUBLE_EQ(m->weighted.recall, 0.75);
  EXPECT_DOUBLE_EQ(m->macro.recall, 0.5);
}

// sklearn.metrics.log_loss docs: 0.21616...
TEST(ClassificationMetrics, LogLossMatchesScikitLearn) {
  Eigen::MatrixXf p(4, 2);
  p << 0.1f, 0.9f, 0.9f, 0.1f, 0.8f, 0.2f, 0.35f, 0.65f;
  Result<ClassificationMetrics> m =
      classification_metrics(ints({1, 0, 0, 1}), ints({1, 0, 0, 1}), 2, &p);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->log_loss.has_value());
  EXPECT_NEAR(*m->log_loss, 0.21616, 1e-5);
}

TEST(ClassificationMetrics, RejectsLabelsOutsideTheClassRange) {
  EXPECT_EQ(classification_metrics(ints({0, 3}), ints({0, 1}), 3).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(classification_metrics(ints({0}), ints({0, 1}), 3).status().code(),
            ErrorCode::kInvalidArgument);
}

// sklearn docs: mean_squared_error 0.375, mean_absolute_error 0.5, r2_score 0.9486...
TEST(RegressionMetrics, MatchScikitLearnOnItsDocumentedExample) {
  Result<RegressionMetrics> m =
      regression_metrics(floats({3.0f, -0.5f, 2.0f, 7.0f}), floats({2.5f, 0.0f, 2.0f, 8.0f}));
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->mse, 0.375, 1e-9);
  EXPECT_NEAR(m->mae, 0.5, 1e-9);
  EXPECT_NEAR(m->r2, 0.948608, 1e-6);
}

TEST(RegressionMetrics, R2OfAConstantTargetIsOneOnlyWhenExact) {
  EXPECT_EQ(regression_metrics(floats({2, 2}), floats({2, 2}))->r2, 1.0);
  EXPECT_EQ(regression_metrics(floats({2, 2}), floats({2, 3}))->r2, 0.0);
}

}  // namespace
}  // namespace fl::model
