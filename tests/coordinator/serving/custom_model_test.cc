// An app-defined model (kind custom) published like any other: the
// coordinator can version and hand out its weights but cannot interpret them,
// so every API that would predict with it or describe its signature answers
// 409 with the reason, and batch prediction refuses it before reading a row.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/serving/csv_prediction.h"
#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using testing::JsonClient;
using testing::JsonReply;

model::Model custom_model() {
  auto m = model::create_model(model::ModelSpec::custom({{"w", 40}, {"b", 1}}), 1);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return *m;
}

void expect_refused(const JsonReply& reply, const std::string& what) {
  EXPECT_EQ(reply.status, 409) << what << ": " << reply.text;
  ASSERT_TRUE(reply.body.is_object() && reply.body.contains("error")) << what << ": " << reply.text;
  const std::string error = reply.body["error"].get<std::string>();
  EXPECT_NE(error.find("serving is not available for custom(41: w 40, b 1)"), std::string::npos)
      << what << ": " << error;
  EXPECT_NE(error.find("kind custom is an app-defined model"), std::string::npos) << error;
}

TEST(CustomModelServing, PredictInferAndMetadataAre409WithTheReasonWhileStatusAnswers) {
  auto models = std::make_shared<ServedModels>(std::vector<std::string>{"app"});
  ASSERT_TRUE(models->publish("app", 2, custom_model()).ok());
  auto served = testing::start_serving(models);
  JsonClient client(served.port());

  expect_refused(client.post("/v1/models/app:predict", R"({"instances": [[1, 2, 3]]})"),
                 "TF Serving predict");
  expect_refused(client.post("/v1/models/app/versions/2:predict", R"({"instances": [[1]]})"),
                 "TF Serving predict, pinned");
  expect_refused(client.get("/v1/models/app/metadata"), "TF Serving metadata");
  expect_refused(client.post("/v2/models/app/infer",
                             R"({"inputs": [{"name": "inputs", "shape": [1, 1], "datatype": "FP32",
                                  "data": [1]}]})"),
                 "KServe infer");
  expect_refused(client.get("/v2/models/app"), "KServe metadata");
  // The version is published and known: status and readiness say so.
  EXPECT_EQ(client.get("/v1/models/app").status, 200);
  EXPECT_EQ(client.get("/v2/models/app/ready").status, 200);
}

TEST(CustomModelServing, BatchPredictionAndTheModelLibraryRefuseTheKindByName) {
  const model::Model m = custom_model();
  const auto dir =
      std::filesystem::temp_directory_path() / ("fl-custom-serving-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string input = (dir / "in.csv").string(), output = (dir / "out.csv").string();
  std::ofstream(input) << "x\n1\n";
  const Status batch = predict_csv(m, input, output);
  EXPECT_EQ(batch.code(), ErrorCode::kFailedPrecondition) << batch.to_string();
  EXPECT_NE(batch.message().find("batch prediction is not available for custom(41"),
            std::string::npos)
      << batch.message();
  EXPECT_FALSE(std::filesystem::exists(output));
  EXPECT_FALSE(std::filesystem::exists(output + ".partial"));
  std::filesystem::remove_all(dir);

  const model::FeatureMatrix rows = model::FeatureMatrix::Zero(1, 1);
  EXPECT_EQ(model::predict_value(m, rows).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(model::predict(m, rows).status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(model::predict_proba(m, rows).status().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fl::serving
