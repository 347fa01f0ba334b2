#include "coordinator/serving/tfserving_api.h"

#include <nlohmann/json.hpp>

#include "coordinator/serving/inference.h"
#include "coordinator/serving/json_numbers.h"
#include "coordinator/serving/request_buffer.h"
#include "coordinator/serving/tfserving_request.h"

namespace fl::serving {
namespace {

using nlohmann::json;

http::Response error_response(const Status& status) {
  const int code = status.code() == ErrorCode::kInvalidArgument ? 400
                   : status.code() == ErrorCode::kNotFound      ? 404
                                                                : http::http_status_for(status);
  return http::json_error(code, status.message());
}

// TF Serving's TensorShapeProto in JSON; int64 sizes are strings (proto3 JSON).
json tensor_shape(int width) {
  json dims = json::array({{{"size", "-1"}, {"name", ""}}});
  if (width > 0) dims.push_back({{"size", std::to_string(width)}, {"name", ""}});
  return {{"dim", dims}, {"unknown_rank", false}};
}

json tensor_info(std::string_view name, TensorType type, int width) {
  return {{"dtype", tensorflow_dtype(type)},
          {"tensor_shape", tensor_shape(width)},
          {"name", std::string(name) + ":0"}};
}

// One row of an output: a number, or an array for [n, width] outputs.
void append_row(std::string& out, const OutputTensor& tensor, Eigen::Index row) {
  if (tensor.spec->type == TensorType::kInt64) {
    append_int(out, tensor.ints[row]);
    return;
  }
  if (tensor.spec->width == 0) {
    append_float(out, tensor.floats(row, 0));
    return;
  }
  out += '[';
  for (Eigen::Index j = 0; j < tensor.floats.cols(); ++j) {
    if (j) out += ',';
    append_float(out, tensor.floats(row, j));
  }
  out += ']';
}

void append_tensor(std::string& out, const OutputTensor& tensor, int64_t rows) {
  out += '[';
  for (int64_t i = 0; i < rows; ++i) {
    if (i) out += ',';
    append_row(out, tensor, i);
  }
  out += ']';
}

std::string predictions_json(const Inference& inference) {
  std::string out;
  size_t per_row = 8;
  for (const OutputTensor& t : inference.outputs) per_row += 24 + 16 * (t.spec->width + 1);
  out.reserve(32 + per_row * static_cast<size_t>(inference.rows));
  out += "{\"predictions\":[";
  for (int64_t i = 0; i < inference.rows; ++i) {
    if (i) out += ',';
    if (inference.outputs.size() == 1) {
      append_row(out, inference.outputs[0], i);
      continue;
    }
    out += '{';
    for (size_t k = 0; k < inference.outputs.size(); ++k) {
      if (k) out += ',';
      out += '"';
      out += inference.outputs[k].spec->name;
      out += "\":";
      append_row(out, inference.outputs[k], i);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string outputs_json(const Inference& inference) {
  std::string out = "{\"outputs\":";
  if (inference.outputs.size() == 1) {
    append_tensor(out, inference.outputs[0], inference.rows);
  } else {
    out += '{';
    for (size_t k = 0; k < inference.outputs.size(); ++k) {
      if (k) out += ',';
      out += '"';
      out += inference.outputs[k].spec->name;
      out += "\":";
      append_tensor(out, inference.outputs[k], inference.rows);
    }
    out += '}';
  }
  out += '}';
  return out;
}

}  // namespace

TfServingApi::TfServingApi(std::shared_ptr<ServedModels> models, size_t max_batch_rows)
    : models_(std::move(models)), max_batch_rows_(max_batch_rows) {}

http::Response TfServingApi::model_status(std::string_view name,
                                          std::optional<int64_t> version) const {
  Result<std::shared_ptr<const ServedVersion>> served = models_->resolve(name, version);
  if (!served.ok()) return error_response(served.status());
  const json status = {
      {"model_version_status",
       json::array({{{"version", std::to_string((*served)->version)},
                     {"state", "AVAILABLE"},
                     {"status", {{"error_code", "OK"}, {"error_message", ""}}}}})}};
  return http::json_response(status.dump());
}

http::Response TfServingApi::metadata(std::string_view name, std::optional<int64_t> version) const {
  Result<std::shared_ptr<const ServedVersion>> served = models_->resolve(name, version);
  if (!served.ok()) return error_response(served.status());
  const Signature& signature = (*served)->signature;
  if (!signature.refusal.empty()) return http::json_error(409, signature.refusal);
  json outputs = json::object();
  for (const OutputSpec& output : signature.outputs)
    outputs[output.name] = tensor_info(output.name, output.type, output.width);
  const json signature_def = {
      {"inputs",
       {{std::string(kInputName),
         tensor_info(kInputName, TensorType::kFloat32, signature.input_dim)}}},
      {"outputs", outputs},
      {"method_name", "tensorflow/serving/predict"}};
  const json answer = {
      {"model_spec",
       {{"name", (*served)->model_name},
        {"signature_name", ""},
        {"version", std::to_string((*served)->version)}}},
      {"metadata",
       {{"signature_def",
         {{"signature_def", {{std::string(kDefaultSignature), signature_def}}}}}}}};
  return http::json_response(answer.dump());
}

http::Response TfServingApi::predict(std::string_view name, std::optional<int64_t> version,
                                     std::string_view body) const {
  Result<std::shared_ptr<const ServedVersion>> served = models_->resolve(name, version);
  if (!served.ok()) return error_response(served.status());
  const ServedVersion& model = **served;
  // Before the body is parsed: a custom model has no input width to parse it by.
  if (!model.signature.refusal.empty()) return http::json_error(409, model.signature.refusal);
  RequestBuffer buffer;
  Result<TfPredictRequest> request =
      parse_tfserving_predict(body, model.signature.input_dim, max_batch_rows_, buffer.values());
  if (!request.ok()) return error_response(request.status());
  const Eigen::Map<const model::FeatureMatrix> rows(buffer.values().data(), request->rows,
                                                    model.signature.input_dim);
  Result<Inference> inference = run_inference(model, rows);
  if (!inference.ok()) return http::json_error(500, inference.status().message());
  // 422: the request is well formed, but the model has no finite answer.
  if (const Status finite = check_finite_outputs(*inference); !finite.ok())
    return http::json_error(422, finite.message());
  return http::json_response(request->columnar ? outputs_json(*inference)
                                               : predictions_json(*inference));
}

}  // namespace fl::serving
