#include "coordinator/serving/kserve_api.h"

#include <nlohmann/json.hpp>

#include "coordinator/serving/inference.h"
#include "coordinator/serving/json_numbers.h"
#include "coordinator/serving/kserve_request.h"
#include "coordinator/serving/request_buffer.h"

namespace fl::serving {
namespace {

using nlohmann::json;

constexpr int kNotReady = 400;

http::Response error_response(const Status& status) {
  const int code = status.code() == ErrorCode::kInvalidArgument ? 400
                   : status.code() == ErrorCode::kNotFound      ? 404
                                                                : http::http_status_for(status);
  return http::json_error(code, status.message());
}

json shape_of(int width) {
  json shape = json::array({-1});
  if (width > 0) shape.push_back(width);
  return shape;
}

void append_output(std::string& out, const OutputTensor& tensor, int64_t rows) {
  const OutputSpec& spec = *tensor.spec;
  out += "{\"name\":\"";
  out += spec.name;
  out += "\",\"datatype\":\"";
  out += kserve_datatype(spec.type);
  out += "\",\"shape\":[";
  append_int(out, rows);
  if (spec.width > 0) {
    out += ',';
    append_int(out, spec.width);
  }
  out += "],\"data\":[";
  bool first = true;
  for (int64_t i = 0; i < rows; ++i) {
    if (spec.type == TensorType::kInt64) {
      if (!first) out += ',';
      append_int(out, tensor.ints[i]);
      first = false;
      continue;
    }
    for (Eigen::Index j = 0; j < tensor.floats.cols(); ++j) {
      if (!first) out += ',';
      append_float(out, tensor.floats(i, j));
      first = false;
    }
  }
  out += "]}";
}

}  // namespace

KServeApi::KServeApi(std::shared_ptr<ServedModels> models, size_t max_batch_rows)
    : models_(std::move(models)), max_batch_rows_(max_batch_rows) {}

http::Response KServeApi::live() const { return http::json_response("{\"live\":true}"); }

http::Response KServeApi::ready() const {
  const bool ready = models_->ready();
  return http::json_response(ready ? "{\"ready\":true}" : "{\"ready\":false}",
                             ready ? 200 : kNotReady);
}

http::Response KServeApi::model_ready(std::string_view name, std::optional<int64_t> version) const {
  if (!models_->knows(name)) {
    return http::json_error(404, "model '" + http::excerpt(name) + "' is not served here");
  }
  const bool ready = models_->resolve(name, version).ok();
  const json answer = {{"name", std::string(name)}, {"ready", ready}};
  return http::json_response(answer.dump(), ready ? 200 : kNotReady);
}

http::Response KServeApi::metadata(std::string_view name, std::optional<int64_t> version) const {
  Result<std::shared_ptr<const ServedVersion>> served = models_->resolve(name, version);
  if (!served.ok()) return error_response(served.status());
  Result<std::vector<int64_t>> versions = models_->servable_versions(name);
  if (!versions.ok()) return error_response(versions.status());
  json version_names = json::array();
  for (int64_t id : *versions) version_names.push_back(std::to_string(id));
  const Signature& signature = (*served)->signature;
  if (!signature.refusal.empty()) return http::json_error(409, signature.refusal);
  json outputs = json::array();
  for (const OutputSpec& output : signature.outputs) {
    outputs.push_back({{"name", output.name},
                       {"datatype", kserve_datatype(output.type)},
                       {"shape", shape_of(output.width)}});
  }
  const json answer = {{"name", (*served)->model_name},
                       {"versions", version_names},
                       {"platform", kPlatform},
                       {"inputs", json::array({{{"name", kInputName},
                                                {"datatype", kserve_datatype(TensorType::kFloat32)},
                                                {"shape", shape_of(signature.input_dim)}}})},
                       {"outputs", outputs}};
  return http::json_response(answer.dump());
}

http::Response KServeApi::infer(std::string_view name, std::optional<int64_t> version,
                                std::string_view body) const {
  Result<std::shared_ptr<const ServedVersion>> served = models_->resolve(name, version);
  if (!served.ok()) return error_response(served.status());
  const ServedVersion& model = **served;
  // Before the body is parsed: a custom model has no input width to parse it by.
  if (!model.signature.refusal.empty()) return http::json_error(409, model.signature.refusal);
  RequestBuffer buffer;
  Result<KServeInferRequest> request =
      parse_kserve_infer(body, model.signature, max_batch_rows_, buffer.values());
  if (!request.ok()) return error_response(request.status());
  const Eigen::Map<const model::FeatureMatrix> rows(buffer.values().data(), request->rows,
                                                    model.signature.input_dim);
  Result<Inference> inference = run_inference(model, rows);
  if (!inference.ok()) return http::json_error(500, inference.status().message());
  // 422: the request is well formed, but the model has no finite answer.
  if (const Status finite = check_finite_outputs(*inference); !finite.ok())
    return http::json_error(422, finite.message());

  std::string out;
  out.reserve(96 + static_cast<size_t>(request->rows) * 16 * (model.signature.outputs.size() + 10));
  out += "{\"model_name\":\"";
  out += http::json_escape(model.model_name);
  out += "\",\"model_version\":\"";
  append_int(out, model.version);
  out += '"';
  if (request->id) {
    out += ",\"id\":\"";
    out += http::json_escape(*request->id);
    out += '"';
  }
  out += ",\"outputs\":[";
  for (size_t k = 0; k < request->outputs.size(); ++k) {
    if (k) out += ',';
    for (const OutputTensor& tensor : inference->outputs) {
      if (tensor.spec == request->outputs[k]) append_output(out, tensor, inference->rows);
    }
  }
  out += "]}";
  return http::json_response(std::move(out));
}

}  // namespace fl::serving
