#include "coordinator/store/model_version.h"

namespace fl::coordinator {

std::string_view version_stage_name(VersionStage stage) {
  switch (stage) {
    case VersionStage::kCandidate:
      return "candidate";
    case VersionStage::kPublished:
      return "published";
    case VersionStage::kRetired:
      return "retired";
  }
  return "unknown";
}

std::optional<VersionStage> parse_version_stage(std::string_view name) {
  for (VersionStage stage :
       {VersionStage::kCandidate, VersionStage::kPublished, VersionStage::kRetired}) {
    if (version_stage_name(stage) == name) return stage;
  }
  return std::nullopt;
}

}  // namespace fl::coordinator
