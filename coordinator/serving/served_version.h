// One model version as serving holds it: immutable once built, shared by every
// request that predicts with it. A hot swap replaces the published pointer;
// requests already holding the old one finish with it, so a swap never fails
// or mixes versions within a request.
//
// Not for: training or mutation (it is const everywhere it is shared).
//
// Thread-safety: immutable; share freely through shared_ptr<const>.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "coordinator/serving/signature.h"
#include "model/model.h"

namespace fl::serving {

struct ServedVersion {
  std::string model_name;
  int64_t version = 0;
  model::Model model;
  std::map<std::string, std::string> metadata;  // the model's own, then the publisher's
  Signature signature;                          // derived from model.spec
};

// Validates the model (validate_model) and derives its signature.
// InvalidArgument for a non-positive version or an invalid model.
Result<std::shared_ptr<const ServedVersion>> make_served_version(
    std::string model_name, int64_t version, model::Model model,
    std::map<std::string, std::string> metadata = {});

}  // namespace fl::serving
