#include "model/serialization.h"

#include <zlib.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

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

Status model_to_proto(const Model& model, fl::proto::Model* out) {
  FL_RETURN_IF_ERROR(validate_model(model));
  out->Clear();
  fl::proto::ModelSpec* spec = out->mutable_spec();
  spec->set_kind(to_proto(model.spec.kind));
  spec->set_input_dim(static_cast<uint32_t>(model.spec.input_dim));
  spec->set_num_classes(static_cast<uint32_t>(model.spec.num_classes));
  for (int width : model.spec.hidden_layers) spec->add_hidden_layers(static_cast<uint32_t>(width));
  spec->set_activation(model.spec.activation == Activation::kRelu ? fl::proto::ACTIVATION_RELU
                                                                  : fl::proto::ACTIVATION_TANH);
  out->mutable_parameters()->Add(model.params.data(), model.params.data() + model.params.size());
  if (!model.standardizer.empty()) {
    const Standardizer& s = model.standardizer;
    out->mutable_standardization()->mutable_mean()->Add(s.mean.data(),
                                                        s.mean.data() + s.mean.size());
    out->mutable_standardization()->mutable_scale()->Add(s.scale.data(),
                                                         s.scale.data() + s.scale.size());
  }
  for (const auto& [key, value] : model.metadata) (*out->mutable_metadata())[key] = value;
  return Status::Ok();
}

Result<Model> model_from_proto(const fl::proto::Model& proto, std::string_view source) {
  const std::string where(source);
  Model model;
  Result<ModelKind> kind = from_proto(proto.spec().kind(), where);
  if (!kind.ok()) return kind.status();
  model.spec.kind = *kind;
  // uint32 fields above INT32_MAX would wrap; validate_spec rejects the result.
  model.spec.input_dim = static_cast<int>(std::min<uint32_t>(proto.spec().input_dim(), INT32_MAX));
  model.spec.num_classes =
      static_cast<int>(std::min<uint32_t>(proto.spec().num_classes(), INT32_MAX));
  for (uint32_t width : proto.spec().hidden_layers()) {
    model.spec.hidden_layers.push_back(static_cast<int>(std::min<uint32_t>(width, INT32_MAX)));
  }
  switch (proto.spec().activation()) {
    case fl::proto::ACTIVATION_RELU:
      model.spec.activation = Activation::kRelu;
      break;
    case fl::proto::ACTIVATION_TANH:
      model.spec.activation = Activation::kTanh;
      break;
    default:
      if (model.spec.kind == ModelKind::kMlp) {
        return DataLoss(where + ": unknown activation " +
                        std::to_string(static_cast<int>(proto.spec().activation())));
      }
  }
  if (Status s = validate_spec(model.spec); !s.ok()) {
    return DataLoss(where + ": invalid model spec: " + s.message());
  }
  const int64_t expected = num_params(model.spec);
  if (proto.parameters_size() != expected) {
    return DataLoss(where + ": " + describe(model.spec) + " needs " + std::to_string(expected) +
                    " parameters but the file holds " + std::to_string(proto.parameters_size()));
  }
  model.params = Eigen::Map<const Eigen::VectorXf>(proto.parameters().data(), expected);
  if (!model.params.allFinite()) {
    return DataLoss(where + ": the parameters contain NaN or infinity");
  }
  const auto& st = proto.standardization();
  model.standardizer.mean = Eigen::Map<const Eigen::VectorXf>(st.mean().data(), st.mean_size());
  model.standardizer.scale = Eigen::Map<const Eigen::VectorXf>(st.scale().data(), st.scale_size());
  if (Status s = validate_standardizer(model.standardizer, model.spec.input_dim); !s.ok()) {
    return DataLoss(where + ": " + s.message());
  }
  for (const auto& [key, value] : proto.metadata()) model.metadata[key] = value;
  return model;
}

Result<std::string> save_model(const Model& model) {
  fl::proto::Model body;
  FL_RETURN_IF_ERROR(model_to_proto(model, &body));
  if (body.ByteSizeLong() > kMaxMessageBytes) {
    return ResourceExhausted("model of " + std::to_string(model.params.size()) +
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

Result<Model> load_model(std::string_view bytes, std::string_view source) {
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
  fl::proto::Model body;
  if (!body.ParseFromString(file.model())) {
    return DataLoss(where + ": corrupted (the model body does not parse)");
  }
  return model_from_proto(body, source);
}

Status save_model_file(const Model& model, const std::string& path) {
  Result<std::string> bytes = save_model(model);
  if (!bytes.ok()) return bytes.status();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument(path + ": cannot open for writing");
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Unavailable(path + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return InvalidArgument(path + ": cannot replace: " + ec.message());
  }
  return Status::Ok();
}

Result<Model> load_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return DataLoss(path + ": read error");
  return load_model(buffer.str(), path);
}

}  // namespace fl::model
