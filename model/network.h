// The numerical core shared by prediction, loss evaluation and training:
// forward and backward passes over the dense stack and the loss heads.
//
// Internal to fl_model: no argument checking (callers validate once at the
// API boundary), inputs already standardised, every buffer in a Workspace so
// a training step allocates nothing once shapes are stable.
//
// Thread-safety: functions are reentrant; a Workspace belongs to one thread.
#pragma once

#include <Eigen/Core>
#include <vector>

#include "model/dataset.h"
#include "model/layout.h"
#include "model/model_spec.h"
#include "model/standardizer.h"

namespace fl::model::internal {

// The labels (classifiers) or targets (regressors) of the rows being processed.
struct TargetsView {
  const int* labels = nullptr;
  const float* values = nullptr;
};

struct Workspace {
  FeatureMatrix batch;                  // gathered and standardised rows
  Eigen::VectorXi batch_labels;         // their labels or
  Eigen::VectorXf batch_targets;        // their targets
  std::vector<Eigen::MatrixXf> hidden;  // post-activation of each hidden layer, n x width
  Eigen::MatrixXf scores;               // n x output_dim
  Eigen::MatrixXf delta;                // dLoss / d(pre-activation) of the current layer
  Eigen::MatrixXf delta_prev;
  Eigen::VectorXf grad;  // this worker's gradient
  double loss_sum = 0;   // this worker's summed loss
  double prox_sum = 0;   // ||w - w_global||^2 over this worker's slice
};

// Runs the dense stack on `x`; fills ws.hidden and ws.scores.
void forward(const ModelSpec& spec, const std::vector<DenseShape>& shapes, const float* params,
             const Eigen::Ref<const FeatureMatrix>& x, Workspace& ws);

// Sum over rows of the loss of `scores` against `y`. If `dscores` is not null
// it receives scale * dLoss_i / dscores_i for every row.
double head_loss(LossKind loss, const Eigen::MatrixXf& scores, TargetsView y, float scale,
                 Eigen::MatrixXf* dscores);

// Adds to `grad` the gradient of the loss given ws.delta = dLoss/dscores (as
// left by head_loss) and the activations left by forward(). Clobbers ws.delta.
void backward(const ModelSpec& spec, const std::vector<DenseShape>& shapes, const float* params,
              const Eigen::Ref<const FeatureMatrix>& x, Workspace& ws, float* grad);

// Calls fn(x') where x' is `x` standardised by `s`: `x` itself when `s` is
// the identity, otherwise a copy made in `scratch`.
template <typename Fn>
void with_standardised(const Standardizer& s, const Eigen::Ref<const FeatureMatrix>& x,
                       FeatureMatrix& scratch, Fn&& fn) {
  if (s.empty()) {
    fn(x);
    return;
  }
  scratch = x;
  apply_standardizer(s, scratch);
  fn(Eigen::Ref<const FeatureMatrix>(scratch));
}

// Row-wise softmax, computed stably (max subtracted first).
Eigen::MatrixXf softmax_rows(const Eigen::MatrixXf& scores);

// Predicted classes from a classifier's scores: the sign of a single score
// (logistic, binary SVM), else the argmax.
Eigen::VectorXi classes_from_scores(const Eigen::MatrixXf& scores);

// Class probabilities from the scores of a model with has_probabilities(spec).
Eigen::MatrixXf probabilities_from_scores(const ModelSpec& spec, const Eigen::MatrixXf& scores);

}  // namespace fl::model::internal
