// A model to and from bytes and files: proto/model.proto's ModelFile, for
// download to devices and for the registry.
//
// The envelope carries a format version, checked before anything else, and a
// CRC-32 of the body, so a file from another format version or one damaged in
// transit or on disk is refused with a message naming it, never loaded as
// silently wrong weights. Loading also checks the spec, the parameter count
// and the standardisation against each other.
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "model/model.h"
#include "model/model_file.h"  // kModelFormatVersion; the Eigen-free reader

namespace fl::proto {
class Model;
}

namespace fl::model {

// Bytes of a ModelFile; the model must be valid.
Result<std::string> save_model(const Model& model);
// `source` names the bytes in error messages (a path, a URL, "download").
Result<Model> load_model(std::string_view bytes, std::string_view source);

// Writes atomically: to a temporary file next to `path`, then renamed over it.
Status save_model_file(const Model& model, const std::string& path);
Result<Model> load_model_file(const std::string& path);

// The body message alone, for embedding in other protos (the registry).
Status model_to_proto(const Model& model, fl::proto::Model* out);
Result<Model> model_from_proto(const fl::proto::Model& proto, std::string_view source);

}  // namespace fl::model
