// The serving signature of a model: the one input tensor it takes and the
// output tensors it answers with, derived from its ModelSpec. Both APIs
// describe models with it (TF Serving's signature_def "serving_default",
// KServe's model metadata), and both answer with its outputs:
//   classifier with probabilities (softmax, logistic, MLP):
//       probabilities FP32 [n, classes], classes INT64 [n]
//   linear SVM (no calibrated probabilities): scores FP32 [n, k], classes INT64 [n]
//   regressor (linear, MLP with a scalar output): value FP32 [n]
//   app-defined (kind custom): none; `refusal` says why, and both APIs answer
//       predict, infer and metadata with 409 and that reason
//
// Not for: several inputs, or string and image inputs; every model here is a
// dense stack over one float vector.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/model_spec.h"

namespace fl::serving {

// The input's name in both APIs: TF Serving's named-input objects
// ({"instances": [{"inputs": [...]}]}) and KServe's tensor "name".
inline constexpr std::string_view kInputName = "inputs";
// TF Serving's only signature here.
inline constexpr std::string_view kDefaultSignature = "serving_default";

inline constexpr std::string_view kProbabilitiesOutput = "probabilities";
inline constexpr std::string_view kClassesOutput = "classes";
inline constexpr std::string_view kScoresOutput = "scores";
inline constexpr std::string_view kValueOutput = "value";

enum class TensorType { kFloat32, kInt64 };

struct OutputSpec {
  std::string name;
  TensorType type = TensorType::kFloat32;
  int width = 0;  // columns of an [n, width] output; 0 for an [n] output
};

struct Signature {
  int input_dim = 0;                // the input is FP32 [n, input_dim]
  std::vector<OutputSpec> outputs;  // in answer order
  // Non-empty when the model cannot be served at all (kind custom): why, for
  // the 409 every predicting or describing request is answered with.
  std::string refusal;

  // The output called `name`, or nullptr.
  const OutputSpec* output(std::string_view name) const;
};

// The spec must be valid (validate_spec).
Signature signature_for(const model::ModelSpec& spec);

// "FP32"/"INT64" (KServe) and "DT_FLOAT"/"DT_INT64" (TF Serving).
std::string_view kserve_datatype(TensorType type);
std::string_view tensorflow_dtype(TensorType type);

}  // namespace fl::serving
