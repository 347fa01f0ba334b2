#include "model/serialization.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/model_file.h"
#include "proto/model.pb.h"

namespace fl::model {

Status model_to_proto(const Model& model, fl::proto::Model* out) {
  FL_RETURN_IF_ERROR(validate_model(model));
  out->Clear();
  spec_to_proto(model.spec, out->mutable_spec());
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
  auto spec = spec_from_proto(proto.spec(), source);
  if (!spec.ok()) return spec.status();
  model.spec = std::move(*spec);
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
  return seal_model_file(body, static_cast<size_t>(model.params.size()));
}

Result<Model> load_model(std::string_view bytes, std::string_view source) {
  fl::proto::Model body;
  FL_RETURN_IF_ERROR(open_model_file(bytes, source, &body));
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
