#include "coordinator/serving/inference.h"

#include <string>

#include "model/predict.h"

namespace fl::serving {
namespace {

Eigen::VectorXi argmax_rows(const Eigen::MatrixXf& m) {
  Eigen::VectorXi classes(m.rows());
  for (Eigen::Index i = 0; i < m.rows(); ++i) m.row(i).maxCoeff(&classes[i]);
  return classes;
}

}  // namespace

Result<Inference> run_inference(const ServedVersion& version,
                                const Eigen::Ref<const model::FeatureMatrix>& rows) {
  const model::Model& model = version.model;
  Inference inference;
  inference.rows = rows.rows();
  for (const OutputSpec& spec : version.signature.outputs) {
    inference.outputs.push_back(OutputTensor{&spec, {}, {}});
  }
  if (!model::is_classifier(model.spec)) {
    Result<Eigen::VectorXf> values = model::predict_value(model, rows);
    if (!values.ok()) return values.status();
    inference.outputs[0].floats = std::move(values).value();
    return inference;
  }
  if (model::has_probabilities(model.spec)) {
    Result<Eigen::MatrixXf> probabilities = model::predict_proba(model, rows);
    if (!probabilities.ok()) return probabilities.status();
    // The argmax of the probabilities is model::predict's class (softmax and
    // the logistic sigmoid are monotone), without a second forward pass.
    inference.outputs[1].ints = argmax_rows(*probabilities);
    inference.outputs[0].floats = std::move(probabilities).value();
    return inference;
  }
  Result<Eigen::MatrixXf> scores = model::decision_function(model, rows);
  if (!scores.ok()) return scores.status();
  if (scores->cols() == 1) {
    inference.outputs[1].ints = (scores->col(0).array() > 0.0f).cast<int>();
  } else {
    inference.outputs[1].ints = argmax_rows(*scores);
  }
  inference.outputs[0].floats = std::move(scores).value();
  return inference;
}

Status check_finite_outputs(const Inference& inference) {
  for (int64_t i = 0; i < inference.rows; ++i) {
    for (const OutputTensor& tensor : inference.outputs) {
      if (tensor.spec->type != TensorType::kFloat32) continue;
      if (!tensor.floats.row(i).allFinite()) {
        return InvalidArgument("the model's output for row " + std::to_string(i) +
                               " is not finite: its inputs are too large for the model "
                               "(far outside the range it was trained on)");
      }
    }
  }
  return Status::Ok();
}

}  // namespace fl::serving
