#include <gtest/gtest.h>

#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using nlohmann::json;
using testing::fashion_mlp;
using testing::JsonClient;
using testing::JsonReply;
using testing::pixel_rows;

json flat_data(const model::FeatureMatrix& rows) {
  json data = json::array();
  for (Eigen::Index i = 0; i < rows.rows(); ++i)
    for (Eigen::Index j = 0; j < rows.cols(); ++j) data.push_back(rows(i, j));
  return data;
}

// The rows as raw pixel bytes 0..255, JSON integers.
json byte_data(const model::FeatureMatrix& rows) {
  json data = json::array();
  for (Eigen::Index i = 0; i < rows.rows(); ++i)
    for (Eigen::Index j = 0; j < rows.cols(); ++j)
      data.push_back(static_cast<int64_t>(rows(i, j) * 256.0f));
  return data;
}

json infer_request(const json& data, int64_t rows, const std::string& datatype = "FP32") {
  return {{"inputs",
           json::array({{{"name", "inputs"},
                         {"shape", {rows, 784}},
                         {"datatype", datatype},
                         {"data", data}}})}};
}

class KServeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_ = std::make_shared<ServedModels>(std::vector<std::string>{"fashion"});
    ServingRouteOptions options;
    options.max_batch_rows = 8;
    served_ = testing::start_serving(models_, options);
    client_ = std::make_unique<JsonClient>(served_.port());
  }
  void publish() { ASSERT_TRUE(models_->publish("fashion", 5, model_).ok()); }

  void expect_matches_model(const JsonReply& reply, const model::FeatureMatrix& rows) {
    ASSERT_EQ(reply.status, 200) << reply.text;
    Result<Eigen::MatrixXf> expected = model::predict_proba(model_, rows);
    Result<Eigen::VectorXi> classes = model::predict(model_, rows);
    ASSERT_TRUE(expected.ok() && classes.ok());
    const json& outputs = reply.body.at("outputs");
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_EQ(outputs[0].at("name"), "probabilities");
    EXPECT_EQ(outputs[0].at("datatype"), "FP32");
    EXPECT_EQ(outputs[0].at("shape"), json::array({rows.rows(), 10}));
    EXPECT_EQ(outputs[1].at("name"), "classes");
    EXPECT_EQ(outputs[1].at("datatype"), "INT64");
    EXPECT_EQ(outputs[1].at("shape"), json::array({rows.rows()}));
    const json& p = outputs[0].at("data");
    ASSERT_EQ(p.size(), static_cast<size_t>(rows.rows() * 10));
    for (Eigen::Index i = 0; i < rows.rows(); ++i) {
      for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ(p[i * 10 + k].get<float>(), (*expected)(i, k));
      EXPECT_EQ(outputs[1].at("data")[i].get<int>(), (*classes)[i]);
    }
  }

  void expect_error(const json& request, int status, const std::string& message_part,
                    const std::string& target = "/v2/models/fashion/infer") {
    const JsonReply reply = client_->post(target, request.dump());
    EXPECT_EQ(reply.status, status) << reply.text;
    ASSERT_TRUE(reply.body.is_object() && reply.body.contains("error")) << reply.text;
    EXPECT_NE(reply.body["error"].get<std::string>().find(message_part), std::string::npos)
        << reply.text;
    const model::FeatureMatrix good = pixel_rows(1, 784, 50);
    EXPECT_EQ(client_->post("/v2/models/fashion/infer", infer_request(flat_data(good), 1).dump())
                  .status,
              200);
  }

  model::Model model_ = fashion_mlp(21);
  std::shared_ptr<ServedModels> models_;
  testing::ServingServer served_;
  std::unique_ptr<JsonClient> client_;
};

TEST_F(KServeApiTest, IsLiveAlwaysAndReadyOnlyOnceThePublishedVersionIsThere) {
  EXPECT_EQ(client_->get("/v2/health/live").body, json::parse(R"({"live": true})"));
  JsonReply ready = client_->get("/v2/health/ready");
  EXPECT_EQ(ready.status, 400);
  EXPECT_EQ(ready.body, json::parse(R"({"ready": false})"));
  EXPECT_EQ(client_->get("/v2/models/fashion/ready").status, 400);
  EXPECT_EQ(client_->post("/v2/models/fashion/infer",
                          infer_request(flat_data(pixel_rows(1, 784, 1)), 1).dump())
                .status,
            404);

  publish();
  ready = client_->get("/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, json::parse(R"({"ready": true})"));
  const JsonReply model_ready = client_->get("/v2/models/fashion/ready");
  EXPECT_EQ(model_ready.status, 200);
  EXPECT_EQ(model_ready.body, json::parse(R"({"name": "fashion", "ready": true})"));
  EXPECT_EQ(client_->get("/v2/models/digits/ready").status, 404);
}

TEST_F(KServeApiTest, MetadataNamesTheTensorsWithMinusOneForTheBatch) {
  publish();
  const JsonReply reply = client_->get("/v2/models/fashion");
  ASSERT_EQ(reply.status, 200) << reply.text;
  EXPECT_EQ(reply.body, json::parse(R"({"name": "fashion", "versions": ["5"],
      "platform": "fl_eigen",
      "inputs": [{"name": "inputs", "datatype": "FP32", "shape": [-1, 784]}],
      "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]},
                  {"name": "classes", "datatype": "INT64", "shape": [-1]}]})"));
  EXPECT_EQ(client_->get("/v2/models/fashion/versions/5").body, reply.body);
  EXPECT_EQ(client_->get("/v2/models/fashion/versions/6").status, 404);
}

