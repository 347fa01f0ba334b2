// Prediction for one row over a model file's flat weights, without Eigen:
// the forward pass of model/network.cc written as plain loops over the
// layout of model/layout.h, for devices that link the model file reader
// (fl_model_format) but not fl_model.
//
// The same numbers as model/predict.h's Eigen path (tests compare them):
// standardisation as apply_standardizer does it, ReLU or tanh between
// layers, then probabilities (softmax; the logistic's two columns from its
// one logit) as probabilities_from_scores computes them. Dot products are
// summed in double, so results differ from Eigen's float products by float
// rounding only.
//
// Not for batches or training: one row, allocating its activations.
//
// Thread-safety: reentrant; a const ModelForInference may be shared.
#pragma once

#include <span>
#include <vector>

#include "base/status.h"
#include "model/model_file.h"

namespace fl::model {

// The last layer's outputs for one row of raw features: logits, margins or
// the regression value. InvalidArgument when x has not input_dim values.
Result<std::vector<float>> flat_decision_function(const ModelForInference& model,
                                                  std::span<const float> x);

// What an app wants from one row: class probabilities for models that have
// them (softmax, logistic: 2 columns, MLP classifier), the value of a
// regressor (1 column), the margins of an SVM (1 for binary, else one per
// class).
Result<std::vector<float>> flat_predict(const ModelForInference& model, std::span<const float> x);

// Number of values flat_predict returns.
int flat_num_outputs(const ModelSpec& spec);

// The predicted class of a classifier's scores, as classes_from_scores: the
// sign of a single score, else the first maximum.
int flat_class_from_scores(std::span<const float> scores);

}  // namespace fl::model
