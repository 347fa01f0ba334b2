// Test support for coordinator/serving: models with fixed seeds, a served
// HttpServer on 127.0.0.1 with the serving routes, and a JSON client.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "client_sdk/transport/http_client.h"
#include "coordinator/http/http_server.h"
#include "coordinator/serving/served_models.h"
#include "coordinator/serving/serving_routes.h"
#include "model/dataset.h"
#include "model/model.h"

namespace fl::serving::testing {

// The Fashion-MNIST MLP: 784 -> 100 ReLU -> 10, weights from `seed`.
model::Model fashion_mlp(uint64_t seed);
// An MLP regressor 8 -> 4 -> scalar, with a non-trivial standardizer.
model::Model small_regressor(uint64_t seed);

// n x d values k/256 for k in [0, 256): exact in float32 and in decimal, so
// no parsing path can round them differently.
model::FeatureMatrix pixel_rows(int64_t n, int d, uint64_t seed);

// {"instances": [[...], ...]} / {"inputs": [[...], ...]}
std::string instances_body(const model::FeatureMatrix& rows);
std::string inputs_body(const model::FeatureMatrix& rows);
nlohmann::json rows_json(const model::FeatureMatrix& rows);

struct ServingServer {
  std::shared_ptr<ServedModels> models;
  std::unique_ptr<http::HttpServer> server;
  uint16_t port() const { return server->port(); }
};
// Starts a server (2 io threads) with only the serving routes.
ServingServer start_serving(std::shared_ptr<ServedModels> models,
                            const ServingRouteOptions& options = {});

struct JsonReply {
  int status = 0;
  nlohmann::json body;  // discarded value if the body was not JSON
  std::string text;
};

class JsonClient {
 public:
  explicit JsonClient(uint16_t port);
  JsonReply get(const std::string& target);
  JsonReply post(const std::string& target, const std::string& body);

 private:
  JsonReply send(std::string_view method, const std::string& target, const std::string& body);
  transport::HttpClient client_;
};

}  // namespace fl::serving::testing
