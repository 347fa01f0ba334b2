#include "tests/coordinator/serving/serving_test_support.h"

#include <gtest/gtest.h>

#include <random>

namespace fl::serving::testing {

model::Model fashion_mlp(uint64_t seed) {
  Result<model::Model> m = model::create_model(model::ModelSpec::mlp(784, 10, {100}), seed);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  // Biases too, so versions differ in every output.
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::uniform_real_distribution<float> bias(-0.5f, 0.5f);
  for (Eigen::Index i = 0; i < m->params.size(); ++i) {
    if (m->params[i] == 0.0f) m->params[i] = bias(rng);
  }
  return std::move(m).value();
}

model::Model small_regressor(uint64_t seed) {
  Result<model::Model> m = model::create_model(model::ModelSpec::mlp(8, 0, {4}), seed);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  m->standardizer.mean = Eigen::VectorXf::Constant(8, 0.5f);
  m->standardizer.scale = Eigen::VectorXf::Constant(8, 0.25f);
  return std::move(m).value();
}

model::FeatureMatrix pixel_rows(int64_t n, int d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  model::FeatureMatrix rows(n, d);
  for (Eigen::Index i = 0; i < rows.size(); ++i)
    rows.data()[i] = static_cast<float>(rng() % 256) / 256.0f;
  return rows;
}

nlohmann::json rows_json(const model::FeatureMatrix& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < rows.cols(); ++j) row.push_back(rows(i, j));
    out.push_back(std::move(row));
  }
  return out;
}

std::string instances_body(const model::FeatureMatrix& rows) {
  return nlohmann::json{{"instances", rows_json(rows)}}.dump();
}

std::string inputs_body(const model::FeatureMatrix& rows) {
  return nlohmann::json{{"inputs", rows_json(rows)}}.dump();
}

ServingServer start_serving(std::shared_ptr<ServedModels> models,
                            const ServingRouteOptions& options) {
  http::Router router;
  const Status added = add_serving_routes(router, models, options);
  EXPECT_TRUE(added.ok()) << added.to_string();
  http::HttpServerOptions server_options;
  server_options.io_threads = 2;
  ServingServer served{std::move(models),
                       std::make_unique<http::HttpServer>(std::move(router), server_options)};
  const Status started = served.server->start();
  EXPECT_TRUE(started.ok()) << started.to_string();
  return served;
}

namespace {
transport::HttpClient make_client(uint16_t port) {
  transport::HttpClientOptions options;
  options.port = port;
  options.read_timeout = std::chrono::seconds(10);
  Result<transport::HttpClient> client = transport::HttpClient::create(options);
  EXPECT_TRUE(client.ok()) << client.status().to_string();
  return std::move(client).value();
}
}  // namespace

JsonClient::JsonClient(uint16_t port) : client_(make_client(port)) {}

JsonReply JsonClient::get(const std::string& target) { return send("GET", target, ""); }

JsonReply JsonClient::post(const std::string& target, const std::string& body) {
  return send("POST", target, body);
}

JsonReply JsonClient::send(std::string_view method, const std::string& target,
                           const std::string& body) {
  Result<transport::HttpResponse> response =
      client_.send(method, target, body, body.empty() ? "" : "application/json");
  JsonReply reply;
  if (!response.ok()) {
    ADD_FAILURE() << method << " " << target << ": " << response.status().to_string();
    return reply;
  }
  reply.status = response->status;
  reply.text = response->body;
  reply.body = nlohmann::json::parse(reply.text, nullptr, false);
  return reply;
}

}  // namespace fl::serving::testing
