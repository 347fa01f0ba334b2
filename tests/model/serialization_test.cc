// Model files: a faithful round trip for every kind, and a clear refusal of
// files from another format version or damaged ones.
#include "model/serialization.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "model/metrics.h"
#include "model/model.h"
#include "model/model_file.h"
#include "model/predict.h"
#include "model/standardizer.h"
#include "model/train.h"
#include "proto/model.pb.h"
#include "tests/model/test_data.h"

namespace fl::model {
namespace {

using testing::ScratchDir;

bool mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

Model trained_looking(ModelSpec spec) {
  Model m = *create_model(spec, 3);
  for (int64_t i = 0; i < m.params.size(); ++i) m.params[i] = 0.01f * static_cast<float>(i % 97);
  return m;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Wraps a body in an envelope with a correct checksum, as a writer would.
std::string envelope(const fl::proto::Model& body, uint32_t version) {
  fl::proto::ModelFile file;
  file.set_format_version(version);
  body.SerializeToString(file.mutable_model());
  file.set_model_crc32(static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(file.model().data()), file.model().size())));
  return file.SerializeAsString();
}

TEST(ModelFile, RoundTripsEveryKindWithStandardisationAndMetadata) {
  const std::vector<ModelSpec> specs = {
      ModelSpec::linear_regression(3),
      ModelSpec::logistic_regression(3),
      ModelSpec::softmax_regression(3, 4),
      ModelSpec::linear_svm(3, 3),
      ModelSpec::mlp(3, 4, {5, 2}, Activation::kTanh),
  };
  FeatureMatrix x(4, 3);
  x << 1, 2, 3, -1, 0, 4, 2, 2, 2, 0.5, -3, 1;
  for (const ModelSpec& spec : specs) {
    Model model = trained_looking(spec);
    model.standardizer = fit_standardizer(x);
    model.metadata["round"] = "17";
    Result<std::string> bytes = save_model(model);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    Result<Model> back = load_model(*bytes, "mem");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(back->spec, model.spec) << describe(spec);
    EXPECT_TRUE(back->params == model.params);
    EXPECT_TRUE(back->standardizer == model.standardizer);
    EXPECT_EQ(back->metadata, model.metadata);
    EXPECT_TRUE(decision_function(*back, x)->isApprox(*decision_function(model, x)));
  }
}

TEST(ModelFile, SavesAndLoadsFilesAtomically) {
  ScratchDir dir;
  const Model model = trained_looking(ModelSpec::softmax_regression(5, 3));
  ASSERT_TRUE(save_model_file(model, dir.file("m.pb")).ok());
  ASSERT_TRUE(save_model_file(model, dir.file("m.pb")).ok());  // replaces
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.pb.tmp")));
  Result<Model> back = load_model_file(dir.file("m.pb"));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_TRUE(back->params == model.params);
  EXPECT_EQ(load_model_file(dir.file("missing.pb")).status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(save_model_file(model, dir.file("no/such/dir/m.pb")).ok());
}

TEST(ModelFile, AnotherFormatVersionIsRefusedNamingTheFileAndVersion) {
  ScratchDir dir;
  const Model model = trained_looking(ModelSpec::softmax_regression(2, 2));
  fl::proto::Model body;
  ASSERT_TRUE(model_to_proto(model, &body).ok());
  write_file(dir.file("v2.pb"), envelope(body, 2));
  Result<Model> m = load_model_file(dir.file("v2.pb"));
  EXPECT_EQ(m.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(m.status(), dir.file("v2.pb")));
  EXPECT_TRUE(mentions(m.status(), "format version 2; this build reads version 1"))
      << m.status().to_string();
}

TEST(ModelFile, CorruptedBytesAreDataLossNamingTheFile) {
  ScratchDir dir;
  const Model model = trained_looking(ModelSpec::mlp(8, 3, {6}));
  const std::string good = *save_model(model);
  // Every single-byte flip inside the body must be caught, not loaded as
  // different weights.
  int caught = 0;
  for (size_t at = 0; at < good.size(); at += 7) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    write_file(dir.file("bad.pb"), bad);
    Result<Model> m = load_model_file(dir.file("bad.pb"));
    if (m.ok()) {
      // A flip in the envelope's own tag bytes can leave an equivalent file; it
      // must then load the identical model.
      EXPECT_TRUE(m->params == model.params) << "flip at " << at;
      continue;
    }
    EXPECT_TRUE(mentions(m.status(), dir.file("bad.pb"))) << m.status().to_string();
    ++caught;
  }
  EXPECT_GT(caught, 0);
  write_file(dir.file("short.pb"), good.substr(0, good.size() / 2));
  Result<Model> truncated = load_model_file(dir.file("short.pb"));
  EXPECT_EQ(truncated.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(truncated.status(), dir.file("short.pb")));
  write_file(dir.file("empty.pb"), "");
  EXPECT_EQ(load_model_file(dir.file("empty.pb")).status().code(), ErrorCode::kDataLoss);
  write_file(dir.file("text.pb"), "this is not a model\n");
  EXPECT_EQ(load_model_file(dir.file("text.pb")).status().code(), ErrorCode::kDataLoss);
}

TEST(ModelFile, BodyInconsistentWithItsSpecIsRefusedEvenWithAValidChecksum) {
  const Model model = trained_looking(ModelSpec::softmax_regression(4, 3));
  fl::proto::Model body;
  ASSERT_TRUE(model_to_proto(model, &body).ok());
  body.mutable_parameters()->RemoveLast();
  Result<Model> m = load_model(envelope(body, kModelFormatVersion), "short-params");
  EXPECT_EQ(m.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(m.status(), "short-params: softmax(4 -> 3) needs 15 parameters"))
      << m.status().to_string();

  ASSERT_TRUE(model_to_proto(model, &body).ok());
  body.mutable_spec()->set_kind(static_cast<fl::proto::ModelKind>(99));
  EXPECT_TRUE(mentions(load_model(envelope(body, 1), "k").status(), "unknown model kind 99"));

  ASSERT_TRUE(model_to_proto(model, &body).ok());
  body.mutable_standardization()->add_mean(0.0f);
  EXPECT_EQ(load_model(envelope(body, 1), "s").status().code(), ErrorCode::kDataLoss);

  ASSERT_TRUE(model_to_proto(model, &body).ok());
  body.set_parameters(0, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(mentions(load_model(envelope(body, 1), "n").status(), "NaN"));
}

// An app-defined model: the file keeps N and the layout, the weights come
// back bit for bit, and a file whose layout does not add up is refused.
TEST(ModelFile, RoundTripsACustomModelsLayoutAndRefusesOneThatDoesNotAddUp) {
  const ModelSpec spec = ModelSpec::custom({{"w", 40}, {"b", 1}, {"scale", 3}});
  EXPECT_EQ(num_params(spec), 44);
  EXPECT_EQ(describe(spec), "custom(44: w 40, b 1, scale 3)");
  Model model = trained_looking(spec);
  EXPECT_TRUE(create_model(spec, 9)->params.isZero(0));  // starts at zero
  Result<std::string> bytes = save_model(model);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  Result<Model> back = load_model(*bytes, "mem");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->spec, spec);
  EXPECT_TRUE(back->params == model.params);
  Result<ModelWeights> flat = read_model_weights(*bytes, "mem");
  ASSERT_TRUE(flat.ok()) << flat.status().to_string();
  EXPECT_EQ(flat->spec.layout, spec.layout);

  fl::proto::Model body;
  ASSERT_TRUE(open_model_file(*bytes, "mem", &body).ok());
  body.mutable_spec()->mutable_layout(1)->set_size(2);  // sums to 45, parameters 44
  const Status wrong_sum = load_model(envelope(body, 1), "f").status();
  EXPECT_EQ(wrong_sum.code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(wrong_sum,
                       "f: invalid model spec: custom model layout: the block sizes "
                       "add up to more than parameters (44)"))
      << wrong_sum.message();
  body.mutable_spec()->mutable_layout(1)->set_size(1);
  body.mutable_spec()->mutable_layout(1)->set_name("w");
  EXPECT_TRUE(mentions(load_model(envelope(body, 1), "f").status(), "'w' appears twice"));
}

TEST(ModelSpec, CustomModelsAreBoundedAndNothingInterpretsThem) {
  ModelSpec huge = ModelSpec::custom({{"a", kMaxModelParams}, {"b", 1}});
  EXPECT_TRUE(mentions(validate_spec(huge), "parameters: must be in [1, 2^31]"));
  ModelSpec no_layout = ModelSpec::custom({});
  no_layout.custom_parameters = 4;
  EXPECT_TRUE(mentions(validate_spec(no_layout), "layout: is required"));
  ModelSpec with_inputs = ModelSpec::custom({{"w", 4}});
  with_inputs.input_dim = 4;
  EXPECT_FALSE(validate_spec(with_inputs).ok());
  ModelSpec softmax_with_layout = ModelSpec::softmax_regression(3, 2);
  softmax_with_layout.layout = {{"w", 8}};
  EXPECT_TRUE(mentions(validate_spec(softmax_with_layout), "only kind custom does"));
  EXPECT_EQ(*parse_model_kind("custom"), ModelKind::kCustom);

  Model m = *create_model(ModelSpec::custom({{"w", 4}}), 1);
  Dataset data;
  data.features = FeatureMatrix::Zero(2, 1);
  data.targets = Eigen::VectorXf::Zero(2);
  TrainConfig config;
  const Status trained = train(m, data, config).status();
  EXPECT_EQ(trained.code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(trained,
                       "the built-in trainer is not available for custom(4: w 4): kind "
                       "custom is an app-defined model"))
      << trained.message();
  EXPECT_EQ(evaluate(m, data).status().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fl::model
