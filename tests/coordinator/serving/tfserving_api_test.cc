#include <gtest/gtest.h>

#include <mutex>
#include <tuple>
#include <vector>

#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using nlohmann::json;
using testing::fashion_mlp;
using testing::instances_body;
using testing::JsonClient;
using testing::JsonReply;
using testing::pixel_rows;
using testing::rows_json;

constexpr int64_t kVersion = 3;

class TfServingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = std::make_shared<ServedModels>(std::vector<std::string>{"fashion"});
    ASSERT_TRUE(models->publish("fashion", kVersion, model_).ok());
    ServingRouteOptions options;
    options.max_batch_rows = 16;
    options.observer = [this](std::string_view api, std::string_view model, int status, double s) {
      std::lock_guard lock(mu_);
      observed_.emplace_back(std::string(api), std::string(model), status);
      EXPECT_GE(s, 0.0);
    };
    served_ = testing::start_serving(models, options);
    client_ = std::make_unique<JsonClient>(served_.port());
  }

  // Expected per-class probabilities and classes from the model directly.
  void expect_predictions(const json& probabilities, const json& classes,
                          const model::FeatureMatrix& rows, const model::Model& model) {
    Result<Eigen::MatrixXf> expected = model::predict_proba(model, rows);
    Result<Eigen::VectorXi> expected_classes = model::predict(model, rows);
    ASSERT_TRUE(expected.ok() && expected_classes.ok());
    ASSERT_EQ(probabilities.size(), static_cast<size_t>(rows.rows()));
    for (Eigen::Index i = 0; i < rows.rows(); ++i) {
      ASSERT_EQ(probabilities[i].size(), 10u);
      for (int k = 0; k < 10; ++k)
        EXPECT_FLOAT_EQ(probabilities[i][k].get<float>(), (*expected)(i, k)) << i << "," << k;
      EXPECT_EQ(classes[i].get<int>(), (*expected_classes)[i]);
    }
  }

  // A well-formed request still succeeds: the server kept serving.
  void expect_still_serving() {
    const JsonReply reply =
        client_->post("/v1/models/fashion:predict", instances_body(pixel_rows(1, 784, 99)));
    EXPECT_EQ(reply.status, 200) << reply.text;
  }

  void expect_error(const std::string& target, const std::string& body, int status,
                    const std::string& message_part) {
    const JsonReply reply = client_->post(target, body);
    EXPECT_EQ(reply.status, status) << reply.text;
    ASSERT_TRUE(reply.body.is_object()) << reply.text;
    ASSERT_TRUE(reply.body.contains("error")) << reply.text;
    EXPECT_EQ(reply.body.size(), 1u) << reply.text;
    EXPECT_NE(reply.body["error"].get<std::string>().find(message_part), std::string::npos)
        << reply.text;
    expect_still_serving();
  }

  model::Model model_ = fashion_mlp(7);
  testing::ServingServer served_;
  std::unique_ptr<JsonClient> client_;
  std::mutex mu_;
  std::vector<std::tuple<std::string, std::string, int>> observed_;
};

TEST_F(TfServingApiTest, RowFormatAnswersPredictionsEqualToPredictProba) {
  const model::FeatureMatrix rows = pixel_rows(5, 784, 1);
  const JsonReply reply = client_->post("/v1/models/fashion:predict", instances_body(rows));
  ASSERT_EQ(reply.status, 200) << reply.text;
  const json& predictions = reply.body.at("predictions");
  ASSERT_EQ(predictions.size(), 5u);
  json probabilities = json::array(), classes = json::array();
  for (const json& p : predictions) {
    EXPECT_EQ(p.size(), 2u);
    probabilities.push_back(p.at("probabilities"));
    classes.push_back(p.at("classes"));
  }
  expect_predictions(probabilities, classes, rows, model_);
}

TEST_F(TfServingApiTest, ColumnarFormatAnswersOutputsEqualToPredictProba) {
  const model::FeatureMatrix rows = pixel_rows(4, 784, 2);
  const JsonReply reply = client_->post("/v1/models/fashion:predict", testing::inputs_body(rows));
  ASSERT_EQ(reply.status, 200) << reply.text;
  const json& outputs = reply.body.at("outputs");
  expect_predictions(outputs.at("probabilities"), outputs.at("classes"), rows, model_);
}

