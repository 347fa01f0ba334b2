// Parses a TensorFlow Serving REST predict request body into float32 rows,
// accepting what TF Serving accepts for a single-input model
// (https://www.tensorflow.org/tfx/serving/api_rest#request_format_2):
//   row format       {"instances": [[...], ...]}
//                    {"instances": [{"inputs": [...]}, ...]}   named input
//   columnar format  {"inputs": [[...], ...]}
//                    {"inputs": {"inputs": [[...], ...]}}        named input
// with an optional "signature_name", which must be "serving_default". The
// common plain-number shapes take the fast path (dense_request_parser.h);
// anything else goes through nlohmann::json, which also words every error.
//
// Errors are InvalidArgument with a message naming the offending element
// (e.g. "instances[2] has 783 values; model takes 784 features"): malformed
// JSON, a missing or doubled data key, an empty batch, a batch over the
// limit, a wrong row length, a non-number, a value outside float32.
//
// Not for: b64 binary inputs, several inputs, the classify/regress APIs.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fl::serving {

struct TfPredictRequest {
  bool columnar = false;  // answer with "outputs" rather than "predictions"
  int64_t rows = 0;
};

// Fills `values` with rows x input_dim floats, row-major (cleared first, its
// capacity reused).
Result<TfPredictRequest> parse_tfserving_predict(std::string_view body, int input_dim,
                                                 size_t max_rows, std::vector<float>& values);

}  // namespace fl::serving
