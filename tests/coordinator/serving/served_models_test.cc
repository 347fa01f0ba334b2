#include "coordinator/serving/served_models.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using testing::fashion_mlp;

// A registry in memory: versions with stages, counting loads.
class MapVersionSource : public VersionSource {
 public:
  void add(std::string model, int64_t id, std::string stage, uint64_t seed) {
    entries_[{model, id}] = {std::move(stage), seed};
  }
  Result<std::vector<VersionInfo>> versions(std::string_view model) override {
    std::vector<VersionInfo> out;
    for (const auto& [key, entry] : entries_) {
      if (key.first == model) out.push_back({key.second, entry.stage});
    }
    if (out.empty()) return NotFound("no model " + std::string(model));
    return out;
  }
  Result<model::Model> load(std::string_view model, int64_t version) override {
    ++loads;
    auto it = entries_.find({std::string(model), version});
    if (it == entries_.end()) return NotFound("no such version");
    return fashion_mlp(it->second.seed);
  }
  std::atomic<int> loads{0};

 private:
  struct Entry {
    std::string stage;
    uint64_t seed;
  };
  std::map<std::pair<std::string, int64_t>, Entry> entries_;
};

TEST(ServedModels, IsReadyOnlyOnceEveryConfiguredModelHasAPublishedVersion) {
  ServedModels models({"mnist", "fashion"});
  EXPECT_FALSE(models.ready());
  EXPECT_FALSE(models.ready("mnist"));
  ASSERT_TRUE(models.publish("mnist", 1, fashion_mlp(1)).ok());
  EXPECT_TRUE(models.ready("mnist"));
  EXPECT_FALSE(models.ready());
  ASSERT_TRUE(models.publish("fashion", 4, fashion_mlp(2)).ok());
  EXPECT_TRUE(models.ready());
}

TEST(ServedModels, SwapLeavesRequestsInFlightOnTheVersionTheyStartedWith) {
  ServedModels models({"fashion"});
  ASSERT_TRUE(models.publish("fashion", 1, fashion_mlp(1)).ok());
  std::shared_ptr<const ServedVersion> in_flight = models.published("fashion");
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(2)).ok());

  EXPECT_EQ(in_flight->version, 1);
  EXPECT_EQ(in_flight->model.params, fashion_mlp(1).params);
  EXPECT_EQ(models.published("fashion")->version, 2);
}

TEST(ServedModels, RefusesAnInvalidModelAndKeepsServingThePreviousOne) {
  ServedModels models({"fashion"});
  ASSERT_TRUE(models.publish("fashion", 1, fashion_mlp(1)).ok());
  model::Model broken = fashion_mlp(2);
  broken.params.resize(10);

  const Status status = models.publish("fashion", 2, broken);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(models.published("fashion")->version, 1);
  EXPECT_EQ(models.publish("fashion", 0, fashion_mlp(3)).code(), ErrorCode::kInvalidArgument);
}

TEST(ServedModels, UnknownModelOrUnpublishedModelIsNotFound) {
  ServedModels models({"fashion"});
  EXPECT_EQ(models.resolve("nope", std::nullopt).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(models.resolve("fashion", std::nullopt).status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(models.knows("nope"));
  EXPECT_TRUE(models.knows("fashion"));
}

TEST(ServedModels, PinnedVersionIsLoadedOnceFromTheSourceThenCached) {
  auto source = std::make_shared<MapVersionSource>();
  source->add("fashion", 1, "candidate", 11);
  source->add("fashion", 2, "published", 12);
  ServedModels models({"fashion"}, source);
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(12)).ok());

  Result<std::shared_ptr<const ServedVersion>> first = models.resolve("fashion", 1);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ((*first)->version, 1);
  EXPECT_EQ((*first)->model.params, fashion_mlp(11).params);
  ASSERT_TRUE(models.resolve("fashion", 1).ok());
  EXPECT_EQ(source->loads, 1);
  // The published version is answered from memory.
  ASSERT_TRUE(models.resolve("fashion", 2).ok());
  EXPECT_EQ(source->loads, 1);
}

TEST(ServedModels, RetiredMissingOrSourcelessPinsAreNotFound) {
  auto source = std::make_shared<MapVersionSource>();
  source->add("fashion", 1, "retired", 11);
  source->add("fashion", 2, "published", 12);
  ServedModels models({"fashion"}, source);
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(12)).ok());
  EXPECT_EQ(models.resolve("fashion", 1).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(models.resolve("fashion", 7).status().code(), ErrorCode::kNotFound);

  ServedModels sourceless({"fashion"});
  ASSERT_TRUE(sourceless.publish("fashion", 2, fashion_mlp(12)).ok());
  EXPECT_TRUE(sourceless.resolve("fashion", 2).ok());
  EXPECT_EQ(sourceless.resolve("fashion", 1).status().code(), ErrorCode::kNotFound);
}

TEST(ServedModels, PublishingForgetsCachedPinsSoStageChangesTakeEffect) {
  auto source = std::make_shared<MapVersionSource>();
  source->add("fashion", 1, "candidate", 11);
  source->add("fashion", 2, "published", 12);
  ServedModels models({"fashion"}, source);
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(12)).ok());
  ASSERT_TRUE(models.resolve("fashion", 1).ok());

  source->add("fashion", 1, "retired", 11);
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(12)).ok());
  EXPECT_EQ(models.resolve("fashion", 1).status().code(), ErrorCode::kNotFound);
}

TEST(ServedModels, PinnedCacheKeepsOnlyTheMostRecentlyUsedVersions) {
  auto source = std::make_shared<MapVersionSource>();
  for (int v = 1; v <= 3; ++v) source->add("fashion", v, "candidate", 10 + v);
  ServedModelsOptions options;
  options.pinned_cache_size = 2;
  ServedModels models({"fashion"}, source, options);
  ASSERT_TRUE(models.resolve("fashion", 1).ok());
  ASSERT_TRUE(models.resolve("fashion", 2).ok());
  ASSERT_TRUE(models.resolve("fashion", 1).ok());  // 1 is now the most recent
  ASSERT_TRUE(models.resolve("fashion", 3).ok());  // evicts 2
  EXPECT_EQ(source->loads, 3);
  ASSERT_TRUE(models.resolve("fashion", 1).ok());
  EXPECT_EQ(source->loads, 3);
  ASSERT_TRUE(models.resolve("fashion", 2).ok());
  EXPECT_EQ(source->loads, 4);
}

TEST(ServedModels, ListsServableVersionsWithoutRetiredOnes) {
  auto source = std::make_shared<MapVersionSource>();
  source->add("fashion", 1, "retired", 11);
  source->add("fashion", 3, "candidate", 13);
  source->add("fashion", 2, "published", 12);
  ServedModels models({"fashion"}, source);
  ASSERT_TRUE(models.publish("fashion", 2, fashion_mlp(12)).ok());
  Result<std::vector<int64_t>> versions = models.servable_versions("fashion");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<int64_t>{2, 3}));
}

}  // namespace
}  // namespace fl::serving
