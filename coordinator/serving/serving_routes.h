// Registers the prediction-serving routes of both APIs into an http::Router:
//
//   TensorFlow Serving REST (tfserving_api.h), api "tfserving":
//     GET  /v1/models/{name}                          model status
//     GET  /v1/models/{name}/versions/{version}
//     GET  /v1/models/{name}/metadata                 signature_def
//     GET  /v1/models/{name}/versions/{version}/metadata
//     POST /v1/models/{name}:predict
//     POST /v1/models/{name}/versions/{version}:predict
//   Open Inference Protocol / KServe v2 (kserve_api.h), api "kserve":
//     GET  /v2/health/live, /v2/health/ready          (never authenticated or rate limited)
//     GET  /v2/models/{name}, /v2/models/{name}/versions/{version}       metadata
//     GET  /v2/models/{name}/ready, /v2/models/{name}/versions/{version}/ready
//     POST /v2/models/{name}/infer, /v2/models/{name}/versions/{version}/infer
//
// Serving routes are public and not rate limited per peer by default: they
// are read-only, and a prediction costs less than the limiter's bookkeeping
// would protect. A {version} that is not a positive integer is a 400.
//
// Not for: the coordinator's own model download route (clients fetch weights
// elsewhere), Prometheus rendering (the observer feeds whatever the caller
// keeps).
//
// Thread-safety: call during setup, before the server starts; the handlers
// are then safe on any number of io threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/http/router.h"
#include "coordinator/serving/served_models.h"

namespace fl::serving {

// Called on the io thread after every serving request with the api
// ("tfserving" or "kserve"), the model name from the path if that model is
// served here, else kUnknownModelLabel ("" for health), the HTTP status
// answered and the handler's wall time in seconds. The model is meant for a
// metric label: mapping names nobody serves to one value keeps the series
// count bounded by the configured models, whatever names requests carry. It
// must be cheap and thread-safe; an exception from it is swallowed.
using ServingObserver = std::function<void(std::string_view api, std::string_view model,
                                           int http_status, double seconds)>;

inline constexpr std::string_view kTfServingApi = "tfserving";
inline constexpr std::string_view kKServeApi = "kserve";
// The observer's model for every name that is not served here (a model
// really named "_unknown" would share its series).
inline constexpr std::string_view kUnknownModelLabel = "_unknown";

struct ServingRouteOptions {
  // Rows per predict or infer request; more is a 400. 1024 rows of
  // Fashion-MNIST take ~10 ms to predict with the 100-unit MLP.
  size_t max_batch_rows = 1024;
  // Body limit of :predict and infer: 1024 rows x 784 features x ~12 bytes
  // per printed float is ~9.6 MB.
  size_t max_predict_body_bytes = size_t{16} << 20;
  std::string auth_class;     // "" = public; applies to every route but health
  bool rate_limited = false;  // per-peer limiting; health routes never are
  ServingObserver observer;   // optional
};

// AlreadyExists if a route is already taken, InvalidArgument for a body limit
// above http::kLargestMaxBodyBytes or a zero batch limit.
Status add_serving_routes(http::Router& router, std::shared_ptr<ServedModels> models,
                          const ServingRouteOptions& options = {});

}  // namespace fl::serving
