#include "coordinator/registry/evaluation.h"

#include <cmath>

#include "model/metrics.h"

namespace fl::coordinator {
namespace {

// As in model/metrics.cc: a ratio with an empty denominator is 0
// (scikit-learn's zero_division=0).
double safe_ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

Status invalid_report(size_t index, const std::string& what) {
  return InvalidArgument("evaluation report " + std::to_string(index) + ": " + what);
}

const char* kind_of(const EvaluationCounts& report) {
  return report.is_regression() ? "regression" : "classification";
}

bool finite_non_negative(double sum) { return std::isfinite(sum) && sum >= 0; }

Status validate_classification_report(const EvaluationCounts& report, size_t index) {
  if (report.num_classes < 2) {
    return invalid_report(index,
                          "num_classes must be >= 2, got " + std::to_string(report.num_classes));
  }
  if (report.squared_error_sum != 0 || report.absolute_error_sum != 0) {
    return invalid_report(index, "a classification report carries no error sums");
  }
  const auto cells =
      static_cast<size_t>(report.num_classes) * static_cast<size_t>(report.num_classes);
  if (report.confusion.size() != cells) {
    return invalid_report(index, "confusion matrix has " + std::to_string(report.confusion.size()) +
                                     " cells; " + std::to_string(report.num_classes) +
                                     " classes need " + std::to_string(cells));
  }
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
  return Status::Ok();
}

Status validate_regression_report(const EvaluationCounts& report, size_t index) {
  if (!report.confusion.empty()) {
    return invalid_report(index,
                          "a regression report (num_classes 0) has no confusion matrix, got " +
                              std::to_string(report.confusion.size()) + " cells");
  }
  if (!finite_non_negative(report.squared_error_sum)) {
    return invalid_report(index, "squared error sum must be finite and >= 0");
  }
  if (!finite_non_negative(report.absolute_error_sum)) {
    return invalid_report(index, "absolute error sum must be finite and >= 0");
  }
  // Cauchy-Schwarz: (sum |e|)^2 <= n * sum e^2 for any n errors; sums that
  // break it are not of real errors (1e-9: rounding).
  const double n = static_cast<double>(report.examples);
  if (report.absolute_error_sum * report.absolute_error_sum >
      n * report.squared_error_sum * (1 + 1e-9) + 1e-12) {
    return invalid_report(index,
                          "absolute and squared error sums are inconsistent "
                          "((sum |e|)^2 > n * sum e^2)");
  }
  return Status::Ok();
}

// `first` is report 0: every report must be of its kind and num_classes.
Status validate_report(const EvaluationCounts& report, size_t index,
                       const EvaluationCounts& first) {
  if (report.num_classes < 0) {
    return invalid_report(index, "negative num_classes " + std::to_string(report.num_classes));
  }
  if (report.is_regression() != first.is_regression()) {
    return invalid_report(index, std::string("is a ") + kind_of(report) +
                                     " report where report 0 is a " + kind_of(first) + " report");
  }
  if (report.num_classes != first.num_classes) {
    return invalid_report(index, "has " + std::to_string(report.num_classes) +
                                     " classes where report 0 has " +
                                     std::to_string(first.num_classes));
  }
  if (report.examples < 0) return invalid_report(index, "negative example count");
  if (report.examples == 0) return invalid_report(index, "zero examples");
  // One device's held-out data; bounded so that no report can make the sum
  // of many overflow, nor swamp the others' (a hostile client's 2^63).
  if (report.examples > kMaxEvaluationExamples) {
    return invalid_report(
        index, "more than " + std::to_string(kMaxEvaluationExamples) + " examples in one report");
  }
  if (!finite_non_negative(report.loss_sum)) {
    return invalid_report(index, "loss sum must be finite and >= 0");
  }
  return report.is_regression() ? validate_regression_report(report, index)
                                : validate_classification_report(report, index);
}

// The same arithmetic as model::regression_metrics, on summed errors.
VersionMetrics regression_metrics_of(std::span<const EvaluationCounts> reports, double n) {
  double squared = 0;
  double absolute = 0;
  double loss = 0;
  for (const EvaluationCounts& r : reports) {
    squared += r.squared_error_sum;
    absolute += r.absolute_error_sum;
    loss += r.loss_sum;
  }
  return VersionMetrics{{"examples", n},
                        {"mse", safe_ratio(squared, n)},
                        {"mae", safe_ratio(absolute, n)},
                        {"loss", safe_ratio(loss, n)}};
}

}  // namespace

Result<VersionMetrics> combine_evaluations(std::span<const EvaluationCounts> reports) {
  if (reports.empty()) return InvalidArgument("no evaluation reports to combine");
  const int k = reports[0].num_classes;
  int64_t examples = 0;
  double loss_sum = 0;
  std::vector<int64_t> confusion;
  for (size_t i = 0; i < reports.size(); ++i) {
    FL_RETURN_IF_ERROR(validate_report(reports[i], i, reports[0]));
    if (__builtin_add_overflow(examples, reports[i].examples, &examples)) {
      return invalid_report(i, "example counts overflow");
    }
    if (reports[i].is_regression()) continue;
    if (confusion.empty()) confusion.assign(reports[i].confusion.size(), 0);
    for (size_t c = 0; c < confusion.size(); ++c) {
      // Cannot overflow: every cell is at most the (checked) total of examples.
      confusion[c] += reports[i].confusion[c];
    }
    loss_sum += reports[i].loss_sum;
  }
  if (reports[0].is_regression()) {
    return regression_metrics_of(reports, static_cast<double>(examples));
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
  // model::evaluate, so a client's counts and a server-side model::evaluate
  // can never disagree on what "loss" or the confusion matrix means.
  Result<model::Metrics> metrics = model::evaluate(model, data);
  if (!metrics.ok()) return metrics.status();
  EvaluationCounts counts;
  counts.examples = metrics->count;
  counts.num_classes = model.spec.num_classes;
  counts.loss_sum = metrics->loss * static_cast<double>(metrics->count);
  if (metrics->regression) {
    // Means times the count: the sums model::regression_metrics divided.
    counts.num_classes = 0;
    counts.squared_error_sum = metrics->regression->mse * static_cast<double>(metrics->count);
    counts.absolute_error_sum = metrics->regression->mae * static_cast<double>(metrics->count);
    return counts;
  }
  if (!metrics->classification) return Internal("model::evaluate returned no metrics");
  const model::ConfusionMatrix& m = metrics->classification->confusion;
  counts.confusion.reserve(static_cast<size_t>(m.size()));
  for (Eigen::Index t = 0; t < m.rows(); ++t) {
    for (Eigen::Index p = 0; p < m.cols(); ++p) counts.confusion.push_back(m(t, p));
  }
  return counts;
}

}  // namespace fl::coordinator
