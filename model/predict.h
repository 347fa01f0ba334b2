// Batched inference with a trained model, on raw (unstandardised) features.
//
// Large inputs are processed in chunks of rows so memory stays bounded.
// Single-threaded: serving runs many requests side by side, and a device
// predicts a handful of rows at a time.
//
// Thread-safety: reentrant; any number of threads may predict with one const Model.
#pragma once

#include <Eigen/Core>

#include "base/status.h"
#include "model/dataset.h"
#include "model/model.h"

namespace fl::model {

// Raw outputs of the last layer, n x output_dim: logits, margins or values.
Result<Eigen::MatrixXf> decision_function(const Model& model,
                                          const Eigen::Ref<const FeatureMatrix>& x);

// Predicted class per row; classifiers only.
Result<Eigen::VectorXi> predict(const Model& model, const Eigen::Ref<const FeatureMatrix>& x);

// Predicted value per row; regressors only.
Result<Eigen::VectorXf> predict_value(const Model& model, const Eigen::Ref<const FeatureMatrix>& x);

// Class probabilities, n x num_classes, rows summing to 1; for softmax,
// logistic and MLP classifiers (an SVM has no calibrated probabilities).
Result<Eigen::MatrixXf> predict_proba(const Model& model, const Eigen::Ref<const FeatureMatrix>& x);

}  // namespace fl::model
