#include "coordinator/registry/evaluation.h"

#include <cmath>

#include "model/metrics.h"
#include "model/model_spec.h"

namespace fl::coordinator {
namespace {

// As in model/metrics.cc: a ratio with an empty denominator is 0
// (scikit-learn's zero_division=0).
double safe_ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

Status invalid_report(size_t index, const std::string& what) {
  return InvalidArgument("evaluation report " + std::to_string(index) + ": " + what);
}

Status validate_report(const EvaluationCounts& report, size_t index, int num_classes) {
  if (report.num_classes < 2) {
    return invalid_report(index,
                          "num_classes must be >= 2, got " + std::to_string(report.num_classes));
  }
  if (report.num_classes != num_classes) {
    return invalid_report(index, "has " + std::to_string(report.num_classes) +
                                     " classes where report 0 has " + std::to_string(num_classes));
  }
  const auto cells = static_cast<size_t>(num_classes) * static_cast<size_t>(num_classes);
  if (report.confusion.size() != cells) {
    return invalid_report(index, "confusion matrix has " + std::to_string(report.confusion.size()) +
                                     " cells; " + std::to_string(num_classes) + " classes need " +
                                     std::to_string(cells));
  }
  if (report.examples < 0) return invalid_report(index, "negative example count");
  if (report.examples == 0) return invalid_report(index, "zero examples");
  int64_t total = 0;
  for (int64_t cell : report.confusion) {
    if (cell < 0) return invalid_report(index, "negative count in the confusion matrix");
    if (__builtin_add_overflow(total, cell, &total)) {
      return invalid_report(index, "confusion matrix counts overflow");
    }
  }
  if (total != report.examples) {
    return invalid_report(index, "confusion matrix counts " + std::to_string(total) +
                                     " examples but the report says " +
                                     std::to_string(report.examples));
  }
  if (!std::isfinite(report.loss_sum) || report.loss_sum < 0) {
    return invalid_report(index, "loss sum must be finite and >= 0");
  }
  return Status::Ok();
}

}  // namespace

Result<VersionMetrics> combine_evaluations(std::span<const EvaluationCounts> reports) {
  if (reports.empty()) return InvalidArgument("no evaluation reports to combine");
  const int k = reports[0].num_classes;
  int64_t examples = 0;
  double loss_sum = 0;
  std::vector<int64_t> confusion;
  for (size_t i = 0; i < reports.size(); ++i) {
    FL_RETURN_IF_ERROR(validate_report(reports[i], i, k));
    if (confusion.empty()) confusion.assign(reports[i].confusion.size(), 0);
    if (__builtin_add_overflow(examples, reports[i].examples, &examples)) {
      return invalid_report(i, "example counts overflow");
    }
    for (size_t c = 0; c < confusion.size(); ++c) {
      // Cannot overflow: every cell is at most the (checked) total of examples.
      confusion[c] += reports[i].confusion[c];
    }
    loss_sum += reports[i].loss_sum;
  }

  // The same arithmetic as model::classification_metrics, on summed counts.
  const auto at = [&](int t, int p) { return static_cast<double>(confusion[t * k + p]); };
  double correct = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  for (int c = 0; c < k; ++c) {
    double predicted = 0;
    double actual = 0;
    for (int j = 0; j < k; ++j) {
      predicted += at(j, c);
      actual += at(c, j);
    }
    const double tp = at(c, c);
    correct += tp;
    const double p = safe_ratio(tp, predicted);
    const double r = safe_ratio(tp, actual);
    precision += p / k;
    recall += r / k;
    f1 += safe_ratio(2 * p * r, p + r) / k;
  }
  const auto n = static_cast<double>(examples);
  return VersionMetrics{{"examples", n},
                        {"accuracy", safe_ratio(correct, n)},
                        {"precision", precision},
                        {"recall", recall},
                        {"f1", f1},
                        {"loss", safe_ratio(loss_sum, n)}};
}

Result<EvaluationCounts> evaluation_counts(const model::Model& model, const model::Dataset& data) {
  if (!model::is_classifier(model.spec)) {
    return InvalidArgument(
        "federated evaluation counts need a classifier; this model is a"
        " regressor");
  }
  // model::evaluate, so a client's counts and a server-side model::evaluate
  // can never disagree on what "loss" or the confusion matrix means.
  Result<model::Metrics> metrics = model::evaluate(model, data);
  if (!metrics.ok()) return metrics.status();
  EvaluationCounts counts;
  counts.examples = metrics->count;
  counts.num_classes = model.spec.num_classes;
  counts.loss_sum = metrics->loss * static_cast<double>(metrics->count);
  const model::ConfusionMatrix& m = metrics->classification->confusion;
  counts.confusion.reserve(static_cast<size_t>(m.size()));
  for (Eigen::Index t = 0; t < m.rows(); ++t) {
    for (Eigen::Index p = 0; p < m.cols(); ++p) counts.confusion.push_back(m(t, p));
  }
  return counts;
}

}  // namespace fl::coordinator
