#include "model/network.h"

#include <algorithm>
#include <cmath>

namespace fl::model::internal {

void forward(const ModelSpec& spec, const std::vector<DenseShape>& shapes, const float* params,
             const Eigen::Ref<const FeatureMatrix>& x, Workspace& ws) {
  const size_t num_hidden = shapes.size() - 1;
  ws.hidden.resize(num_hidden);
  for (size_t l = 0; l <= num_hidden; ++l) {
    const ConstDenseView layer = dense_view(params, shapes[l]);
    Eigen::MatrixXf& out = l < num_hidden ? ws.hidden[l] : ws.scores;
    if (l == 0) {
      out.noalias() = x * layer.weights;
    } else {
      out.noalias() = ws.hidden[l - 1] * layer.weights;
    }
    out.rowwise() += layer.bias;
    if (l < num_hidden) {
      if (spec.activation == Activation::kRelu) {
        out = out.cwiseMax(0.0f);
      } else {
        out = out.array().tanh();
      }
    }
  }
}

namespace {

double softmax_cross_entropy(const Eigen::MatrixXf& scores, const int* labels, float scale,
                             Eigen::MatrixXf* dscores) {
  const Eigen::Index n = scores.rows();
  Eigen::MatrixXf local;
  Eigen::MatrixXf& p = dscores != nullptr ? *dscores : local;
  const Eigen::VectorXf max = scores.rowwise().maxCoeff();
  p = (scores.colwise() - max).array().exp();
  const Eigen::VectorXf sum = p.rowwise().sum();
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    // -log softmax(s)_y = log(sum_j e^(s_j - m)) - (s_y - m)
    total += std::log(static_cast<double>(sum[i])) - (scores(i, labels[i]) - max[i]);
  }
  if (dscores != nullptr) {
    p.array().colwise() *= (scale / sum.array());
    for (Eigen::Index i = 0; i < n; ++i) p(i, labels[i]) -= scale;
  }
  return total;
}

double logistic(const Eigen::MatrixXf& scores, const int* labels, float scale,
                Eigen::MatrixXf* dscores) {
  const Eigen::Index n = scores.rows();
  if (dscores != nullptr) dscores->resize(n, 1);
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const float f = scores(i, 0);
    const float y = static_cast<float>(labels[i]);
    // log(1 + e^f) - y f, without overflow for large |f|.
    total += std::max(f, 0.0f) - f * y + std::log1p(std::exp(-std::abs(f)));
    if (dscores != nullptr) {
      const float p = f >= 0 ? 1.0f / (1.0f + std::exp(-f)) : std::exp(f) / (1.0f + std::exp(f));
      (*dscores)(i, 0) = scale * (p - y);
    }
  }
  return total;
}

double hinge(const Eigen::MatrixXf& scores, const int* labels, float scale,
             Eigen::MatrixXf* dscores) {
  const Eigen::Index n = scores.rows();
  if (dscores != nullptr) dscores->resize(n, 1);
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const float t = labels[i] == 1 ? 1.0f : -1.0f;
    const float margin = t * scores(i, 0);
    total += std::max(0.0f, 1.0f - margin);
    if (dscores != nullptr) (*dscores)(i, 0) = margin < 1.0f ? -scale * t : 0.0f;
  }
  return total;
}

// Weston & Watkins (1999), the multiclass SVM loss of CS231n.
double multiclass_hinge(const Eigen::MatrixXf& scores, const int* labels, float scale,
                        Eigen::MatrixXf* dscores) {
  const Eigen::Index n = scores.rows();
  const Eigen::Index k = scores.cols();
  if (dscores != nullptr) dscores->setZero(n, k);
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const int y = labels[i];
    const float sy = scores(i, y);
    for (Eigen::Index j = 0; j < k; ++j) {
      if (j == y) continue;
      const float margin = scores(i, j) - sy + 1.0f;
      if (margin > 0) {
        total += margin;
        if (dscores != nullptr) {
          (*dscores)(i, j) += scale;
          (*dscores)(i, y) -= scale;
        }
      }
    }
  }
  return total;
}