TEST_F(TfServingApiTest, NamedInputsAndSignatureNameGiveTheSameAnswers) {
  const model::FeatureMatrix rows = pixel_rows(3, 784, 3);
  const JsonReply plain = client_->post("/v1/models/fashion:predict", instances_body(rows));
  json named_rows = json::array();
  for (const json& row : rows_json(rows)) named_rows.push_back({{"inputs", row}});
  const JsonReply named =
      client_->post("/v1/models/fashion:predict",
                    json{{"signature_name", "serving_default"}, {"instances", named_rows}}.dump());
  const JsonReply columnar_named = client_->post(
      "/v1/models/fashion:predict", json{{"inputs", {{"inputs", rows_json(rows)}}}}.dump());
  const JsonReply columnar =
      client_->post("/v1/models/fashion:predict", testing::inputs_body(rows));
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(named.status, 200) << named.text;
  ASSERT_EQ(columnar_named.status, 200) << columnar_named.text;
  EXPECT_EQ(named.body, plain.body);
  EXPECT_EQ(columnar_named.body, columnar.body);
  // Whitespace and layout the fast path declines still parse the same.
  std::string spaced = instances_body(rows);
  spaced.insert(1, "\n  \"extra_ignored\": null,\n");
  const JsonReply fallback = client_->post("/v1/models/fashion:predict", spaced);
  ASSERT_EQ(fallback.status, 200) << fallback.text;
  EXPECT_EQ(fallback.body, plain.body);
}

TEST_F(TfServingApiTest, ModelStatusIsTfServingsModelVersionStatus) {
  const JsonReply reply = client_->get("/v1/models/fashion");
  ASSERT_EQ(reply.status, 200) << reply.text;
  const json expected = json::parse(R"({"model_version_status": [{"version": "3",
      "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})");
  EXPECT_EQ(reply.body, expected);
  EXPECT_EQ(client_->get("/v1/models/fashion/versions/3").body, expected);
}

TEST_F(TfServingApiTest, MetadataDescribesTheServingDefaultSignature) {
  const JsonReply reply = client_->get("/v1/models/fashion/metadata");
  ASSERT_EQ(reply.status, 200) << reply.text;
  EXPECT_EQ(reply.body.at("model_spec"),
            json::parse(R"({"name": "fashion", "signature_name": "", "version": "3"})"));
  const json& signature =
      reply.body.at("metadata").at("signature_def").at("signature_def").at("serving_default");
  EXPECT_EQ(signature.at("method_name"), "tensorflow/serving/predict");
  EXPECT_EQ(signature.at("inputs").at("inputs"), json::parse(R"({"dtype": "DT_FLOAT",
      "tensor_shape": {"dim": [{"size": "-1", "name": ""}, {"size": "784", "name": ""}],
      "unknown_rank": false}, "name": "inputs:0"})"));
  EXPECT_EQ(signature.at("outputs").at("probabilities").at("tensor_shape").at("dim")[1].at("size"),
            "10");
  EXPECT_EQ(signature.at("outputs").at("classes").at("dtype"), "DT_INT64");
  EXPECT_EQ(signature.at("outputs").at("classes").at("tensor_shape").at("dim").size(), 1u);
}

TEST_F(TfServingApiTest, MalformedRequestsAre400WithAnErrorAndTheServerKeepsServing) {
  const std::string predict = "/v1/models/fashion:predict";
  expect_error(predict, "{\"instances\": [[1, 2,", 400, "malformed JSON");
  expect_error(predict, "[1, 2]", 400, "JSON object");
  expect_error(predict, instances_body(pixel_rows(1, 783, 1)), 400, "783 values");
  expect_error(predict, instances_body(pixel_rows(2, 785, 1)), 400, "785 values");
  json with_string = json::parse(instances_body(pixel_rows(1, 784, 1)));
  with_string["instances"][0][5] = "0.5";
  expect_error(predict, with_string.dump(), 400, "instances[0][5] is a string");
  expect_error(predict, R"({"instances": []})", 400, "empty");
  expect_error(predict, R"({"inputs": []})", 400, "empty");
  json too_large = json::parse(instances_body(pixel_rows(1, 784, 1)));
  too_large["instances"][0][0] = 1e60;
  expect_error(predict, too_large.dump(), 400, "outside the float32 range");
  // A number beyond double: nlohmann throws out_of_range, not parse_error
  // (found by fuzz_predict_request; it used to end in a 500).
  expect_error(predict, R"({"instances": [[1, -3e65111, 2]]})", 400, "malformed JSON");
  expect_error(
      "/v2/models/fashion/infer",
      R"({"inputs": [{"name": "inputs", "shape": [1, 1], "datatype": "FP64", "data": [1e99999]}]})",
      400, "malformed JSON");
  expect_error(predict, R"({"rows": [[1]]})", 400, "neither");
  expect_error(predict, R"({"instances": [[1]], "inputs": [[1]]})", 400, "both");
  expect_error(predict, R"({"instances": [{"pixels": [1]}]})", 400, "only input is 'inputs'");
  json other_signature = json::parse(instances_body(pixel_rows(1, 784, 1)));
  other_signature["signature_name"] = "classify";
  expect_error(predict, other_signature.dump(), 400, "signature_name 'classify' not found");
}

