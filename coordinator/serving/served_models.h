// The models this coordinator serves: per model name the published version,
// swapped atomically by publish(), and pinned versions (".../versions/{v}")
// loaded on demand from a VersionSource into a small LRU cache.
//
// A request takes a shared_ptr<const ServedVersion> and predicts with it; a
// publish() meanwhile only replaces the pointer, so in-flight requests finish
// on the version they started with and no request fails because of a swap.
// The registry calls publish() when it publishes or rolls back; that also
// drops the model's cached pinned versions, since stages have just changed.
//
// Pinned versions: the published one is answered from memory; any other is
// served if the source lists it as candidate or published (a retired version
// is NotFound), and is loaded on the calling thread (an io thread: a load is a
// store read and a parse, milliseconds for the models here). Two requests
// missing the cache at once may both load; the second insert wins, harmlessly.
//
// Readiness: a model is ready once it has a published version; the server is
// ready when every configured model is (vacuously, when none is configured).
//
// Not for: choosing what to publish (registry/), or metrics (the route
// observer, serving_routes.h).
//
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/serving/served_version.h"
#include "coordinator/serving/version_source.h"

namespace fl::serving {

struct ServedModelsOptions {
  // Loaded pinned versions kept, over all models. An MLP for Fashion-MNIST is
  // 0.3 MB, so this bounds the cache to a few MB for the models we train.
  size_t pinned_cache_size = 8;
};

class ServedModels {
 public:
  // `configured` are the model names readiness waits for. `source` may be
  // null: then only the published version of each model can be pinned.
  explicit ServedModels(std::vector<std::string> configured,
                        std::shared_ptr<VersionSource> source = nullptr,
                        ServedModelsOptions options = {});

  // Makes `version` the published version of `name` (adding the name if it
  // was not configured). InvalidArgument for an invalid model or version <= 0;
  // the previous version then stays published.
  Status publish(std::string_view name, int64_t version, model::Model model,
                 std::map<std::string, std::string> metadata = {});

  // The published version, or nullptr if none.
  std::shared_ptr<const ServedVersion> published(std::string_view name) const;

  // The published version (`version` nullopt) or a pinned one. NotFound for an
  // unknown model, a model with nothing published, or a version that does not
  // exist or is retired; other errors of the source as they come.
  Result<std::shared_ptr<const ServedVersion>> resolve(std::string_view name,
                                                       std::optional<int64_t> version);

  // Servable versions of a known model (candidate and published), ascending;
  // without a source, the published one. NotFound for an unknown model.
  Result<std::vector<int64_t>> servable_versions(std::string_view name);

  bool knows(std::string_view name) const;
  bool ready(std::string_view name) const;
  bool ready() const;
  std::vector<std::string> model_names() const;

 private:
  struct PinnedKey {
    std::string model;
    int64_t version;
    auto operator<=>(const PinnedKey&) const = default;
  };
  using Lru = std::list<std::pair<PinnedKey, std::shared_ptr<const ServedVersion>>>;

  std::shared_ptr<const ServedVersion> cached(const PinnedKey& key);
  void cache(const PinnedKey& key, std::shared_ptr<const ServedVersion> version);
  Result<std::shared_ptr<const ServedVersion>> load_pinned(std::string_view name, int64_t version);

  const std::shared_ptr<VersionSource> source_;
  const ServedModelsOptions options_;

  // Readers (every request) take it shared, for the time of a pointer copy.
  mutable std::shared_mutex published_mu_;
  std::map<std::string, std::shared_ptr<const ServedVersion>, std::less<>>
      published_;  // nullptr: configured, not yet published

  std::mutex pinned_mu_;
  Lru pinned_lru_;  // most recently used first
  std::map<PinnedKey, Lru::iterator> pinned_index_;
};

}  // namespace fl::serving
