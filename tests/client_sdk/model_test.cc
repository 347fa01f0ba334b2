// fl::Model, the device's predictor without Eigen: the same predictions as the
// coordinator's Eigen path (model/predict.h) for every built-in kind, and
// clear errors for bad bytes and bad rows.
#include "fl/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/predict.h"
#include "model/serialization.h"

namespace fl {
namespace {

struct Case {
  std::string name;
  model::ModelSpec spec;
};

std::vector<Case> built_in_kinds() {
  using model::ModelSpec;
  return {
      {"linear", ModelSpec::linear_regression(7)},
      {"logistic", ModelSpec::logistic_regression(7)},
      {"softmax", ModelSpec::softmax_regression(7, 4)},
      {"svm_binary", ModelSpec::linear_svm(7, 2)},
      {"svm_multiclass", ModelSpec::linear_svm(7, 3)},
      {"mlp_relu_classifier", ModelSpec::mlp(7, 5, {16, 8}, model::Activation::kRelu)},
      {"mlp_tanh_classifier", ModelSpec::mlp(7, 3, {12}, model::Activation::kTanh)},
      {"mlp_regressor", ModelSpec::mlp(7, 0, {10}, model::Activation::kRelu)},
  };
}

// Random weights (not the zero start of linear models) and a random
// standardisation, so every term of the forward pass matters.
model::Model random_model(const model::ModelSpec& spec, uint64_t seed) {
  auto m = model::create_model(spec, seed);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> weight(0.0f, 0.5f);
  for (Eigen::Index i = 0; i < m->params.size(); ++i) m->params[i] = weight(rng);
  std::uniform_real_distribution<float> mean(-2.0f, 2.0f), scale(0.2f, 3.0f);
  m->standardizer.mean.resize(spec.input_dim);
  m->standardizer.scale.resize(spec.input_dim);
  for (int j = 0; j < spec.input_dim; ++j) {
    m->standardizer.mean[j] = mean(rng);
    m->standardizer.scale[j] = scale(rng);
  }
  m->metadata["round"] = "7";
  return std::move(*m);
}

model::FeatureMatrix random_rows(int rows, int cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> x(0.0f, 2.0f);
  model::FeatureMatrix out(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) out(i, j) = x(rng);
  return out;
}

TEST(Model, PredictsWhatTheCoordinatorsEigenPathPredictsForEveryBuiltInKind) {
  constexpr int kRows = 50;
  for (const Case& c : built_in_kinds()) {
    SCOPED_TRACE(c.name);
    const model::Model server = random_model(c.spec, 11);
    auto bytes = model::save_model(server);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    auto device = Model::load(*bytes, 42);
    ASSERT_TRUE(device.ok()) << device.status().to_string();
    EXPECT_EQ(device->version(), 42);
    EXPECT_EQ(device->input_dim(), 7);
    EXPECT_EQ(device->kind(), model::model_kind_name(c.spec.kind));
    EXPECT_EQ(device->is_classifier(), model::is_classifier(c.spec));
    EXPECT_EQ(device->metadata().at("round"), "7");

    const model::FeatureMatrix x = random_rows(kRows, 7, 5);
    // What the server gives: probabilities where defined, else the value
    // of a regressor or an SVM's margins.
    Eigen::MatrixXf expected;
    if (model::has_probabilities(c.spec)) {
      expected = *model::predict_proba(server, x);
    } else {
      expected = *model::decision_function(server, x);
    }
    ASSERT_EQ(device->num_outputs(), expected.cols());
    std::optional<Eigen::VectorXi> classes;
    if (model::is_classifier(c.spec)) classes = *model::predict(server, x);

    int disagreements = 0;
    for (int i = 0; i < kRows; ++i) {
      const std::vector<float> row(x.row(i).data(), x.row(i).data() + 7);
      auto p = device->predict(row);
      ASSERT_TRUE(p.ok()) << p.status().to_string();
      ASSERT_EQ(p->size(), static_cast<size_t>(expected.cols()));
      for (Eigen::Index k = 0; k < expected.cols(); ++k) {
        const float e = expected(i, k);
        EXPECT_NEAR((*p)[k], e, 1e-5f * std::max(1.0f, std::abs(e))) << "row " << i << " col " << k;
      }
      auto cls = device->predict_class(row);
      if (classes) {
        ASSERT_TRUE(cls.ok()) << cls.status().to_string();
        disagreements += *cls != (*classes)[i];
      } else {
        EXPECT_EQ(cls.status().code(), ErrorCode::kFailedPrecondition);
        EXPECT_NE(cls.status().message().find("regressor"), std::string::npos);
      }
    }
    EXPECT_EQ(disagreements, 0);
  }
}

TEST(Model, ProbabilitiesSumToOne) {
  const model::Model server = random_model(model::ModelSpec::softmax_regression(3, 6), 3);
  auto device = Model::load(*model::save_model(server));
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->version(), 0);                                     // not given
  auto p = device->predict(std::vector<float>{100.0f, -50.0f, 3.0f});  // large logits
  ASSERT_TRUE(p.ok());
  double sum = 0;
  for (float v : *p) {
    EXPECT_TRUE(std::isfinite(v));
    sum += v;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(Model, ARowOfTheWrongLengthIsRefusedNamingBothLengths) {
  auto device = Model::load(*model::save_model(random_model(model::ModelSpec::mlp(7, 3, {4}), 1)));
  ASSERT_TRUE(device.ok());
  auto p = device->predict(std::vector<float>(6, 1.0f));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("input has 6 features"), std::string::npos)
      << p.status().message();
  EXPECT_NE(p.status().message().find("takes 7"), std::string::npos);
  EXPECT_EQ(device->predict_class({}).status().code(), ErrorCode::kInvalidArgument);
}

TEST(Model, AnAppDefinedModelGivesItsWeightsAndLayoutButPredictIsRefusedNamingItsKind) {
  auto custom = model::create_model(model::ModelSpec::custom({{"w", 3}, {"b", 1}}), 1);
  ASSERT_TRUE(custom.ok()) << custom.status().to_string();
  custom->params << 0.5f, -1.0f, 2.0f, 0.25f;
  auto device = Model::load(*model::save_model(*custom), 5);
  ASSERT_TRUE(device.ok()) << device.status().to_string();
  EXPECT_EQ(device->kind(), "custom");
  EXPECT_EQ(device->version(), 5);
  EXPECT_EQ(std::vector<float>(device->parameters().begin(), device->parameters().end()),
            (std::vector<float>{0.5f, -1.0f, 2.0f, 0.25f}));
  ASSERT_EQ(device->layout().size(), 2u);
  EXPECT_EQ(device->layout()[0].name, "w");
  EXPECT_EQ(device->layout()[0].size, 3u);
  EXPECT_EQ(device->layout()[1].name, "b");
  EXPECT_EQ(device->layout()[1].size, 1u);
  EXPECT_FALSE(device->is_classifier());
  EXPECT_EQ(device->num_outputs(), 0);
  const Model copy = *device;  // copies share the weights
  EXPECT_EQ(copy.parameters().data(), device->parameters().data());
  const std::vector<float> row = {1, 2, 3};
  for (const Status& s : {device->predict(row).status(), device->predict_class(row).status()}) {
    EXPECT_EQ(s.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("custom(4: w 3, b 1): kind custom is an app-defined"),
              std::string::npos)
        << s.message();
  }
}

TEST(Model, ABuiltInModelsParametersAreItsFlatVectorWithNoLayout) {
  auto server = random_model(model::ModelSpec::softmax_regression(4, 3), 3);
  auto device = Model::load(*model::save_model(server));
  ASSERT_TRUE(device.ok()) << device.status().to_string();
  ASSERT_EQ(device->parameters().size(), 15u);
  for (size_t i = 0; i < 15; ++i)
    EXPECT_EQ(device->parameters()[i], server.params[static_cast<Eigen::Index>(i)]) << i;
  EXPECT_TRUE(device->layout().empty());
}

TEST(Model, CorruptOrForeignBytesAreRefusedAsDataLoss) {
  auto bytes = *model::save_model(random_model(model::ModelSpec::softmax_regression(4, 3), 2));
  EXPECT_EQ(Model::load("").status().code(), ErrorCode::kDataLoss);
  EXPECT_EQ(Model::load("not a model at all").status().code(), ErrorCode::kDataLoss);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;  // inside the body: the CRC catches it
  auto loaded = Model::load(flipped, 9);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("model version 9"), std::string::npos)
      << loaded.status().message();
}

TEST(Model, CopiesShareTheWeightsAndAMovedFromModelAnswersWithAnError) {
  auto device =
      Model::load(*model::save_model(random_model(model::ModelSpec::linear_regression(2), 4)));
  ASSERT_TRUE(device.ok());
  const Model copy = *device;
  Model moved = std::move(*device);
  const std::vector<float> row{0.5f, -1.0f};
  EXPECT_EQ(*copy.predict(row), *moved.predict(row));
  EXPECT_EQ(device->predict(row).status().code(), ErrorCode::kFailedPrecondition);  // NOLINT
  EXPECT_EQ(device->input_dim(), 0);
}

}  // namespace
}  // namespace fl
