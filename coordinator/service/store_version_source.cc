#include "coordinator/service/store_version_source.h"

#include "model/serialization.h"

namespace fl::coordinator {

Result<std::vector<serving::VersionInfo>> StoreVersionSource::versions(std::string_view model) {
  auto listed = store_.list_versions(model);
  if (!listed.ok()) return listed.status();
  if (listed->empty()) return NotFound("no model named '" + std::string(model) + "'");
  std::vector<serving::VersionInfo> out;
  for (const ModelVersion& v : *listed)
    out.push_back({v.id, std::string(version_stage_name(v.stage))});
  return out;
}

Result<model::Model> StoreVersionSource::load(std::string_view model, int64_t version) {
  auto v = store_.get_version(version);
  if (!v.ok()) return v.status();
  if (v->model != model)
    return NotFound("version " + std::to_string(version) + " is not a version of '" +
                    std::string(model) + "'");
  return model::load_model(v->model_bytes, "registry version " + std::to_string(version));
}

}  // namespace fl::coordinator
