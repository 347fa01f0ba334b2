#include "model/model_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>

#include "proto/model.pb.h"

namespace fl::model {
namespace {

fl::proto::ModelKind to_proto(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinearRegression:
      return fl::proto::MODEL_KIND_LINEAR_REGRESSION;
    case ModelKind::kLogisticRegression:
      return fl::proto::MODEL_KIND_LOGISTIC_REGRESSION;
    case ModelKind::kSoftmaxRegression:
      return fl::proto::MODEL_KIND_SOFTMAX_REGRESSION;
    case ModelKind::kLinearSvm:
      return fl::proto::MODEL_KIND_LINEAR_SVM;
    case ModelKind::kMlp:
      return fl::proto::MODEL_KIND_MLP;
    case ModelKind::kCustom:
      return fl::proto::MODEL_KIND_CUSTOM;
  }
  return fl::proto::MODEL_KIND_UNSPECIFIED;
}

Result<ModelKind> from_proto(fl::proto::ModelKind kind, const std::string& where) {
  switch (kind) {
    case fl::proto::MODEL_KIND_LINEAR_REGRESSION:
      return ModelKind::kLinearRegression;
    case fl::proto::MODEL_KIND_LOGISTIC_REGRESSION:
      return ModelKind::kLogisticRegression;
    case fl::proto::MODEL_KIND_SOFTMAX_REGRESSION:
      return ModelKind::kSoftmaxRegression;
    case fl::proto::MODEL_KIND_LINEAR_SVM:
      return ModelKind::kLinearSvm;
    case fl::proto::MODEL_KIND_MLP:
      return ModelKind::kMlp;
    case fl::proto::MODEL_KIND_CUSTOM:
      return ModelKind::kCustom;
    default:
      break;
  }
  return DataLoss(where + ": unknown model kind " + std::to_string(static_cast<int>(kind)));
}

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // crc32 takes a uInt length; feed large bodies in pieces.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t done = 0; done < bytes.size(); done += kPiece) {
    const size_t len = std::min(kPiece, bytes.size() - done);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), static_cast<uInt>(len));
  }
  return static_cast<uint32_t>(crc);
}

// Ceiling on what a protobuf message may hold (2 GiB).
constexpr size_t kMaxMessageBytes = (size_t{1} << 31) - 1;

}  // namespace

Status open_model_file(std::string_view bytes, std::string_view source, fl::proto::Model* body) {
  const std::string where(source);
  fl::proto::ModelFile file;
  if (bytes.empty()) return DataLoss(where + ": empty; not a model file");
  if (bytes.size() > kMaxMessageBytes ||
      !file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLoss(where + ": not a model file, or corrupted (protobuf parse failed)");
  }
  if (file.format_version() != kModelFormatVersion) {
    if (file.format_version() == 0) {
      return DataLoss(where + ": not a model file, or corrupted (no format version)");
    }
    return FailedPrecondition(where + ": model format version " +
                              std::to_string(file.format_version()) +
                              "; this build reads version " + std::to_string(kModelFormatVersion));
  }
  if (crc32_of(file.model()) != file.model_crc32()) {
    return DataLoss(where + ": corrupted (checksum mismatch in the model body)");
  }
  if (!body->ParseFromString(file.model())) {
    return DataLoss(where + ": corrupted (the model body does not parse)");
  }
  return Status::Ok();
}

Result<std::string> seal_model_file(const fl::proto::Model& body, size_t num_params) {
  if (body.ByteSizeLong() > kMaxMessageBytes) {
    return ResourceExhausted("model of " + std::to_string(num_params) +
                             " parameters exceeds the 2 GiB protobuf limit");
  }
  fl::proto::ModelFile file;
  file.set_format_version(kModelFormatVersion);
  if (!body.SerializeToString(file.mutable_model())) {
    return Internal("could not serialise the model");
  }
  file.set_model_crc32(crc32_of(file.model()));
  std::string out;
  if (!file.SerializeToString(&out)) return Internal("could not serialise the model file");
  return out;
}

void spec_to_proto(const ModelSpec& spec, fl::proto::ModelSpec* out) {
  out->set_kind(to_proto(spec.kind));
  out->set_input_dim(static_cast<uint32_t>(spec.input_dim));
  out->set_num_classes(static_cast<uint32_t>(spec.num_classes));
  for (int width : spec.hidden_layers) out->add_hidden_layers(static_cast<uint32_t>(width));
  out->set_activation(spec.activation == Activation::kRelu ? fl::proto::ACTIVATION_RELU
                                                           : fl::proto::ACTIVATION_TANH);
  if (spec.kind != ModelKind::kCustom) return;
  out->set_custom_parameters(static_cast<uint64_t>(spec.custom_parameters));
  for (const ParameterBlock& b : spec.layout) {
    fl::proto::ParameterBlock* block = out->add_layout();
    block->set_name(b.name);
    block->set_size(static_cast<uint64_t>(b.size));
  }
}

