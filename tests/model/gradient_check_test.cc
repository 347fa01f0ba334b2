// Every model's analytic gradient against central finite differences of its loss.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "model/loss.h"
#include "model/model.h"
#include "model/standardizer.h"

namespace fl::model {
namespace {

struct Case {
  std::string name;
  ModelSpec spec;
  bool standardise = false;
};

class GradientCheck : public ::testing::TestWithParam<Case> {};

// Loss in float32, differences over 2h: truncation error O(h^2) and rounding
// error O(eps_float / h) balance near h = 1e-2 for losses of order 1.
constexpr float kStep = 1e-3f;

TEST_P(GradientCheck, AnalyticGradientMatchesFiniteDifferences) {
  const Case& c = GetParam();
  Result<Model> created = create_model(c.spec, 7);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  Model model = std::move(*created);
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  // Random weights rather than the (zero) initialisation, so that every
  // path through the heads, and through ReLU on both sides, is exercised.
  for (int64_t i = 0; i < model.params.size(); ++i) model.params[i] = 0.5f * normal(rng);

  const int n = 9;
  FeatureMatrix x(n, c.spec.input_dim);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  if (c.standardise) {
    FeatureMatrix shifted = (x.array() * 3.0f + 2.0f).matrix();
    model.standardizer = fit_standardizer(shifted);
    x = shifted;
  }
  Eigen::VectorXi labels(n);
  Eigen::VectorXf targets(n);
  for (int i = 0; i < n; ++i) {
    labels[i] = c.spec.num_classes > 0 ? i % c.spec.num_classes : 0;
    targets[i] = normal(rng);
  }
  const bool classifier = is_classifier(c.spec);
  auto loss_at = [&](const Model& m, Eigen::VectorXf* grad) {
    Result<float> r =
        classifier ? loss_and_gradient(m, x, labels, grad) : loss_and_gradient(m, x, targets, grad);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : 0.0f;
  };

  Eigen::VectorXf analytic;
  loss_at(model, &analytic);
  ASSERT_EQ(analytic.size(), model.params.size());
  EXPECT_GT(analytic.norm(), 1e-3f) << "a zero gradient would pass any check";

  Model probe = model;
  int checked = 0;
  for (int64_t i = 0; i < model.params.size(); ++i) {
    probe.params[i] = model.params[i] + kStep;
    const double up = loss_at(probe, nullptr);
    probe.params[i] = model.params[i] - kStep;
    const double down = loss_at(probe, nullptr);
    probe.params[i] = model.params[i];
    const double numeric = (up - down) / (2.0 * kStep);
    EXPECT_NEAR(analytic[i], numeric, 2e-3 + 2e-2 * std::abs(numeric))
        << c.name << ": parameter " << i << " of " << model.params.size();
    ++checked;
  }
  EXPECT_EQ(checked, num_params(c.spec));
}

ModelSpec spec(ModelKind kind, int d, int k, std::vector<int> hidden = {},
               Activation act = Activation::kRelu) {
  return ModelSpec{.kind = kind,
                   .input_dim = d,
                   .num_classes = k,
                   .hidden_layers = std::move(hidden),
                   .activation = act};
}

INSTANTIATE_TEST_SUITE_P(
    EveryModelAndLoss, GradientCheck,
    ::testing::Values(
        Case{"linear_regression_squared", spec(ModelKind::kLinearRegression, 4, 0)},
        Case{"linear_regression_standardised", spec(ModelKind::kLinearRegression, 4, 0), true},
        Case{"logistic_regression_log_loss", spec(ModelKind::kLogisticRegression, 5, 2)},
        Case{"softmax_regression_cross_entropy", spec(ModelKind::kSoftmaxRegression, 5, 4)},
        Case{"softmax_regression_standardised", spec(ModelKind::kSoftmaxRegression, 5, 3), true},
        Case{"binary_svm_hinge", spec(ModelKind::kLinearSvm, 5, 2)},
        Case{"multiclass_svm_weston_watkins_hinge", spec(ModelKind::kLinearSvm, 5, 4)},
        Case{"mlp_relu_cross_entropy", spec(ModelKind::kMlp, 5, 3, {6, 4}, Activation::kRelu)},
        Case{"mlp_tanh_cross_entropy", spec(ModelKind::kMlp, 5, 3, {6, 4}, Activation::kTanh)},
        Case{"mlp_tanh_regression_squared", spec(ModelKind::kMlp, 4, 0, {5}, Activation::kTanh)},
        Case{"mlp_relu_standardised", spec(ModelKind::kMlp, 4, 3, {5}, Activation::kRelu), true}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace fl::model
