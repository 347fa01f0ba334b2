// Local training: models learn what they should, deterministically, with
// every optimiser option doing its job, and bad input refused.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "model/layout.h"
#include "model/loss.h"
#include "model/metrics.h"
#include "model/model.h"
#include "model/predict.h"
#include "model/standardizer.h"
#include "model/train.h"
#include "model/worker_pool.h"
#include "tests/model/test_data.h"

namespace fl::model {
namespace {

using testing::make_blobs;
using testing::make_linear;
using testing::make_xor;

Model make(ModelKind kind, int d, int k, std::vector<int> hidden = {},
           Activation act = Activation::kRelu, uint64_t seed = 1) {
  Result<Model> m = create_model({.kind = kind,
                                  .input_dim = d,
                                  .num_classes = k,
                                  .hidden_layers = std::move(hidden),
                                  .activation = act},
                                 seed);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return std::move(*m);
}

double accuracy(const Model& model, const Dataset& data) {
  Result<Metrics> m = evaluate(model, data);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? m->classification->accuracy : 0.0;
}

TrainConfig adam(int epochs, float lr = 0.01f) {
  TrainConfig c;
  c.optimizer = OptimizerKind::kAdam;
  c.epochs = epochs;
  c.lr = lr;
  c.batch_size = 32;
  c.seed = 5;
  return c;
}

TEST(SoftmaxRegression, SeparatesGaussianBlobs) {
  const Dataset train_set = make_blobs(2000, 10, 5, 1);
  const Dataset test = make_blobs(500, 10, 5, 1);  // same centres, as the seed fixes them
  Model model = make(ModelKind::kSoftmaxRegression, 10, 5);
  Result<TrainReport> r = train(model, train_set, adam(5));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_GT(accuracy(model, test), 0.95);
  EXPECT_LT(r->epochs.back().mean_loss, r->epochs.front().mean_loss);
}

TEST(LogisticRegression, SeparatesTwoBlobs) {
  const Dataset data = make_blobs(1000, 6, 2, 2);
  Model model = make(ModelKind::kLogisticRegression, 6, 2);
  ASSERT_TRUE(train(model, data, adam(5)).ok());
  EXPECT_GT(accuracy(model, data), 0.95);
  Result<Eigen::MatrixXf> p = predict_proba(model, data.features);
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR((p->rowwise().sum().array() - 1.0f).abs().maxCoeff(), 0.0f, 1e-5f);
}

TEST(LinearSvm, SeparatesBinaryAndMulticlassBlobs) {
  for (int k : {2, 4}) {
    const Dataset data = make_blobs(1200, 6, k, 3);
    Model model = make(ModelKind::kLinearSvm, 6, k);
    ASSERT_TRUE(train(model, data, adam(5)).ok());
    EXPECT_GT(accuracy(model, data), 0.95) << k << " classes";
    EXPECT_EQ(predict_proba(model, data.features).status().code(), ErrorCode::kFailedPrecondition);
  }
}

TEST(LinearRegression, RecoversCoefficientsOnStandardisedFeatures) {
  const Eigen::VectorXf w = (Eigen::VectorXf(3) << 2.0f, -1.0f, 0.5f).finished();
  const Dataset data = make_linear(3000, w, 3.0f, 0.1f, 4);
  Model model = make(ModelKind::kLinearRegression, 3, 0);
  model.standardizer = fit_standardizer(data.features);
  TrainConfig config = adam(20, 0.05f);
  ASSERT_TRUE(train(model, data, config).ok());
  Result<Metrics> m = evaluate(model, data);
  ASSERT_TRUE(m.ok());
  EXPECT_GT(m->regression->r2, 0.99);
  EXPECT_LT(m->regression->mse, 0.02);
  // Raw inputs go in; the stored standardisation is applied inside.
  FeatureMatrix x = FeatureMatrix::Zero(1, 3);
  Result<Eigen::VectorXf> y = predict_value(model, x);
  ASSERT_TRUE(y.ok());
  EXPECT_NEAR((*y)[0], 3.0f, 0.1f);
}

TEST(Mlp, LearnsXorWhereALinearModelCannot) {
  const Dataset data = make_xor(2000, 6);
  Model mlp = make(ModelKind::kMlp, 2, 2, {16}, Activation::kTanh);
  Model linear = make(ModelKind::kSoftmaxRegression, 2, 2);
  ASSERT_TRUE(train(mlp, data, adam(30)).ok());
  ASSERT_TRUE(train(linear, data, adam(30)).ok());
  EXPECT_GT(accuracy(mlp, data), 0.95);
  EXPECT_LT(accuracy(linear, data), 0.75);
}

TEST(Mlp, ReluRegressionFitsASmoothFunction) {
  Dataset data;
  data.features.resize(1000, 1);
  data.targets.resize(1000);
  for (int i = 0; i < 1000; ++i) {
    const float x = -3.0f + 6.0f * static_cast<float>(i) / 999.0f;
    data.features(i, 0) = x;
    data.targets[i] = std::sin(x);
  }
  Model model = make(ModelKind::kMlp, 1, 0, {32, 32}, Activation::kRelu);
  ASSERT_TRUE(train(model, data, adam(60, 0.01f)).ok());
  Result<Metrics> m = evaluate(model, data);
  ASSERT_TRUE(m.ok());
  EXPECT_GT(m->regression->r2, 0.97);
}

TEST(Train, IsBitIdenticalForTheSameSeedAndDifferentForAnother) {
  const Dataset data = make_blobs(600, 8, 3, 7);
  Model a = make(ModelKind::kMlp, 8, 3, {12});
  Model b = a;
  Model c = a;
  TrainConfig config = adam(3);
  config.num_threads = 2;
  ASSERT_TRUE(train(a, data, config).ok());
  ASSERT_TRUE(train(b, data, config).ok());
  EXPECT_TRUE(a.params == b.params);
  config.seed += 1;
  ASSERT_TRUE(train(c, data, config).ok());
  EXPECT_FALSE(a.params == c.params);
}

TEST(Train, TwoThreadsComputeTheSameStepsAsOne) {
  const Dataset data = make_blobs(640, 8, 3, 8);
  Model one = make(ModelKind::kMlp, 8, 3, {12});
  Model two = one;
  TrainConfig config = adam(2);
  config.batch_size = 64;
  config.num_threads = 1;
  ASSERT_TRUE(train(one, data, config).ok());
  config.num_threads = 2;
  ASSERT_TRUE(train(two, data, config).ok());
  // Only the summation order of the two half-batch gradients differs.
  EXPECT_LT((one.params - two.params).cwiseAbs().maxCoeff(), 1e-4f);
}

TEST(Train, SgdWithMomentumAndNesterovLowersTheLoss) {
  const Dataset data = make_blobs(1000, 6, 3, 9);
  for (bool nesterov : {false, true}) {
    Model model = make(ModelKind::kSoftmaxRegression, 6, 3);
    const float before = *mean_loss(model, data);
    TrainConfig config;
    config.optimizer = OptimizerKind::kSgd;
    config.lr = 0.05f;
    config.momentum = 0.9f;
    config.nesterov = nesterov;
    config.epochs = 3;
    ASSERT_TRUE(train(model, data, config).ok());
    EXPECT_LT(*mean_loss(model, data), 0.2f * before) << "nesterov " << nesterov;
  }
}

TEST(Train, WeightDecayShrinksWeightsButNotBiases) {
  const Dataset data = make_blobs(500, 6, 3, 10);
  for (OptimizerKind opt : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    Model plain = make(ModelKind::kSoftmaxRegression, 6, 3);
    Model decayed = plain;
    TrainConfig config = adam(5);
    config.optimizer = opt;
    ASSERT_TRUE(train(plain, data, config).ok());
    config.weight_decay = 1.0f;
    ASSERT_TRUE(train(decayed, data, config).ok());
    const Eigen::VectorXf mask = weight_mask(plain.spec);
    EXPECT_LT(decayed.params.cwiseProduct(mask).norm(),
              0.8f * plain.params.cwiseProduct(mask).norm())
        << optimizer_name(opt);
  }
  // The mask itself: the last 3 entries of a 6 -> 3 layer are its biases.
  const Eigen::VectorXf mask = weight_mask(make(ModelKind::kSoftmaxRegression, 6, 3).spec);
  EXPECT_EQ(mask.head(18).sum(), 18.0f);
  EXPECT_EQ(mask.tail(3).sum(), 0.0f);
}

TEST(Train, FedProxKeepsTheUpdateNearTheGlobalWeights) {
  const Dataset data = make_blobs(800, 6, 3, 11);
  const Model global = make(ModelKind::kMlp, 6, 3, {8});
  Model free = global;
  Model proximal = global;
  TrainConfig config = adam(5);
  ASSERT_TRUE(train(free, data, config).ok());
  config.fedprox_mu = 1.0f;
  ASSERT_TRUE(train(proximal, data, config, global.params.data()).ok());
  const float free_drift = (free.params - global.params).norm();
  const float prox_drift = (proximal.params - global.params).norm();
  EXPECT_LT(prox_drift, 0.5f * free_drift);
  // mu without global weights, or global weights with mu 0, is plain training.
  Model no_global = global;
  ASSERT_TRUE(train(no_global, data, config).ok());
  EXPECT_TRUE(no_global.params == free.params);
}

TEST(Train, DivergenceIsAnErrorAndRestoresTheStartingWeights) {
  const Eigen::VectorXf w = Eigen::VectorXf::Constant(4, 100.0f);
  const Dataset data = make_linear(500, w, 0.0f, 0.0f, 12);
  Model model = make(ModelKind::kLinearRegression, 4, 0);
  const Eigen::VectorXf start = model.params;
  TrainConfig config;
  config.optimizer = OptimizerKind::kSgd;
  config.lr = 10.0f;
  config.epochs = 5;
  Result<TrainReport> r = train(model, data, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("diverged"), std::string::npos) << r.status().to_string();
  EXPECT_TRUE(model.params == start);
}

TEST(Train, RefusesDataTheModelCannotTake) {
  Model model = make(ModelKind::kSoftmaxRegression, 4, 3);
  Dataset wide = make_blobs(10, 5, 3, 13);
  EXPECT_EQ(train(model, wide, adam(1)).status().code(), ErrorCode::kInvalidArgument);
  Dataset bad_label = make_blobs(10, 4, 3, 13);
  bad_label.labels[4] = 3;
  Result<TrainReport> r = train(model, bad_label, adam(1));
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("label 3 of example 4"), std::string::npos)
      << r.status().to_string();
  Dataset empty;
  empty.num_classes = 3;
  empty.features.resize(0, 4);
  EXPECT_EQ(train(model, empty, adam(1)).status().code(), ErrorCode::kInvalidArgument);
  TrainConfig zero_batch = adam(1);
  zero_batch.batch_size = 0;
  EXPECT_EQ(train(model, make_blobs(10, 4, 3, 13), zero_batch).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(LearningRate, SchedulesStartAtLrAndDecayAsConfigured) {
  TrainConfig c;
  c.lr = 0.1f;
  EXPECT_FLOAT_EQ(learning_rate_at(c, 7, 70, 100), 0.1f);
  c.schedule = {.kind = LrScheduleKind::kStep, .step_epochs = 2, .gamma = 0.5f};
  EXPECT_FLOAT_EQ(learning_rate_at(c, 1, 0, 100), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 2, 0, 100), 0.05f);
  EXPECT_FLOAT_EQ(learning_rate_at(c, 5, 0, 100), 0.025f);
  c.schedule = {.kind = LrScheduleKind::kCosine, .min_fraction = 0.1f};
  EXPECT_FLOAT_EQ(learning_rate_at(c, 0, 0, 101), 0.1f);
  EXPECT_NEAR(learning_rate_at(c, 0, 50, 101), 0.055f, 1e-6f);
  EXPECT_NEAR(learning_rate_at(c, 0, 100, 101), 0.01f, 1e-6f);
}

TEST(CreateModel, IsDeterministicAndRejectsImpossibleSpecs) {
  const Model a = make(ModelKind::kMlp, 20, 4, {16, 8}, Activation::kRelu, 3);
  const Model b = make(ModelKind::kMlp, 20, 4, {16, 8}, Activation::kRelu, 3);
  EXPECT_TRUE(a.params == b.params);
  EXPECT_EQ(a.params.size(), (20 + 1) * 16 + (16 + 1) * 8 + (8 + 1) * 4);
  ModelSpec logistic_with_three = ModelSpec::logistic_regression(3);
  logistic_with_three.num_classes = 3;
  EXPECT_FALSE(create_model(logistic_with_three, 1).ok());
  EXPECT_FALSE(create_model(ModelSpec::mlp(3, 2, {}), 1).ok());
  EXPECT_FALSE(create_model(ModelSpec::mlp(3, 1, {4}), 1).ok());
  EXPECT_FALSE(create_model(ModelSpec::softmax_regression(0, 2), 1).ok());
  ModelSpec softmax_with_hidden = ModelSpec::softmax_regression(3, 3);
  softmax_with_hidden.hidden_layers = {4};
  EXPECT_FALSE(create_model(softmax_with_hidden, 1).ok());
}

TEST(LayerViews, AliasTheOneParameterVector) {
  Model model = make(ModelKind::kMlp, 3, 2, {4});
  const std::vector<DenseShape> shapes = dense_shapes(model.spec);
  ASSERT_EQ(shapes.size(), 2u);
  DenseView hidden = dense_view(model.params.data(), shapes[0]);
  hidden.weights(2, 1) = 42.0f;  // column-major: offset 1 * 3 + 2
  hidden.bias[3] = -7.0f;
  EXPECT_EQ(model.params[5], 42.0f);
  EXPECT_EQ(model.params[shapes[0].bias_offset + 3], -7.0f);
  EXPECT_EQ(shapes[1].bias_offset + 2, model.params.size());
}

TEST(Predict, RefusesInputOfTheWrongWidth) {
  Model model = make(ModelKind::kSoftmaxRegression, 4, 3);
  FeatureMatrix x = FeatureMatrix::Zero(2, 5);
  Result<Eigen::VectorXi> p = predict(model, x);
  EXPECT_EQ(p.status().code(), ErrorCode::kInvalidArgument);
  // Column-major input is accepted too (converted on the way in).
  Eigen::MatrixXf col_major = Eigen::MatrixXf::Zero(2, 4);
  EXPECT_TRUE(predict(model, col_major).ok());
}

TEST(WorkerPool, RunsEveryShardExactlyOncePerCall) {
  WorkerPool pool(2);
  std::vector<std::atomic<int>> hits(2);
  for (int round = 0; round < 1000; ++round) {
    pool.run(2, [&](int shard) { hits[shard].fetch_add(1); });
  }
  EXPECT_EQ(hits[0].load(), 1000);
  EXPECT_EQ(hits[1].load(), 1000);
  pool.run(1, [&](int shard) { hits[shard].fetch_add(1); });
  EXPECT_EQ(hits[0].load(), 1001);
}

}  // namespace
}  // namespace fl::model
