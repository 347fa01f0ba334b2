#include "coordinator/serving/json_tensor.h"

#include <cmath>
#include <limits>

#include "coordinator/http/response.h"

namespace fl::serving {

std::string_view json_kind(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::binary:
      return "binary";
    case nlohmann::json::value_t::discarded:
      return "invalid";
    default:
      return "a number";
  }
}

std::string json_excerpt(const nlohmann::json& value) {
  // Strings inside came through the parser, so they are valid UTF-8; replace
  // anyway, so that no input can make dump() throw on an error path.
  return http::excerpt(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<float> json_float(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number()) {
    return InvalidArgument(where + " is " + std::string(json_kind(value)) + "; expected a number");
  }
  const double d = value.get<double>();
  if (!std::isfinite(d) || std::abs(d) > std::numeric_limits<float>::max()) {
    return InvalidArgument(where + " = " + json_excerpt(value) + " is outside the float32 range");
  }
  return static_cast<float>(d);
}

}  // namespace fl::serving
