// The serving layer's view of the registry: versions of a model and their
// weights, read from the coordinator's Store (serving/version_source.h).
//
// Not for: deciding what is published (registry/).
//
// Thread-safety: thread-safe (the Store is).
#pragma once

#include "coordinator/serving/version_source.h"
#include "coordinator/store/store.h"

namespace fl::coordinator {

class StoreVersionSource final : public serving::VersionSource {
 public:
  explicit StoreVersionSource(Store& store) : store_(store) {}
  Result<std::vector<serving::VersionInfo>> versions(std::string_view model) override;
  Result<model::Model> load(std::string_view model, int64_t version) override;

 private:
  Store& store_;
};

}  // namespace fl::coordinator
