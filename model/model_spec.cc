#include "model/model_spec.h"

#include <limits>
#include <set>

namespace fl::model {
namespace {

constexpr int64_t kMaxParams = kMaxModelParams;

Status validate_custom_spec(const ModelSpec& spec) {
  if (auto p = find_custom_spec_problem(spec))
    return InvalidArgument("custom model " + p->key + ": " + p->why);
  return Status::Ok();
}

}  // namespace

std::optional<SpecProblem> find_custom_spec_problem(const ModelSpec& spec) {
  auto problem = [](std::string key, std::string why) {
    return std::optional<SpecProblem>(SpecProblem{std::move(key), std::move(why)});
  };
  if (spec.input_dim != 0 || spec.num_classes != 0 || !spec.hidden_layers.empty())
    return problem("kind",
                   "a custom model has no input_dim, classes or hidden layers: the "
                   "coordinator does not interpret its weights");
  if (spec.custom_parameters < 1 || spec.custom_parameters > kMaxParams)
    return problem("parameters",
                   "must be in [1, 2^31], got " + std::to_string(spec.custom_parameters));
  if (spec.layout.empty())
    return problem("layout", "is required: at least one named block, e.g. [{name: w, size: " +
                                 std::to_string(spec.custom_parameters) + "}]");
  std::set<std::string> names;
  int64_t sum = 0;
  for (size_t i = 0; i < spec.layout.size(); ++i) {
    const ParameterBlock& b = spec.layout[i];
    const std::string which = "block " + std::to_string(i);
    if (b.name.empty()) return problem("layout", which + " has no name");
    if (!names.insert(b.name).second)
      return problem("layout", which + ": the name '" + b.name + "' appears twice");
    if (b.size < 1 || b.size > kMaxParams)
      return problem("layout", which + " ('" + b.name + "'): size must be in [1, 2^31], got " +
                                   std::to_string(b.size));
    sum += b.size;  // each <= 2^31, and the loop stops past N: no overflow
    if (sum > spec.custom_parameters) break;
  }
  if (sum > spec.custom_parameters)
    return problem("layout", "the block sizes add up to more than parameters (" +
                                 std::to_string(spec.custom_parameters) + ")");
  if (sum < spec.custom_parameters)
    return problem("layout", "the block sizes sum to " + std::to_string(sum) +
                                 " but parameters is " + std::to_string(spec.custom_parameters));
  return std::nullopt;
}

Status require_built_in(const ModelSpec& spec, std::string_view what) {
  if (spec.kind != ModelKind::kCustom) return Status::Ok();
  return FailedPrecondition(std::string(what) + " is not available for " + describe(spec) +
                            ": kind custom is an app-defined model whose weights only the "
                            "app's own Trainer interprets");
}

Status validate_spec(const ModelSpec& spec) {
  if (spec.kind == ModelKind::kCustom) return validate_custom_spec(spec);
  if (spec.custom_parameters != 0 || !spec.layout.empty())
    return InvalidArgument(std::string(model_kind_name(spec.kind)) +
                           " has no custom parameters or layout; only kind custom does");
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
    case ModelKind::kCustom:
      break;  // validate_custom_spec
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
  return spec.kind != ModelKind::kLinearRegression && spec.kind != ModelKind::kCustom &&
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
    case ModelKind::kCustom:
      break;  // no loss of ours applies; callers refuse custom (require_built_in)
  }
  return LossKind::kSquared;
}

int output_dim(const ModelSpec& spec) {
  if (spec.kind == ModelKind::kCustom) return 0;  // no dense layers of ours
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
  if (spec.kind == ModelKind::kCustom) return spec.custom_parameters;
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
    case ModelKind::kCustom:
      return "custom";
  }
  return "unknown";
}

Result<ModelKind> parse_model_kind(std::string_view name) {
  for (ModelKind kind :
       {ModelKind::kLinearRegression, ModelKind::kLogisticRegression, ModelKind::kSoftmaxRegression,
        ModelKind::kLinearSvm, ModelKind::kMlp, ModelKind::kCustom}) {
    if (name == model_kind_name(kind)) return kind;
  }
  return InvalidArgument("unknown model kind '" + std::string(name) +
                         "'; expected linear, logistic, softmax, svm, mlp or custom");
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
  if (spec.kind == ModelKind::kCustom) {
    // The first blocks only: a layout may have thousands.
    constexpr size_t kShown = 4;
    std::string out = "custom(" + std::to_string(spec.custom_parameters);
    for (size_t i = 0; i < spec.layout.size() && i < kShown; ++i)
      out +=
          (i == 0 ? ": " : ", ") + spec.layout[i].name + " " + std::to_string(spec.layout[i].size);
    if (spec.layout.size() > kShown)
      out += ", ... " + std::to_string(spec.layout.size() - kShown) + " more";
    return out + ")";
  }
  std::string out = std::string(model_kind_name(spec.kind)) + "(" + std::to_string(spec.input_dim);
  for (int width : spec.hidden_layers) {
    out += " -> " + std::to_string(width) + " " + std::string(activation_name(spec.activation));
  }
  out += " -> " + std::to_string(output_dim(spec)) + ")";
  return out;
}

}  // namespace fl::model
