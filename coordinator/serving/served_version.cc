#include "coordinator/serving/served_version.h"

namespace fl::serving {

Result<std::shared_ptr<const ServedVersion>> make_served_version(
    std::string model_name, int64_t version, model::Model model,
    std::map<std::string, std::string> metadata) {
  if (model_name.empty()) return InvalidArgument("a served model needs a name");
  if (version <= 0) {
    return InvalidArgument("model '" + model_name + "' version must be positive, got " +
                           std::to_string(version));
  }
  if (const Status status = model::validate_model(model); !status.ok()) {
    return InvalidArgument("model '" + model_name + "' version " + std::to_string(version) +
                           " cannot be served: " + status.message());
  }
  auto served = std::make_shared<ServedVersion>();
  served->model_name = std::move(model_name);
  served->version = version;
  served->signature = signature_for(model.spec);
  served->metadata = model.metadata;
  for (auto& [key, value] : metadata) served->metadata[key] = std::move(value);
  served->model = std::move(model);
  return std::shared_ptr<const ServedVersion>(std::move(served));
}

}  // namespace fl::serving
