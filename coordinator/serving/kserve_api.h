// The Open Inference Protocol (KServe v2) REST API over ServedModels
// (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/):
//   health       GET /v2/health/live, /v2/health/ready -> {"live"|"ready": bool};
//                not ready is 400, the 4xx the protocol asks for (as Triton)
//   model ready  {"name": "mnist", "ready": bool}, same status rule
//   metadata     {"name", "versions": ["3", ...], "platform": "fl_eigen",
//                 "inputs": [{"name", "datatype", "shape": [-1, d]}], "outputs": [...]}
//   infer        {"model_name", "model_version", "id"?, "outputs": [{"name",
//                 "datatype", "shape", "data"}]}  (kserve_request.h for the request)
// Errors are {"error": "..."}: 400 for a bad request, 404 for an unknown model
// or version.
//
// Not for: routing (serving_routes.h), the binary tensor extension, the
// repository or shared-memory extensions.
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

// KServe's "platform" of every model here: Eigen dense stacks (model/).
inline constexpr std::string_view kPlatform = "fl_eigen";

class KServeApi {
 public:
  KServeApi(std::shared_ptr<ServedModels> models, size_t max_batch_rows);

  http::Response live() const;
  http::Response ready() const;
  http::Response model_ready(std::string_view name, std::optional<int64_t> version) const;
  http::Response metadata(std::string_view name, std::optional<int64_t> version) const;
  http::Response infer(std::string_view name, std::optional<int64_t> version,
                       std::string_view body) const;

 private:
  std::shared_ptr<ServedModels> models_;
  size_t max_batch_rows_;
};

}  // namespace fl::serving
