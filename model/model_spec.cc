#include "model/model_spec.h"

#include <limits>

namespace fl::model {
namespace {

// Keeps num_params well inside int64 and Eigen's index type; far above any
// on-device model we expect.
constexpr int64_t kMaxParams = int64_t{1} << 31;

}  // namespace

Status validate_spec(const ModelSpec& spec) {
  if (spec.input_dim <= 0) {
    return InvalidArgument("model input_dim must be positive, got " +
                           std::to_string(spec.input_dim));
  }
  const std::string kind(model_kind_name(spec.kind));
  switch (spec.kind) {
    case ModelKind::kLinearRegression:
      if (spec.num_classes != 0) {
        return InvalidArgument("linear regression takes num_classes 0, got " +
                               std::to_string(spec.num_classes));
      }
      break;
    case ModelKind::kLogisticRegression:
      if (spec.num_classes != 2) {
        return InvalidArgument("logistic regression is binary (num_classes 2), got " +
                               std::to_string(spec.num_classes) + "; use softmax for more classes");
      }
      break;
    case ModelKind::kSoftmaxRegression:
    case ModelKind::kLinearSvm:
      if (spec.num_classes < 2) {
        return InvalidArgument(kind + " needs num_classes >= 2, got " +
                               std::to_string(spec.num_classes));
      }
      break;
    case ModelKind::kMlp:
      if (spec.num_classes == 1 || spec.num_classes < 0) {
        return InvalidArgument("mlp needs num_classes >= 2 (classifier) or 0 (regression), got " +
                               std::to_string(spec.num_classes));
      }
      if (spec.hidden_layers.empty()) {
        return InvalidArgument("mlp needs at least one hidden layer");
      }
      break;
  }
  if (spec.kind != ModelKind::kMlp && !spec.hidden_layers.empty()) {
    return InvalidArgument(kind + " has no hidden layers; only mlp does");
  }
  for (int width : spec.hidden_layers) {
    if (width <= 0) {
      return InvalidArgument("hidden layer widths must be positive, got " + std::to_string(width));
    }
  }
  // Count in double first so that absurd widths cannot overflow the check.
  double count = 0;
  double in = spec.input_dim;
  for (int width : spec.hidden_layers) {
    count += (in + 1) * width;
    in = width;
  }
  count += (in + 1) * output_dim(spec);
  if (count > static_cast<double>(kMaxParams)) {
    return ResourceExhausted(describe(spec) + " has " + std::to_string(count) +
                             " parameters; the limit is 2^31");
  }
  return Status::Ok();
}

bool is_classifier(const ModelSpec& spec) {
  return spec.kind != ModelKind::kLinearRegression &&
         !(spec.kind == ModelKind::kMlp && spec.num_classes == 0);
}

bool has_probabilities(const ModelSpec& spec) {
  return spec.kind == ModelKind::kLogisticRegression ||
         spec.kind == ModelKind::kSoftmaxRegression ||
         (spec.kind == ModelKind::kMlp && spec.num_classes >= 2);
}

LossKind loss_kind(const ModelSpec& spec) {
  switch (spec.kind) {
    case ModelKind::kLinearRegression:
      return LossKind::kSquared;
    case ModelKind::kLogisticRegression:
      return LossKind::kLogistic;
    case ModelKind::kSoftmaxRegression:
      return LossKind::kSoftmaxCrossEntropy;
    case ModelKind::kLinearSvm:
      return spec.num_classes == 2 ? LossKind::kHinge : LossKind::kMulticlassHinge;
    case ModelKind::kMlp:
      return spec.num_classes == 0 ? LossKind::kSquared : LossKind::kSoftmaxCrossEntropy;
  }
  return LossKind::kSquared;
}

int output_dim(const ModelSpec& spec) {
  switch (loss_kind(spec)) {
    case LossKind::kSquared:
    case LossKind::kLogistic:
    case LossKind::kHinge:
      return 1;
    case LossKind::kSoftmaxCrossEntropy:
    case LossKind::kMulticlassHinge:
      return spec.num_classes;
  }
  return 1;
}

int64_t num_params(const ModelSpec& spec) {
  int64_t count = 0;
  int64_t in = spec.input_dim;
  for (int width : spec.hidden_layers) {
    count += (in + 1) * width;
    in = width;
  }
  return count + (in + 1) * output_dim(spec);
}

std::string_view model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinearRegression:
      return "linear";
    case ModelKind::kLogisticRegression:
      return "logistic";
    case ModelKind::kSoftmaxRegression:
      return "softmax";
    case ModelKind::kLinearSvm:
      return "svm";
    case ModelKind::kMlp:
      return "mlp";
  }
  return "unknown";
}

Result<ModelKind> parse_model_kind(std::string_view name) {
  for (ModelKind kind : {ModelKind::kLinearRegression, ModelKind::kLogisticRegression,
                         ModelKind::kSoftmaxRegression, ModelKind::kLinearSvm, ModelKind::kMlp}) {
    if (name == model_kind_name(kind)) return kind;
  }
  return InvalidArgument("unknown model kind '" + std::string(name) +
                         "'; expected linear, logistic, softmax, svm or mlp");
}

std::string_view activation_name(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "tanh";
}

Result<Activation> parse_activation(std::string_view name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  return InvalidArgument("unknown activation '" + std::string(name) + "'; expected relu or tanh");
}

std::string describe(const ModelSpec& spec) {
  std::string out = std::string(model_kind_name(spec.kind)) + "(" + std::to_string(spec.input_dim);
  for (int width : spec.hidden_layers) {
    out += " -> " + std::to_string(width) + " " + std::string(activation_name(spec.activation));
  }
  out += " -> " + std::to_string(output_dim(spec)) + ")";
  return out;
}

}  // namespace fl::model
