// Federated evaluation: each client scores a model version on its own data
// and reports counts, never examples; the coordinator adds the counts up into
// the version's metrics, exactly as if the model had been scored on the union
// of the clients' data (the confusion matrix and the loss sum are additive;
// the ratios computed from them are not, which is why clients report counts
// rather than their own accuracy).
//
// Metrics follow model/metrics.h (scikit-learn's definitions, zero_division=0).
// A classifier's reports give "examples", "accuracy", macro "precision",
// "recall" and "f1" over all num_classes classes, and "loss", the mean of the
// model's training loss. A regressor's reports (num_classes 0, no confusion
// matrix) carry the squared and absolute error sums instead and give
// "examples", "mse", "mae" and "loss"; R^2 is left out, as it would need the
// targets' sum and sum of squares from every client as well.
//
// Not for: deciding anything from the metrics (quality_gate.h,
// Registry::observe).
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "coordinator/store/model_version.h"
#include "model/dataset.h"
#include "model/model.h"

namespace fl::coordinator {

// The most examples one report may count (a device's held-out data): with
// it, no set of reports overflows the int64 sums, and no single client's
// report swamps the others' by its count.
inline constexpr int64_t kMaxEvaluationExamples = int64_t{1} << 31;

// One client's report: a classifier's (num_classes >= 2, a confusion matrix)
// or a regressor's (num_classes 0, the error sums).
struct EvaluationCounts {
  int64_t examples = 0;
  double loss_sum = 0;  // the training loss summed over the examples
  int num_classes = 0;
  std::vector<int64_t> confusion;  // num_classes * num_classes, row-major [true][predicted]
  double squared_error_sum = 0;    // regression: sum of (prediction - target)^2
  double absolute_error_sum = 0;   // regression: sum of |prediction - target|

  bool is_regression() const { return num_classes == 0; }
};

// The metrics of the union of the reports. InvalidArgument, naming the index
// of the offending report, when a report has zero examples, a negative
// count, a loss or error sum that is negative or not finite, or is of another
// kind (classification or regression) or num_classes than the first report;
// for a classifier's report, num_classes below 2, error sums, or a confusion
// matrix of the wrong size or not summing to `examples`; for a regressor's, a
// confusion matrix. Also for no reports at all.
Result<VersionMetrics> combine_evaluations(std::span<const EvaluationCounts> reports);

// What a client (or the server, on a holdout set) reports for `model` on
// `data`: model::evaluate's confusion matrix (a classifier) or error sums (a
// regressor) and loss, as counts. InvalidArgument for data the model cannot
// score.
Result<EvaluationCounts> evaluation_counts(const model::Model& model, const model::Dataset& data);

}  // namespace fl::coordinator
