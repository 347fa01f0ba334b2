// The architecture of an on-device model: which kind, and its shape.
//
// Every built-in model is a stack of dense layers over one contiguous float32
// parameter vector (see layout.h) followed by a loss head chosen by the kind.
// Linear models have one dense layer; an MLP adds hidden layers with ReLU or
// tanh. A spec says nothing about weights or training; it is a small value type.
//
// An app-defined model (kind custom) is only a length and a named layout of
// that flat vector: the coordinator aggregates and versions it without
// interpreting it, and the app's own Trainer is the only code that knows what
// the numbers mean. Everything here that would interpret weights (training,
// prediction, evaluation, serving) refuses it through require_built_in().
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fl::model {

enum class ModelKind {
  kLinearRegression,    // one output, squared loss
  kLogisticRegression,  // binary, one logit, log loss
  kSoftmaxRegression,   // multiclass, cross-entropy
  kLinearSvm,           // hinge loss; binary (one output) or multiclass (Weston-Watkins)
  kMlp,                 // hidden layers, then a softmax head (classes) or squared loss
  kCustom,              // app-defined: a flat vector the coordinator does not interpret
};

// A named run of an app-defined model's parameter vector ("w", 40 floats).
// Blocks follow each other in order from index 0 and cover the vector.
struct ParameterBlock {
  std::string name;
  int64_t size = 0;
  bool operator==(const ParameterBlock&) const = default;
};

enum class Activation { kRelu, kTanh };

// The loss a model is trained with, implied by its spec.
enum class LossKind {
  kSquared,   // 0.5 * (f - y)^2
  kLogistic,  // log(1 + e^f) - y f, y in {0, 1}
  kSoftmaxCrossEntropy,
  kHinge,            // max(0, 1 - t f), t = 2y - 1
  kMulticlassHinge,  // sum over j != y of max(0, f_j - f_y + 1)
};

struct ModelSpec {
  ModelKind kind = ModelKind::kSoftmaxRegression;
  int input_dim = 0;
  // Classes of a classifier (>= 2); 0 for regression (linear regression, or an
  // MLP with a scalar output).
  int num_classes = 0;
  std::vector<int> hidden_layers;  // MLP only, input side first
  Activation activation = Activation::kRelu;
  // Custom only: the length of the parameter vector and what its runs are
  // called (sizes sum to custom_parameters). input_dim and num_classes are 0.
  int64_t custom_parameters = 0;
  std::vector<ParameterBlock> layout{};  // {}: designated initialisers may leave it out

  // Named constructors, so callers need not spell out every field.
  static ModelSpec linear_regression(int input_dim) {
    return make(ModelKind::kLinearRegression, input_dim, 0);
  }
  static ModelSpec logistic_regression(int input_dim) {
    return make(ModelKind::kLogisticRegression, input_dim, 2);
  }
  static ModelSpec softmax_regression(int input_dim, int num_classes) {
    return make(ModelKind::kSoftmaxRegression, input_dim, num_classes);
  }
  static ModelSpec linear_svm(int input_dim, int num_classes) {
    return make(ModelKind::kLinearSvm, input_dim, num_classes);
  }
  static ModelSpec mlp(int input_dim, int num_classes, std::vector<int> hidden,
                       Activation activation = Activation::kRelu) {
    ModelSpec s = make(ModelKind::kMlp, input_dim, num_classes);
    s.hidden_layers = std::move(hidden);
    s.activation = activation;
    return s;
  }

  static ModelSpec custom(std::vector<ParameterBlock> layout) {
    ModelSpec s;
    s.kind = ModelKind::kCustom;
    for (const ParameterBlock& b : layout) s.custom_parameters += b.size;
    s.layout = std::move(layout);
    return s;
  }

  bool operator==(const ModelSpec&) const = default;

 private:
  static ModelSpec make(ModelKind kind, int input_dim, int num_classes) {
    ModelSpec s;
    s.kind = kind;
    s.input_dim = input_dim;
    s.num_classes = num_classes;
    return s;
  }
};

// The largest parameter vector of any model, built-in or custom: keeps
// num_params well inside int64 and Eigen's index type; far above any
// on-device model we expect.
inline constexpr int64_t kMaxModelParams = int64_t{1} << 31;

// Ok if the spec describes a model that can be built; otherwise says what is wrong.
Status validate_spec(const ModelSpec& spec);

// What is wrong with a kind-custom spec, keyed as the coordinator's YAML
// spells it under `model:` ("parameters", "layout"); nullopt when nothing is.
// validate_spec applies the same rules; config loading uses the key.
struct SpecProblem {
  std::string key;
  std::string why;
};
std::optional<SpecProblem> find_custom_spec_problem(const ModelSpec& spec);

// Ok for a built-in kind; FailedPrecondition for kind custom, naming `what`
// would have interpreted the weights ("serving", "holdout evaluation").
Status require_built_in(const ModelSpec& spec, std::string_view what);

bool is_classifier(const ModelSpec& spec);
// Whether predict_proba is defined (log loss needs it): softmax, logistic, MLP classifier.
bool has_probabilities(const ModelSpec& spec);
LossKind loss_kind(const ModelSpec& spec);
// Width of the final dense layer.
int output_dim(const ModelSpec& spec);
// Length of the parameter vector; the spec must be valid.
int64_t num_params(const ModelSpec& spec);

// "linear", "logistic", "softmax", "svm", "mlp", "custom" and back.
std::string_view model_kind_name(ModelKind kind);
Result<ModelKind> parse_model_kind(std::string_view name);
std::string_view activation_name(Activation activation);
Result<Activation> parse_activation(std::string_view name);

// One line for logs: "mlp(784 -> 100 relu -> 10)", "custom(41: w 40, b 1)".
std::string describe(const ModelSpec& spec);

}  // namespace fl::model
