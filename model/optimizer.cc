#include "model/optimizer.h"

#include <cmath>
#include <utility>

namespace fl::model {

Optimizer::Optimizer(const TrainConfig& c, Eigen::VectorXf decay_mask)
    : kind_(c.optimizer),
      momentum_(c.momentum),
      nesterov_(c.nesterov),
      beta1_(c.beta1),
      beta2_(c.beta2),
      epsilon_(c.epsilon),
      weight_decay_(c.weight_decay),
      decay_mask_(std::move(decay_mask)),
      first_(Eigen::VectorXf::Zero(decay_mask_.size())) {
  if (kind_ == OptimizerKind::kAdam) second_ = Eigen::VectorXf::Zero(decay_mask_.size());
}

void Optimizer::step(Eigen::VectorXf& params, Eigen::VectorXf& grad, float lr) {
  begin_step();
  update(params.data(), grad.data(), lr, 0, params.size());
}

void Optimizer::update(float* params_data, float* grad_data, float lr, int64_t begin,
                       int64_t size) {
  Eigen::Map<Eigen::VectorXf> params(params_data + begin, size);
  Eigen::Map<Eigen::VectorXf> grad(grad_data + begin, size);
  const auto mask = decay_mask_.segment(begin, size);
  auto first = first_.segment(begin, size);
  if (kind_ == OptimizerKind::kSgd) {
    if (weight_decay_ > 0) grad.array() += weight_decay_ * mask.array() * params.array();
    if (momentum_ > 0) {
      first = momentum_ * first + grad;
      // Nesterov in the form of Sutskever et al. (2013), as PyTorch writes it.
      if (nesterov_) {
        grad += momentum_ * first;
      } else {
        grad = first;
      }
    }
    params.noalias() -= lr * grad;
    return;
  }
  // Adam: bias-corrected moments, m_hat / (sqrt(v_hat) + eps).
  auto second = second_.segment(begin, size);
  first = beta1_ * first + (1.0f - beta1_) * grad;
  second = beta2_ * second + (1.0f - beta2_) * grad.cwiseAbs2();
  const double t = static_cast<double>(steps_);
  const auto correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1_), t));
  const auto correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta2_), t));
  const float step_size = lr / correction1;
  if (weight_decay_ > 0) params.array() -= lr * weight_decay_ * mask.array() * params.array();
  params.array() -= step_size * first.array() / ((second.array() / correction2).sqrt() + epsilon_);
}

}  // namespace fl::model
