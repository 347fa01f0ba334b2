// A global model version as the registry keeps it (DESIGN.md section 5,
// "registry/"): lineage, the round that produced it, metrics, stage, and the
// two opaque payloads stored with it.
//
// Not for: interpreting the payloads. `model_bytes` is a serialised ModelFile
// (proto/model.proto, which carries its own CRC-32) and `optimizer_state` a
// ServerOptimizerState (proto/server_optimizer.proto); the store keeps both
// byte for byte and never parses them.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace fl::coordinator {

// candidate -> published -> retired, and retired -> published again to roll
// back. Exactly one version of a model is published once any has been.
enum class VersionStage { kCandidate, kPublished, kRetired };

std::string_view version_stage_name(VersionStage stage);  // "candidate", ...
std::optional<VersionStage> parse_version_stage(std::string_view name);

// Metric name -> value, e.g. {"accuracy", 0.91}, {"loss", 0.27}. Finite values only.
using VersionMetrics = std::map<std::string, double, std::less<>>;

// What a caller supplies to create a version. It always enters as a
// candidate; `Store::publish` is the only way to publish it.
struct NewVersion {
  std::string model;                 // the model's name, e.g. "fashion-mnist-mlp"
  std::optional<int64_t> parent_id;  // the version it was trained from; none for an initial model
  int64_t created_at_ms = 0;         // unix milliseconds, from the caller's clock
  VersionMetrics metrics;
  std::string model_bytes;
  std::string optimizer_state;
};

struct ModelVersion {
  int64_t id = 0;  // increasing; never reused
  std::string model;
  std::optional<int64_t> parent_id;
  std::optional<int64_t> round_id;  // the round that produced it; none for added versions
  int64_t created_at_ms = 0;
  VersionStage stage = VersionStage::kCandidate;
  VersionMetrics metrics;
  // Empty in listings (`Store::list_versions`), which leave the payloads out.
  std::string model_bytes;
  std::string optimizer_state;
};

}  // namespace fl::coordinator
