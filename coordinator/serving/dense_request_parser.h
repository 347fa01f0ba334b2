// The fast path for the common TF Serving predict body: one object holding
// "instances" or "inputs" as a non-empty array of equal-length arrays of
// plain numbers, and optionally "signature_name" as a string without escapes:
//   {"instances": [[0.1, 0.2, ...], ...]}      {"inputs": [[...], ...]}
// It reads the body once with std::from_chars straight into float32 (no JSON
// tree, one allocation amortised by the caller's reused buffer), about ten
// times faster than building an nlohmann::json tree of 784 numbers.
//
// Anything else (named inputs, nesting, escapes, bad numbers, ragged rows,
// non-finite or out-of-float-range values, malformed JSON) is declined with
// nullopt, and the caller falls back to the full parser, which also writes
// the error message. So this parser never rejects a request by itself, and
// accepts nothing the full parser would refuse, bar JSON's ban on leading
// zeros ("01"), which it does not check.
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fl::serving {

struct DenseRequest {
  bool columnar = false;  // "inputs" rather than "instances"
  int64_t rows = 0;
  int64_t cols = 0;
  std::optional<std::string_view> signature_name;  // a view into the body
};

// On success `values` holds rows * cols floats, row-major; it is cleared
// first and its capacity reused.
std::optional<DenseRequest> parse_dense_request(std::string_view body, std::vector<float>& values);

}  // namespace fl::serving
