// Quality of a model's predictions: classification metrics (accuracy;
// precision, recall and F1 per class, macro and weighted; confusion matrix;
// log loss) and regression metrics (MSE, MAE, R^2).
//
// Definitions follow scikit-learn so figures compare directly: a class never
// predicted has precision 0, a class absent from y_true recall 0 (sklearn's
// zero_division=0); macro averages over all num_classes classes; weighted by
// support; log loss clips probabilities to [1e-7, 1 - 1e-7] (float32's
// resolution, where sklearn uses float64 eps); R^2 of a constant target is 1
// if predicted exactly and 0 otherwise.
//
// Thread-safety: pure functions.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "model/dataset.h"
#include "model/model.h"

namespace fl::model {

using ConfusionMatrix = Eigen::Matrix<int64_t, Eigen::Dynamic, Eigen::Dynamic>;

struct ClassScores {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  int64_t support = 0;  // examples of this class in y_true
};

struct ClassificationMetrics {
  int64_t count = 0;
  double accuracy = 0;
  std::vector<ClassScores> per_class;
  ClassScores macro;               // support = count
  ClassScores weighted;            // support = count
  ConfusionMatrix confusion;       // [true class][predicted class]
  std::optional<double> log_loss;  // when probabilities were given
};

struct RegressionMetrics {
  int64_t count = 0;
  double mse = 0;
  double mae = 0;
  double r2 = 0;
};

// y_pred and y_true in [0, num_classes); probabilities, if given, n x num_classes.
Result<ClassificationMetrics> classification_metrics(
    const Eigen::VectorXi& y_true, const Eigen::VectorXi& y_pred, int num_classes,
    const Eigen::MatrixXf* probabilities = nullptr);

Result<RegressionMetrics> regression_metrics(const Eigen::VectorXf& y_true,
                                             const Eigen::VectorXf& y_pred);

struct Metrics {
  int64_t count = 0;
  double loss = 0;  // the model's mean training loss (loss.h) on the data
  std::optional<ClassificationMetrics> classification;
  std::optional<RegressionMetrics> regression;
};

// Predicts on all of `data` and scores the predictions.
Result<Metrics> evaluate(const Model& model, const Dataset& data);

}  // namespace fl::model
