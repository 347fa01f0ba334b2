#include "coordinator/serving/signature.h"

namespace fl::serving {

const OutputSpec* Signature::output(std::string_view name) const {
  for (const OutputSpec& spec : outputs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Signature signature_for(const model::ModelSpec& spec) {
  Signature signature;
  signature.input_dim = spec.input_dim;
  if (const Status built_in = model::require_built_in(spec, "serving"); !built_in.ok()) {
    signature.refusal = built_in.message() +
                        "; devices fetch its weights with fl::Client::fetch_model, and the app "
                        "predicts with its own code";
    return signature;
  }
  if (!model::is_classifier(spec)) {
    signature.outputs.push_back({std::string(kValueOutput), TensorType::kFloat32, 0});
    return signature;
  }
  const int classes = spec.num_classes;
  if (model::has_probabilities(spec)) {
    signature.outputs.push_back({std::string(kProbabilitiesOutput), TensorType::kFloat32, classes});
  } else {
    signature.outputs.push_back(
        {std::string(kScoresOutput), TensorType::kFloat32, model::output_dim(spec)});
  }
  signature.outputs.push_back({std::string(kClassesOutput), TensorType::kInt64, 0});
  return signature;
}

std::string_view kserve_datatype(TensorType type) {
  return type == TensorType::kInt64 ? "INT64" : "FP32";
}

std::string_view tensorflow_dtype(TensorType type) {
  return type == TensorType::kInt64 ? "DT_INT64" : "DT_FLOAT";
}

}  // namespace fl::serving
