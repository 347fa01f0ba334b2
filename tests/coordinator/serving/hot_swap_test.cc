#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using nlohmann::json;
using testing::fashion_mlp;
using testing::pixel_rows;

// Whether every probability in `predictions` is within float rounding of `expected`.
bool answers_with(const json& predictions, const Eigen::MatrixXf& expected) {
  for (Eigen::Index i = 0; i < expected.rows(); ++i) {
    for (Eigen::Index k = 0; k < expected.cols(); ++k) {
      const float got = predictions[i].at("probabilities")[k].get<float>();
      if (std::abs(got - expected(i, k)) > 1e-6f * std::max(1.0f, std::abs(expected(i, k))))
        return false;
    }
  }
  return true;
}

TEST(HotSwap, PublishingWhileFourClientsPredictFailsNoRequestAndNeverMixesVersions) {
  const model::Model first = fashion_mlp(101);
  const model::Model second = fashion_mlp(202);
  auto models = std::make_shared<ServedModels>(std::vector<std::string>{"fashion"});
  ASSERT_TRUE(models->publish("fashion", 1, first).ok());
  testing::ServingServer served = testing::start_serving(models);

  const model::FeatureMatrix rows = pixel_rows(2, 784, 9);
  const std::string body = testing::instances_body(rows);
  const Eigen::MatrixXf from_first = *model::predict_proba(first, rows);
  const Eigen::MatrixXf from_second = *model::predict_proba(second, rows);
  ASSERT_FALSE(from_first.isApprox(from_second));

  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, mixed{0}, by_first{0}, by_second{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      testing::JsonClient client(served.port());
      while (!stop) {
        const testing::JsonReply reply = client.post("/v1/models/fashion:predict", body);
        if (reply.status != 200 || !reply.body.contains("predictions")) {
          ++failed;
          continue;
        }
        const json& predictions = reply.body["predictions"];
        if (answers_with(predictions, from_first)) {
          ++by_first;
        } else if (answers_with(predictions, from_second)) {
          ++by_second;
        } else {
          ++mixed;
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  int64_t version = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++version;
    ASSERT_TRUE(models->publish("fashion", version, version % 2 ? first : second).ok());
  }
  stop = true;
  for (std::thread& client : clients) client.join();

  EXPECT_EQ(failed, 0);
  EXPECT_EQ(mixed, 0);
  EXPECT_GT(by_first, 0);
  EXPECT_GT(by_second, 0);
  EXPECT_GT(version, 100);
}

}  // namespace
}  // namespace fl::serving
