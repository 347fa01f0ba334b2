// The model file's envelope and spec, without Eigen: what a device needs to
// read a downloaded model as flat weights, and what model/serialization.h
// builds on to read and write full models.
//
// Split from serialization.{h,cc} so the client SDK (fl_client) can check a
// download (format version, CRC-32, spec, parameter count, finiteness) and
// hand its weights to an app's Trainer without linking fl_model, Eigen or the
// dataset readers. One reader of the envelope for every side: the
// coordinator's registry, fl-sim and the devices all go through
// open_model_file().
//
// Not for: standardisation or prediction (model/model.h, Eigen).
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/model_spec.h"

namespace fl::proto {
class Model;
class ModelSpec;
}  // namespace fl::proto

namespace fl::model {

// Version 1: proto/model.proto as first released (layout.h's parameter layout).
inline constexpr uint32_t kModelFormatVersion = 1;

// A model file as a device sees it: the architecture and its one flat
// parameter vector (layout in model/layout.h).
struct ModelWeights {
  ModelSpec spec;
  std::vector<float> params;
};

// The envelope: the body's bytes checked against the format version and the
// CRC-32, parsed into `body`. `source` names the bytes in error messages.
Status open_model_file(std::string_view bytes, std::string_view source, fl::proto::Model* body);
// The envelope around a body; ResourceExhausted beyond protobuf's 2 GiB.
Result<std::string> seal_model_file(const fl::proto::Model& body, size_t num_params);

// The spec of a body, validated; errors name `source`.
Result<ModelSpec> spec_from_proto(const fl::proto::ModelSpec& proto, std::string_view source);
void spec_to_proto(const ModelSpec& spec, fl::proto::ModelSpec* out);

// A model file's spec and weights, checked as load_model checks them
// (envelope, spec, parameter count, no NaN or infinity), except the
// standardisation, which only a predictor applies.
Result<ModelWeights> read_model_weights(std::string_view bytes, std::string_view source);

// A model file as on-device inference needs it: the weights plus the input
// standardisation (empty, or input_dim means and scales) and the metadata.
struct ModelForInference {
  ModelWeights weights;
  std::vector<float> mean;   // x' = (x - mean) / scale, per feature
  std::vector<float> scale;  // all finite and > 0
  std::map<std::string, std::string> metadata;
};

// Checked as load_model checks a file, standardisation included.
Result<ModelForInference> read_model_for_inference(std::string_view bytes, std::string_view source);

}  // namespace fl::model
