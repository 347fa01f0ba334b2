#include "model/metrics.h"

#include <algorithm>
#include <cmath>

#include "model/loss.h"
#include "model/network.h"
#include "model/predict.h"

namespace fl::model {
namespace {

// float32 cannot represent 1 - 1e-15 (sklearn's clip); 1e-7 is the nearest
// meaningful bound.
constexpr double kLogLossClip = 1e-7;

double safe_ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

}  // namespace

Result<ClassificationMetrics> classification_metrics(const Eigen::VectorXi& y_true,
                                                     const Eigen::VectorXi& y_pred, int num_classes,
                                                     const Eigen::MatrixXf* probabilities) {
  if (num_classes < 2) {
    return InvalidArgument("classification metrics need num_classes >= 2, got " +
                           std::to_string(num_classes));
  }
  if (y_true.size() != y_pred.size()) {
    return InvalidArgument(std::to_string(y_true.size()) + " true labels but " +
                           std::to_string(y_pred.size()) + " predictions");
  }
  const int64_t n = y_true.size();
  for (int64_t i = 0; i < n; ++i) {
    if (y_true[i] < 0 || y_true[i] >= num_classes || y_pred[i] < 0 || y_pred[i] >= num_classes) {
      return InvalidArgument("label of example " + std::to_string(i) + " is outside [0, " +
                             std::to_string(num_classes) + ")");
    }
  }
  if (probabilities != nullptr &&
      (probabilities->rows() != n || probabilities->cols() != num_classes)) {
    return InvalidArgument("probabilities must be " + std::to_string(n) + " x " +
                           std::to_string(num_classes));
  }

  ClassificationMetrics m;
  m.count = n;
  m.confusion = ConfusionMatrix::Zero(num_classes, num_classes);
  for (int64_t i = 0; i < n; ++i) ++m.confusion(y_true[i], y_pred[i]);
  const int64_t correct = m.confusion.diagonal().sum();
  m.accuracy = safe_ratio(static_cast<double>(correct), static_cast<double>(n));

  m.per_class.resize(num_classes);
  m.macro.support = m.weighted.support = n;
  for (int c = 0; c < num_classes; ++c) {
    const auto tp = static_cast<double>(m.confusion(c, c));
    const auto predicted = static_cast<double>(m.confusion.col(c).sum());
    const auto actual = static_cast<double>(m.confusion.row(c).sum());
    ClassScores& s = m.per_class[c];
    s.support = m.confusion.row(c).sum();
    s.precision = safe_ratio(tp, predicted);
    s.recall = safe_ratio(tp, actual);
    s.f1 = safe_ratio(2 * s.precision * s.recall, s.precision + s.recall);
    m.macro.precision += s.precision / num_classes;
    m.macro.recall += s.recall / num_classes;
    m.macro.f1 += s.f1 / num_classes;
    const double w = safe_ratio(actual, static_cast<double>(n));
    m.weighted.precision += w * s.precision;
    m.weighted.recall += w * s.recall;
    m.weighted.f1 += w * s.f1;
  }

  if (probabilities != nullptr) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double p = std::clamp(static_cast<double>((*probabilities)(i, y_true[i])), kLogLossClip,
                                  1.0 - kLogLossClip);
      total -= std::log(p);
    }
    m.log_loss = safe_ratio(total, static_cast<double>(n));
  }
  return m;
}

Result<RegressionMetrics> regression_metrics(const Eigen::VectorXf& y_true,
                                             const Eigen::VectorXf& y_pred) {
  if (y_true.size() != y_pred.size()) {
    return InvalidArgument(std::to_string(y_true.size()) + " true targets but " +
                           std::to_string(y_pred.size()) + " predictions");
  }
  RegressionMetrics m;
  m.count = y_true.size();
  if (m.count == 0) return m;
  const Eigen::VectorXd t = y_true.cast<double>();
  const Eigen::VectorXd r = y_pred.cast<double>() - t;
  m.mse = r.squaredNorm() / m.count;
  m.mae = r.cwiseAbs().sum() / m.count;
  const double ss_res = r.squaredNorm();
  const double ss_tot = (t.array() - t.mean()).square().sum();
  if (ss_tot > 0) {
    m.r2 = 1.0 - ss_res / ss_tot;
  } else {
    m.r2 = ss_res == 0 ? 1.0 : 0.0;
  }
  return m;
}

Result<Metrics> evaluate(const Model& model, const Dataset& data) {
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "evaluation"));
  FL_RETURN_IF_ERROR(check_compatible(model, data));
  // One forward pass serves the loss, the predictions and the probabilities.
  Result<Eigen::MatrixXf> scores = decision_function(model, data.features);
  if (!scores.ok()) return scores.status();
  Metrics out;
  out.count = data.size();
  const internal::TargetsView y{.labels = data.labels.data(), .values = data.targets.data()};
  if (out.count > 0) {
    out.loss = internal::head_loss(loss_kind(model.spec), *scores, y, 1.0f, nullptr) /
               static_cast<double>(out.count);
  }
  if (is_classifier(model.spec)) {
    const Eigen::VectorXi pred = internal::classes_from_scores(*scores);
    std::optional<Eigen::MatrixXf> proba;
    if (has_probabilities(model.spec)) {
      proba = internal::probabilities_from_scores(model.spec, *scores);
    }
    Result<ClassificationMetrics> m = classification_metrics(
        data.labels, pred, model.spec.num_classes, proba ? &*proba : nullptr);
    if (!m.ok()) return m.status();
    out.classification = std::move(*m);
  } else {
    Result<RegressionMetrics> m = regression_metrics(data.targets, scores->col(0));
    if (!m.ok()) return m.status();
    out.regression = *m;
  }
  return out;
}

}  // namespace fl::model
