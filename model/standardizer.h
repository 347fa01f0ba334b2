// Per-feature standardisation, x' = (x - mean) / scale, fitted on a training
// split and stored with the model so that the device, the coordinator's
// serving path and the evaluator all see inputs the way training did.
//
// Not for label or target scaling. An empty Standardizer is the identity.
//
// Thread-safety: values; apply() only reads the Standardizer.
#pragma once

#include <Eigen/Core>

#include "base/status.h"
#include "model/dataset.h"

namespace fl::model {

struct Standardizer {
  Eigen::VectorXf mean;   // d, or empty for the identity
  Eigen::VectorXf scale;  // d, all > 0

  bool empty() const { return mean.size() == 0; }
  bool operator==(const Standardizer& other) const {
    return mean.size() == other.mean.size() && scale.size() == other.scale.size() &&
           mean == other.mean && scale == other.scale;
  }
};

// Column means and population standard deviations of `features`. A constant
// column gets scale 1, so it maps to 0 rather than to inf or nan.
Standardizer fit_standardizer(const FeatureMatrix& features);

// Ok if `s` is empty or has matching, finite sizes and positive scales.
Status validate_standardizer(const Standardizer& s, int input_dim);

// Applies `s` to every row of `features` in place; `s` must be empty or match.
void apply_standardizer(const Standardizer& s, Eigen::Ref<FeatureMatrix> features);

}  // namespace fl::model
