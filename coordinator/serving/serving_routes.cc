#include "coordinator/serving/serving_routes.h"

#include <charconv>
#include <chrono>
#include <optional>

#include "coordinator/serving/kserve_api.h"
#include "coordinator/serving/tfserving_api.h"

namespace fl::serving {
namespace {

using http::Request;
using http::Response;

// The {version} path parameter, if the route has one.
Result<std::optional<int64_t>> version_param(const Request& request) {
  const std::string_view text = request.param("version");
  if (text.empty()) return std::optional<int64_t>();
  int64_t version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version <= 0) {
    return InvalidArgument("version '" + http::excerpt(text) + "' is not a positive integer");
  }
  return std::optional<int64_t>(version);
}

// A handler taking (model name, version, request), timed and reported.
using ModelHandler =
    std::function<Response(std::string_view name, std::optional<int64_t> version, const Request&)>;

// The model label the observer gets: the path's name only if it is served
// here, so requests for random names cannot grow the metric series.
std::string_view model_label(const ServedModels& models, std::string_view name) {
  if (name.empty() || models.knows(name)) return name;
  return kUnknownModelLabel;
}

http::Handler observed(std::string_view api, ModelHandler handler, ServingObserver observer,
                       std::shared_ptr<const ServedModels> models) {
  return [api, handler = std::move(handler), observer = std::move(observer),
          models = std::move(models)](const Request& request) {
    const auto start = std::chrono::steady_clock::now();
    Result<std::optional<int64_t>> version = version_param(request);
    Response response = version.ok() ? handler(request.param("name"), *version, request)
                                     : http::json_error(400, version.status().message());
    if (observer) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      try {
        observer(api, model_label(*models, request.param("name")), response.status,
                 elapsed.count());
      } catch (...) {
        // Metrics must not fail a prediction.
      }
    }
    return response;
  };
}

struct RouteSpec {
  std::string_view method;
  std::string_view pattern;
  std::string_view api;
  ModelHandler handler;
  bool predict = false;  // larger body limit
  bool probe = false;    // health: never authenticated or rate limited
};

}  // namespace

Status add_serving_routes(http::Router& router, std::shared_ptr<ServedModels> models,
                          const ServingRouteOptions& options) {
  if (options.max_batch_rows == 0) return InvalidArgument("max_batch_rows must be at least 1");
  if (!models) return InvalidArgument("add_serving_routes needs the served models");
  auto tf = std::make_shared<const TfServingApi>(models, options.max_batch_rows);
  auto kserve = std::make_shared<const KServeApi>(models, options.max_batch_rows);

  const ModelHandler tf_status = [tf](std::string_view name, std::optional<int64_t> version,
                                      const Request&) { return tf->model_status(name, version); };
  const ModelHandler tf_metadata = [tf](std::string_view name, std::optional<int64_t> version,
                                        const Request&) { return tf->metadata(name, version); };
  const ModelHandler tf_predict = [tf](std::string_view name, std::optional<int64_t> version,
                                       const Request& request) {
    return tf->predict(name, version, request.body);
  };
  const ModelHandler kserve_live = [kserve](std::string_view, std::optional<int64_t>,
                                            const Request&) { return kserve->live(); };
  const ModelHandler kserve_ready = [kserve](std::string_view, std::optional<int64_t>,
                                             const Request&) { return kserve->ready(); };
  const ModelHandler kserve_model_ready = [kserve](std::string_view name,
                                                   std::optional<int64_t> version, const Request&) {
    return kserve->model_ready(name, version);
  };
  const ModelHandler kserve_metadata = [kserve](std::string_view name,
                                                std::optional<int64_t> version, const Request&) {
    return kserve->metadata(name, version);
  };
  const ModelHandler kserve_infer = [kserve](std::string_view name, std::optional<int64_t> version,
                                             const Request& request) {
    return kserve->infer(name, version, request.body);
  };

  const RouteSpec routes[] = {
      {"GET", "/v1/models/{name}", kTfServingApi, tf_status},
      {"GET", "/v1/models/{name}/versions/{version}", kTfServingApi, tf_status},
      {"GET", "/v1/models/{name}/metadata", kTfServingApi, tf_metadata},
      {"GET", "/v1/models/{name}/versions/{version}/metadata", kTfServingApi, tf_metadata},
      {"POST", "/v1/models/{name}:predict", kTfServingApi, tf_predict, true},
      {"POST", "/v1/models/{name}/versions/{version}:predict", kTfServingApi, tf_predict, true},
      {"GET", "/v2/health/live", kKServeApi, kserve_live, false, true},
      {"GET", "/v2/health/ready", kKServeApi, kserve_ready, false, true},
      {"GET", "/v2/models/{name}", kKServeApi, kserve_metadata},
      {"GET", "/v2/models/{name}/versions/{version}", kKServeApi, kserve_metadata},
      {"GET", "/v2/models/{name}/ready", kKServeApi, kserve_model_ready},
      {"GET", "/v2/models/{name}/versions/{version}/ready", kKServeApi, kserve_model_ready},
      {"POST", "/v2/models/{name}/infer", kKServeApi, kserve_infer, true},
      {"POST", "/v2/models/{name}/versions/{version}/infer", kKServeApi, kserve_infer, true},
  };
  for (const RouteSpec& route : routes) {
    http::RouteOptions route_options;
    if (route.predict) route_options.max_body_bytes = options.max_predict_body_bytes;
    route_options.auth_class = route.probe ? "" : options.auth_class;
    route_options.rate_limited = !route.probe && options.rate_limited;
    FL_RETURN_IF_ERROR(router.add(route.method, route.pattern,
                                  observed(route.api, route.handler, options.observer, models),
                                  route_options));
  }
  return Status::Ok();
}

}  // namespace fl::serving
