#include "model/predict.h"

#include <algorithm>

#include "model/layout.h"
#include "model/network.h"

namespace fl::model {
namespace {

// Rows per forward pass: bounds the activations of a wide MLP to a few MB.
constexpr Eigen::Index kChunkRows = 2048;

Status check_input(const Model& model, const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(validate_model(model));
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "prediction"));
  if (x.cols() != model.spec.input_dim) {
    return InvalidArgument("input has " + std::to_string(x.cols()) + " features per row but " +
                           describe(model.spec) + " takes " + std::to_string(model.spec.input_dim));
  }
  return Status::Ok();
}

}  // namespace

Result<Eigen::MatrixXf> decision_function(const Model& model,
                                          const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(check_input(model, x));
  const std::vector<DenseShape> shapes = dense_shapes(model.spec);
  Eigen::MatrixXf out(x.rows(), output_dim(model.spec));
  internal::Workspace ws;
  for (Eigen::Index begin = 0; begin < x.rows(); begin += kChunkRows) {
    const Eigen::Index rows = std::min(kChunkRows, x.rows() - begin);
    internal::with_standardised(model.standardizer, x.middleRows(begin, rows), ws.batch,
                                [&](const Eigen::Ref<const FeatureMatrix>& chunk) {
                                  internal::forward(model.spec, shapes, model.params.data(), chunk,
                                                    ws);
                                });
    out.middleRows(begin, rows) = ws.scores;
  }
  return out;
}

Result<Eigen::VectorXi> predict(const Model& model, const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "prediction"));
  if (!is_classifier(model.spec)) {
    return FailedPrecondition(describe(model.spec) +
                              " is a regressor; use predict_value for its outputs");
  }
  Result<Eigen::MatrixXf> scores = decision_function(model, x);
  if (!scores.ok()) return scores.status();
  return internal::classes_from_scores(*scores);
}

Result<Eigen::VectorXf> predict_value(const Model& model,
                                      const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "prediction"));
  if (is_classifier(model.spec)) {
    return FailedPrecondition(describe(model.spec) +
                              " is a classifier; use predict or predict_proba");
  }
  Result<Eigen::MatrixXf> scores = decision_function(model, x);
  if (!scores.ok()) return scores.status();
  return Eigen::VectorXf(scores->col(0));
}

Result<Eigen::MatrixXf> predict_proba(const Model& model,
                                      const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(require_built_in(model.spec, "prediction"));
  if (!has_probabilities(model.spec)) {
    return FailedPrecondition(describe(model.spec) + " does not produce class probabilities");
  }
  Result<Eigen::MatrixXf> scores = decision_function(model, x);
  if (!scores.ok()) return scores.status();
  return internal::probabilities_from_scores(model.spec, *scores);
}

}  // namespace fl::model
