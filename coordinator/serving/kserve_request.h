// Parses an Open Inference Protocol (KServe v2) REST infer request
// (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/):
//   {"id": "42", "inputs": [{"name": "inputs", "shape": [n, d], "datatype": "FP32",
//     "data": [...]}], "outputs": [{"name": "classes"}]}
// The one input tensor must be called "inputs" with shape [n, d] (d the
// model's features); "data" is flat (row-major) or nested as [n][d], and its
// element count must equal n * d. FP32, FP64 and INT8..INT64, UINT8..UINT64
// are accepted and converted to float32 (integers range-checked for their
// type); BOOL, BYTES, FP16 and BF16 are refused. "id" is echoed; "outputs"
// picks a subset of the signature's outputs; "parameters" are ignored.
//
// Errors are InvalidArgument naming what is wrong, for a 400.
//
// Not for: the binary tensor extension, several inputs.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/serving/signature.h"

namespace fl::serving {

struct KServeInferRequest {
  std::optional<std::string> id;
  int64_t rows = 0;
  std::vector<const OutputSpec*> outputs;  // requested, into the signature; all if none asked
};

// Fills `values` with rows x signature.input_dim floats, row-major.
Result<KServeInferRequest> parse_kserve_infer(std::string_view body, const Signature& signature,
                                              size_t max_rows, std::vector<float>& values);

}  // namespace fl::serving