TEST_F(KServeApiTest, Fp32InferenceEqualsPredictProbaAndEchoesTheId) {
  publish();
  const model::FeatureMatrix rows = pixel_rows(3, 784, 2);
  json request = infer_request(flat_data(rows), 3);
  request["id"] = "req-42";
  const JsonReply reply = client_->post("/v2/models/fashion/infer", request.dump());
  expect_matches_model(reply, rows);
  EXPECT_EQ(reply.body.at("model_name"), "fashion");
  EXPECT_EQ(reply.body.at("model_version"), "5");
  EXPECT_EQ(reply.body.at("id"), "req-42");
  EXPECT_EQ(client_->post("/v2/models/fashion/versions/5/infer", request.dump()).body, reply.body);
}

TEST_F(KServeApiTest, Fp64AndIntegerInputsAreConvertedToFloat32) {
  publish();
  const model::FeatureMatrix rows = pixel_rows(2, 784, 3);
  expect_matches_model(
      client_->post("/v2/models/fashion/infer", infer_request(flat_data(rows), 2, "FP64").dump()),
      rows);
  // Raw pixel bytes 0..255: the model sees exactly those values.
  const model::FeatureMatrix bytes = rows * 256.0f;
  for (const std::string type : {"UINT8", "INT16", "INT32", "INT64", "UINT64"}) {
    SCOPED_TRACE(type);
    expect_matches_model(client_->post("/v2/models/fashion/infer",
                                       infer_request(byte_data(rows), 2, type).dump()),
                         bytes);
  }
}

TEST_F(KServeApiTest, NestedDataAndAnOutputSubsetAreHonoured) {
  publish();
  const model::FeatureMatrix rows = pixel_rows(2, 784, 4);
  json request = infer_request(testing::rows_json(rows), 2);
  request["outputs"] = json::array({{{"name", "classes"}}});
  const JsonReply reply = client_->post("/v2/models/fashion/infer", request.dump());
  ASSERT_EQ(reply.status, 200) << reply.text;
  ASSERT_EQ(reply.body.at("outputs").size(), 1u);
  EXPECT_EQ(reply.body.at("outputs")[0].at("name"), "classes");
  EXPECT_FALSE(reply.body.contains("id"));
  Result<Eigen::VectorXi> classes = model::predict(model_, rows);
  EXPECT_EQ(reply.body.at("outputs")[0].at("data"), json::array({(*classes)[0], (*classes)[1]}));
}

TEST_F(KServeApiTest, BadTensorsAre400AndUnknownModelsAre404) {
  publish();
  const json one = flat_data(pixel_rows(1, 784, 5));
  for (const std::string type : {"BOOL", "BYTES", "FP16"})
    expect_error(infer_request(one, 1, type), 400, "not supported");
  expect_error(infer_request(one, 1, "COMPLEX"), 400, "unknown datatype");
  expect_error(infer_request(one, 2), 400, "holds 784 elements but shape [2,784] needs 1568");
  json short_row = one;
  short_row.erase(short_row.size() - 1);
  expect_error(infer_request(short_row, 1), 400, "holds 783 elements");
  json wrong_shape = infer_request(one, 1);
  wrong_shape["inputs"][0]["shape"] = {1, 783};
  expect_error(wrong_shape, 400, "does not fit");
  json text = infer_request(one, 1);
  text["inputs"][0]["data"][3] = "x";
  expect_error(text, 400, "data[3] is a string");
  json fraction = infer_request(json(one), 1, "INT32");
  expect_error(fraction, 400, "not an integer");
  json big = infer_request(byte_data(pixel_rows(1, 784, 5)), 1, "INT8");
  big["inputs"][0]["data"][0] = 300;
  expect_error(big, 400, "out of range for INT8");
  json negative = infer_request(byte_data(pixel_rows(1, 784, 5)), 1, "UINT8");
  negative["inputs"][0]["data"][0] = -1;
  expect_error(negative, 400, "out of range for UINT8");
  json unknown_output = infer_request(one, 1);
  unknown_output["outputs"] = json::array({{{"name", "logits"}}});
  expect_error(unknown_output, 400, "unknown output 'logits'");
  json wrong_name = infer_request(one, 1);
  wrong_name["inputs"][0]["name"] = "pixels";
  expect_error(wrong_name, 400, "named 'inputs'");
  expect_error(infer_request(flat_data(pixel_rows(9, 784, 5)), 9), 400, "exceeds the limit of 8");
  expect_error(json::parse(R"({"inputs": []})"), 400, "one tensor");
  const JsonReply malformed = client_->post("/v2/models/fashion/infer", "{\"inputs\": [");
  EXPECT_EQ(malformed.status, 400);
  expect_error(infer_request(one, 1), 404, "'digits'", "/v2/models/digits/infer");
  expect_error(infer_request(one, 1), 404, "version 4", "/v2/models/fashion/versions/4/infer");
}

}  // namespace
}  // namespace fl::serving
