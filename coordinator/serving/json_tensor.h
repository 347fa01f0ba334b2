// Reading numbers out of an nlohmann::json tree into float32, with errors that
// name the element (`where`, e.g. "instances[3][5]"). Shared by the full
// parsers of both APIs.
//
// Not for: the fast path (dense_request_parser.h), which never builds a tree.
//
// Thread-safety: reentrant.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fl::serving {

// "a string", "an object", ... for messages.
std::string_view json_kind(const nlohmann::json& value);

// A part of a request for a message: its JSON text, cut to
// http::kMaxEchoBytes. The value must come from parse_bounded_json (dump()
// recurses).
std::string json_excerpt(const nlohmann::json& value);

// A JSON number as a finite float32; InvalidArgument otherwise.
Result<float> json_float(const nlohmann::json& value, const std::string& where);

}  // namespace fl::serving
