// Small synthetic datasets and a scratch directory shared by the model tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "model/dataset.h"

namespace fl::model::testing {

// k Gaussian blobs in d dimensions, centres `separation` apart on average.
inline Dataset make_blobs(int64_t n, int d, int k, uint64_t seed, float separation = 4.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf centres(k, d);
  for (int c = 0; c < k; ++c) {
    for (int j = 0; j < d; ++j) centres(c, j) = separation * normal(rng);
  }
  Dataset data;
  data.num_classes = k;
  data.features.resize(n, d);
  data.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % k);
    data.labels[i] = c;
    for (int j = 0; j < d; ++j) data.features(i, j) = centres(c, j) + normal(rng);
  }
  return data;
}

// y = x . w + b + noise, features on deliberately different scales.
inline Dataset make_linear(int64_t n, const Eigen::VectorXf& w, float b, float noise,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Dataset data;
  const auto d = static_cast<int>(w.size());
  data.features.resize(n, d);
  data.targets.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) data.features(i, j) = normal(rng) * static_cast<float>(j + 1) + j;
    data.targets[i] = data.features.row(i).dot(w.transpose()) + b + noise * normal(rng);
  }
  return data;
}

// XOR of the signs of two coordinates: not linearly separable.
inline Dataset make_xor(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Dataset data;
  data.num_classes = 2;
  data.features.resize(n, 2);
  data.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const float a = uniform(rng);
    const float b = uniform(rng);
    data.features(i, 0) = a;
    data.features(i, 1) = b;
    data.labels[i] = (a > 0) != (b > 0) ? 1 : 0;
  }
  return data;
}

// A fresh directory under the system temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("fl_model_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace fl::model::testing