Result<ModelSpec> spec_from_proto(const fl::proto::ModelSpec& proto, std::string_view source) {
  const std::string where(source);
  ModelSpec spec;
  Result<ModelKind> kind = from_proto(proto.kind(), where);
  if (!kind.ok()) return kind.status();
  spec.kind = *kind;
  // uint32 fields above INT32_MAX would wrap; validate_spec rejects the result.
  spec.input_dim = static_cast<int>(std::min<uint32_t>(proto.input_dim(), INT32_MAX));
  spec.num_classes = static_cast<int>(std::min<uint32_t>(proto.num_classes(), INT32_MAX));
  for (uint32_t width : proto.hidden_layers()) {
    spec.hidden_layers.push_back(static_cast<int>(std::min<uint32_t>(width, INT32_MAX)));
  }
  // uint64 above INT64_MAX would wrap; clamped, validate_spec rejects it (> 2^31).
  spec.custom_parameters = static_cast<int64_t>(std::min<uint64_t>(
      proto.custom_parameters(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
  for (const fl::proto::ParameterBlock& b : proto.layout()) {
    spec.layout.push_back(ParameterBlock{
        b.name(), static_cast<int64_t>(std::min<uint64_t>(
                      b.size(), static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))});
  }
  switch (proto.activation()) {
    case fl::proto::ACTIVATION_RELU:
      spec.activation = Activation::kRelu;
      break;
    case fl::proto::ACTIVATION_TANH:
      spec.activation = Activation::kTanh;
      break;
    default:
      if (spec.kind == ModelKind::kMlp) {
        return DataLoss(where + ": unknown activation " +
                        std::to_string(static_cast<int>(proto.activation())));
      }
  }
  if (Status s = validate_spec(spec); !s.ok()) {
    return DataLoss(where + ": invalid model spec: " + s.message());
  }
  return spec;
}

namespace {

// The spec and the flat weights of an opened body, checked.
Result<ModelWeights> weights_of(const fl::proto::Model& body, std::string_view source) {
  const std::string where(source);
  auto spec = spec_from_proto(body.spec(), source);
  if (!spec.ok()) return spec.status();
  const int64_t expected = num_params(*spec);
  if (body.parameters_size() != expected) {
    return DataLoss(where + ": " + describe(*spec) + " needs " + std::to_string(expected) +
                    " parameters but the file holds " + std::to_string(body.parameters_size()));
  }
  ModelWeights out{std::move(*spec), {body.parameters().begin(), body.parameters().end()}};
  if (!std::all_of(out.params.begin(), out.params.end(), [](float w) { return std::isfinite(w); }))
    return DataLoss(where + ": the parameters contain NaN or infinity");
  return out;
}

}  // namespace

Result<ModelWeights> read_model_weights(std::string_view bytes, std::string_view source) {
  fl::proto::Model body;
  FL_RETURN_IF_ERROR(open_model_file(bytes, source, &body));
  return weights_of(body, source);
}

Result<ModelForInference> read_model_for_inference(std::string_view bytes,
                                                   std::string_view source) {
  const std::string where(source);
  fl::proto::Model body;
  FL_RETURN_IF_ERROR(open_model_file(bytes, source, &body));
  auto weights = weights_of(body, source);
  if (!weights.ok()) return weights.status();
  ModelForInference out;
  out.weights = std::move(*weights);
  const auto& st = body.standardization();
  out.mean.assign(st.mean().begin(), st.mean().end());
  out.scale.assign(st.scale().begin(), st.scale().end());
  // The rule of validate_standardizer (standardizer.h), without Eigen.
  const size_t d = static_cast<size_t>(out.weights.spec.input_dim);
  if (!(out.mean.empty() && out.scale.empty()) && (out.mean.size() != d || out.scale.size() != d))
    return DataLoss(where + ": standardisation has " + std::to_string(out.mean.size()) +
                    " means and " + std::to_string(out.scale.size()) + " scales for " +
                    std::to_string(d) + " inputs");
  for (size_t j = 0; j < out.mean.size(); ++j) {
    if (!std::isfinite(out.mean[j]) || !std::isfinite(out.scale[j]) || !(out.scale[j] > 0))
      return DataLoss(where + ": standardisation of feature " + std::to_string(j) +
                      " is not finite or has a non-positive scale");
  }
  for (const auto& [key, value] : body.metadata()) out.metadata[key] = value;
  return out;
}

}  // namespace fl::model
