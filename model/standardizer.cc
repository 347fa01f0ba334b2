#include "model/standardizer.h"

#include <cmath>
#include <string>

namespace fl::model {
namespace {

// Below this a column is treated as constant (float32 noise on a constant column).
constexpr double kMinStddev = 1e-6;

}  // namespace

Standardizer fit_standardizer(const FeatureMatrix& features) {
  const int64_t n = features.rows();
  const int64_t d = features.cols();
  // Accumulate in double: a float sum over 10^6 rows loses digits the mean needs.
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(d);
  Eigen::VectorXd sum_sq = Eigen::VectorXd::Zero(d);
  for (int64_t i = 0; i < n; ++i) {
    const Eigen::RowVectorXd row = features.row(i).cast<double>();
    sum += row.transpose();
    sum_sq += row.transpose().cwiseAbs2();
  }
  Standardizer s;
  s.mean.resize(d);
  s.scale.resize(d);
  for (int64_t j = 0; j < d; ++j) {
    const double mean = n > 0 ? sum[j] / n : 0.0;
    const double var = n > 0 ? std::max(0.0, sum_sq[j] / n - mean * mean) : 0.0;
    const double sd = std::sqrt(var);
    s.mean[j] = static_cast<float>(mean);
    s.scale[j] = sd < kMinStddev ? 1.0f : static_cast<float>(sd);
  }
  return s;
}

Status validate_standardizer(const Standardizer& s, int input_dim) {
  if (s.empty() && s.scale.size() == 0) return Status::Ok();
  if (s.mean.size() != input_dim || s.scale.size() != input_dim) {
    return InvalidArgument("standardisation has " + std::to_string(s.mean.size()) + " means and " +
                           std::to_string(s.scale.size()) + " scales for " +
                           std::to_string(input_dim) + " inputs");
  }
  for (int j = 0; j < input_dim; ++j) {
    if (!std::isfinite(s.mean[j]) || !std::isfinite(s.scale[j]) || !(s.scale[j] > 0)) {
      return InvalidArgument("standardisation of feature " + std::to_string(j) +
                             " is not finite or has a non-positive scale");
    }
  }
  return Status::Ok();
}

void apply_standardizer(const Standardizer& s, Eigen::Ref<FeatureMatrix> features) {
  if (s.empty()) return;
  const Eigen::RowVectorXf inv = s.scale.cwiseInverse().transpose();
  features.rowwise() -= s.mean.transpose();
  features.array().rowwise() *= inv.array();
}

}  // namespace fl::model
