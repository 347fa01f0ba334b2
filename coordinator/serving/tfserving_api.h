// TensorFlow Serving's REST API over ServedModels, answering with exactly the
// JSON TF Serving writes (https://www.tensorflow.org/tfx/serving/api_rest):
//   model status     {"model_version_status": [{"version": "3", "state": "AVAILABLE",
//                      "status": {"error_code": "OK", "error_message": ""}}]}
//   model metadata   {"model_spec": {...}, "metadata": {"signature_def": {"signature_def":
//                      {"serving_default": {inputs, outputs, method_name}}}}}
//   predict          row format {"predictions": [...]}, columnar {"outputs": ...};
//                    several outputs make each prediction an object
//                    {"probabilities": [...], "classes": 3} and "outputs" an object
//                    of tensors, one output (regressors) plain values.
// Errors are {"error": "..."}: 400 for a bad request, 404 for an unknown model
// or version.
//
// Not for: routing (serving_routes.h), classify/regress, b64 inputs.
//
// Thread-safety: const members are safe from any number of io threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "coordinator/http/response.h"
#include "coordinator/serving/served_models.h"

namespace fl::serving {

class TfServingApi {
 public:
  TfServingApi(std::shared_ptr<ServedModels> models, size_t max_batch_rows);

  // `version` nullopt: the published version.
  http::Response model_status(std::string_view name, std::optional<int64_t> version) const;
  http::Response metadata(std::string_view name, std::optional<int64_t> version) const;
  http::Response predict(std::string_view name, std::optional<int64_t> version,
                         std::string_view body) const;

 private:
  std::shared_ptr<ServedModels> models_;
  size_t max_batch_rows_;
};

}  // namespace fl::serving