TEST_F(TfServingApiTest, BatchesOverTheLimitAre400) {
  EXPECT_EQ(
      client_->post("/v1/models/fashion:predict", instances_body(pixel_rows(16, 784, 1))).status,
      200);
  expect_error("/v1/models/fashion:predict", instances_body(pixel_rows(17, 784, 1)), 400,
               "batch of 17 rows exceeds the limit of 16");
}

TEST_F(TfServingApiTest, UnknownModelOrVersionIs404AndABadVersionIs400) {
  const std::string body = instances_body(pixel_rows(1, 784, 1));
  expect_error("/v1/models/digits:predict", body, 404, "'digits'");
  expect_error("/v1/models/fashion/versions/9:predict", body, 404, "version 9");
  expect_error("/v1/models/fashion/versions/latest:predict", body, 400, "positive integer");
  EXPECT_EQ(client_->get("/v1/models/digits").status, 404);
  EXPECT_EQ(client_->get("/v1/models/fashion/versions/2/metadata").status, 404);
}

TEST_F(TfServingApiTest, PinnedPublishedVersionPredictsLikeTheUnpinnedRoute) {
  const std::string body = instances_body(pixel_rows(2, 784, 4));
  const JsonReply pinned = client_->post("/v1/models/fashion/versions/3:predict", body);
  ASSERT_EQ(pinned.status, 200) << pinned.text;
  EXPECT_EQ(pinned.body, client_->post("/v1/models/fashion:predict", body).body);
}

// A name nobody serves is reported as kUnknownModelLabel, so that it can be
// a metric label without requests choosing the series.
TEST_F(TfServingApiTest, ObserverSeesEveryRequestWithApiModelAndStatus) {
  client_->post("/v1/models/fashion:predict", instances_body(pixel_rows(1, 784, 1)));
  client_->post("/v1/models/digits:predict", instances_body(pixel_rows(1, 784, 1)));
  std::lock_guard lock(mu_);
  ASSERT_EQ(observed_.size(), 2u);
  EXPECT_EQ(observed_[0], std::make_tuple(std::string("tfserving"), std::string("fashion"), 200));
  EXPECT_EQ(observed_[1],
            std::make_tuple(std::string("tfserving"), std::string(kUnknownModelLabel), 404));
}

TEST(TfServingApi, RegressorsAnswerPlainValues) {
  const model::Model regressor = testing::small_regressor(5);
  auto models = std::make_shared<ServedModels>(std::vector<std::string>{"price"});
  ASSERT_TRUE(models->publish("price", 1, regressor).ok());
  testing::ServingServer served = testing::start_serving(models);
  JsonClient client(served.port());
  const model::FeatureMatrix rows = pixel_rows(3, 8, 6);
  Result<Eigen::VectorXf> expected = model::predict_value(regressor, rows);
  ASSERT_TRUE(expected.ok());

  const JsonReply rows_reply = client.post("/v1/models/price:predict", instances_body(rows));
  const JsonReply columns_reply =
      client.post("/v1/models/price:predict", testing::inputs_body(rows));
  ASSERT_EQ(rows_reply.status, 200) << rows_reply.text;
  ASSERT_EQ(columns_reply.status, 200) << columns_reply.text;
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(rows_reply.body.at("predictions")[i].get<float>(), (*expected)[i]);
    EXPECT_FLOAT_EQ(columns_reply.body.at("outputs")[i].get<float>(), (*expected)[i]);
  }
}

}  // namespace
}  // namespace fl::serving
