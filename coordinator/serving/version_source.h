// Where pinned model versions come from: the versions a model has, with their
// registry stage, and the weights of one of them. The coordinator implements
// it over its store (registry/); tests hand in a map.
//
// Not for: the published version. The registry pushes that into ServedModels
// with publish() when it publishes or rolls back, so the hot path never asks
// a VersionSource anything.
//
// Thread-safety: implementations must be safe to call from several io threads
// at once; ServedModels calls them without holding its own locks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/model.h"

namespace fl::serving {

// A version's stage, as the registry spells it (DESIGN.md section 5).
inline constexpr std::string_view kStageCandidate = "candidate";
inline constexpr std::string_view kStagePublished = "published";
inline constexpr std::string_view kStageRetired = "retired";

struct VersionInfo {
  int64_t id = 0;
  std::string stage;  // kStageCandidate, kStagePublished or kStageRetired
};

class VersionSource {
 public:
  virtual ~VersionSource() = default;
  // Every version of `model`, any order. NotFound if the model is unknown.
  virtual Result<std::vector<VersionInfo>> versions(std::string_view model) = 0;
  // The weights of one version. NotFound if there is no such version.
  virtual Result<model::Model> load(std::string_view model, int64_t version) = 0;
};

}  // namespace fl::serving
