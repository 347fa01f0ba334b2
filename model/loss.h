// The training loss of a model on some examples, and its analytic gradient.
//
// The loss is the mean over examples of the model's loss head (model_spec.h,
// LossKind), with no regularisation: weight decay and the FedProx term belong
// to training (train.h). Features are raw; the model's standardisation is
// applied inside. Single-threaded; train() parallelises over the batch itself.
//
// Thread-safety: reentrant.
#pragma once

#include <Eigen/Core>

#include "base/status.h"
#include "model/dataset.h"
#include "model/model.h"

namespace fl::model {

// Mean loss of a classifier on (x, labels). If grad_out is not null it is
// resized to num_params and receives the gradient with respect to params.
Result<float> loss_and_gradient(const Model& model, const Eigen::Ref<const FeatureMatrix>& x,
                                const Eigen::VectorXi& labels, Eigen::VectorXf* grad_out);

// The same for a regressor on (x, targets).
Result<float> loss_and_gradient(const Model& model, const Eigen::Ref<const FeatureMatrix>& x,
                                const Eigen::VectorXf& targets, Eigen::VectorXf* grad_out);

// The same on a Dataset (labels or targets as the model needs).
Result<float> loss_and_gradient(const Model& model, const Dataset& data, Eigen::VectorXf* grad_out);

// Mean loss only.
Result<float> mean_loss(const Model& model, const Dataset& data);

// Ok if `data` can be fed to `model`: same width, labels in the model's class
// range for a classifier, targets for a regressor. Messages name data.source.
Status check_compatible(const Model& model, const Dataset& data);

}  // namespace fl::model
