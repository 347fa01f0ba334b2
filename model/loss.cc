#include "model/loss.h"

#include "model/layout.h"
#include "model/network.h"

namespace fl::model {
namespace {

Status check_labels(const Model& model, const Eigen::Index rows, const Eigen::VectorXi& labels) {
  if (!is_classifier(model.spec)) {
    return FailedPrecondition(describe(model.spec) + " is a regressor; it needs float targets");
  }
  if (labels.size() != rows) {
    return InvalidArgument(std::to_string(rows) + " rows but " + std::to_string(labels.size()) +
                           " labels");
  }
  for (Eigen::Index i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= model.spec.num_classes) {
      return InvalidArgument("label " + std::to_string(labels[i]) + " of example " +
                             std::to_string(i) + " is outside [0, " +
                             std::to_string(model.spec.num_classes) + ")");
    }
  }
  return Status::Ok();
}

Result<float> compute(const Model& model, const Eigen::Ref<const FeatureMatrix>& x,
                      internal::TargetsView y, Eigen::VectorXf* grad_out) {
  const std::vector<DenseShape> shapes = dense_shapes(model.spec);
  const Eigen::Index n = x.rows();
  if (grad_out != nullptr) grad_out->setZero(model.params.size());
  if (n == 0) return 0.0f;
  internal::Workspace ws;
  double total = 0;
  const float scale = 1.0f / static_cast<float>(n);
  internal::with_standardised(
      model.standardizer, x, ws.batch, [&](const Eigen::Ref<const FeatureMatrix>& xs) {
        internal::forward(model.spec, shapes, model.params.data(), xs, ws);
        total = internal::head_loss(loss_kind(model.spec), ws.scores, y, scale,
                                    grad_out != nullptr ? &ws.delta : nullptr);
        if (grad_out != nullptr) {
          internal::backward(model.spec, shapes, model.params.data(), xs, ws, grad_out->data());
        }
      });
  return static_cast<float>(total / static_cast<double>(n));
}

Status check_width(const Model& model, const Eigen::Ref<const FeatureMatrix>& x) {
  FL_RETURN_IF_ERROR(validate_model(model));
  if (x.cols() != model.spec.input_dim) {
    return InvalidArgument("input has " + std::to_string(x.cols()) + " features per row but " +
                           describe(model.spec) + " takes " + std::to_string(model.spec.input_dim));
  }
  return Status::Ok();
}

}  // namespace

Result<float> loss_and_gradient(const Model& model, const Eigen::Ref<const FeatureMatrix>& x,
                                const Eigen::VectorXi& labels, Eigen::VectorXf* grad_out) {
  FL_RETURN_IF_ERROR(check_width(model, x));
  FL_RETURN_IF_ERROR(check_labels(model, x.rows(), labels));
  return compute(model, x, {.labels = labels.data()}, grad_out);
}

Result<float> loss_and_gradient(const Model& model, const Eigen::Ref<const FeatureMatrix>& x,
                                const Eigen::VectorXf& targets, Eigen::VectorXf* grad_out) {
  FL_RETURN_IF_ERROR(check_width(model, x));
  if (is_classifier(model.spec)) {
    return FailedPrecondition(describe(model.spec) + " is a classifier; it needs integer labels");
  }
  if (targets.size() != x.rows()) {
    return InvalidArgument(std::to_string(x.rows()) + " rows but " +
                           std::to_string(targets.size()) + " targets");
  }
  return compute(model, x, {.values = targets.data()}, grad_out);
}

Result<float> loss_and_gradient(const Model& model, const Dataset& data,
                                Eigen::VectorXf* grad_out) {
  FL_RETURN_IF_ERROR(check_compatible(model, data));
  if (is_classifier(model.spec))
    return loss_and_gradient(model, data.features, data.labels, grad_out);
  return loss_and_gradient(model, data.features, data.targets, grad_out);
}

Result<float> mean_loss(const Model& model, const Dataset& data) {
  return loss_and_gradient(model, data, nullptr);
}

Status check_compatible(const Model& model, const Dataset& data) {
  FL_RETURN_IF_ERROR(validate_model(model));
  FL_RETURN_IF_ERROR(validate_dataset(data));
  const std::string where = data.source.empty() ? "dataset" : data.source;
  if (data.dim() != model.spec.input_dim) {
    return InvalidArgument(where + " has " + std::to_string(data.dim()) + " features but " +
                           describe(model.spec) + " takes " + std::to_string(model.spec.input_dim));
  }
  if (is_classifier(model.spec)) {
    if (!data.is_classification()) {
      return InvalidArgument(where + " has regression targets but " + describe(model.spec) +
                             " is a classifier");
    }
    if (data.num_classes > model.spec.num_classes) {
      // Check the labels themselves: a client's shard may declare 10 classes
      // while holding only some of them.
      for (Eigen::Index i = 0; i < data.labels.size(); ++i) {
        if (data.labels[i] >= model.spec.num_classes) {
          return InvalidArgument(where + ": label " + std::to_string(data.labels[i]) +
                                 " of example " + std::to_string(i) + " is outside the " +
                                 std::to_string(model.spec.num_classes) + " classes of " +
                                 describe(model.spec));
        }
      }
    }
  } else if (data.is_classification()) {
    return InvalidArgument(where + " has class labels but " + describe(model.spec) +
                           " is a regressor");
  }
  return Status::Ok();
}

}  // namespace fl::model