double squared(const Eigen::MatrixXf& scores, const float* targets, float scale,
               Eigen::MatrixXf* dscores) {
  const Eigen::Index n = scores.rows();
  if (dscores != nullptr) dscores->resize(n, 1);
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const float r = scores(i, 0) - targets[i];
    total += 0.5 * static_cast<double>(r) * r;
    if (dscores != nullptr) (*dscores)(i, 0) = scale * r;
  }
  return total;
}

}  // namespace

double head_loss(LossKind loss, const Eigen::MatrixXf& scores, TargetsView y, float scale,
                 Eigen::MatrixXf* dscores) {
  switch (loss) {
    case LossKind::kSquared:
      return squared(scores, y.values, scale, dscores);
    case LossKind::kLogistic:
      return logistic(scores, y.labels, scale, dscores);
    case LossKind::kSoftmaxCrossEntropy:
      return softmax_cross_entropy(scores, y.labels, scale, dscores);
    case LossKind::kHinge:
      return hinge(scores, y.labels, scale, dscores);
    case LossKind::kMulticlassHinge:
      return multiclass_hinge(scores, y.labels, scale, dscores);
  }
  return 0;
}

void backward(const ModelSpec& spec, const std::vector<DenseShape>& shapes, const float* params,
              const Eigen::Ref<const FeatureMatrix>& x, Workspace& ws, float* grad) {
  for (size_t l = shapes.size(); l-- > 0;) {
    const DenseShape& s = shapes[l];
    DenseView g = dense_view(grad, s);
    if (l == 0) {
      g.weights.noalias() += x.transpose() * ws.delta;
    } else {
      g.weights.noalias() += ws.hidden[l - 1].transpose() * ws.delta;
    }
    g.bias += ws.delta.colwise().sum();
    if (l == 0) break;  // the input needs no gradient

    const ConstDenseView layer = dense_view(params, s);
    ws.delta_prev.noalias() = ws.delta * layer.weights.transpose();
    const Eigen::MatrixXf& a = ws.hidden[l - 1];
    if (spec.activation == Activation::kRelu) {
      // relu'(z) = [z > 0] = [relu(z) > 0]
      ws.delta_prev = (a.array() > 0.0f).select(ws.delta_prev, 0.0f);
    } else {
      // tanh'(z) = 1 - tanh(z)^2
      ws.delta_prev.array() *= 1.0f - a.array().square();
    }
    std::swap(ws.delta, ws.delta_prev);
  }
}

Eigen::MatrixXf softmax_rows(const Eigen::MatrixXf& scores) {
  const Eigen::VectorXf max = scores.rowwise().maxCoeff();
  Eigen::MatrixXf p = (scores.colwise() - max).array().exp();
  const Eigen::VectorXf sum = p.rowwise().sum();
  p.array().colwise() /= sum.array();
  return p;
}

Eigen::VectorXi classes_from_scores(const Eigen::MatrixXf& scores) {
  Eigen::VectorXi classes(scores.rows());
  if (scores.cols() == 1) {
    for (Eigen::Index i = 0; i < scores.rows(); ++i) classes[i] = scores(i, 0) > 0 ? 1 : 0;
  } else {
    for (Eigen::Index i = 0; i < scores.rows(); ++i) scores.row(i).maxCoeff(&classes[i]);
  }
  return classes;
}

Eigen::MatrixXf probabilities_from_scores(const ModelSpec& spec, const Eigen::MatrixXf& scores) {
  if (spec.kind != ModelKind::kLogisticRegression) return softmax_rows(scores);
  Eigen::MatrixXf p(scores.rows(), 2);
  // Both columns from the logit, so neither loses digits to 1 - p.
  p.col(1) = 1.0f / (1.0f + (-scores.col(0).array()).exp());
  p.col(0) = 1.0f / (1.0f + scores.col(0).array().exp());
  return p;
}

}  // namespace fl::model::internal
