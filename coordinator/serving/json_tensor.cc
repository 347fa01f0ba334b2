#include "coordinator/serving/json_tensor.h"

#include <cmath>
#include <limits>

namespace fl::serving {

std::string_view json_kind(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::binary: return "binary";
    case nlohmann::json::value_t::discarded: return "invalid";
    default: return "a number";
  }
}

Result<float> json_float(const nlohmann::json& value, const std::string& where) {
  if (!value.is_number()) {
    return InvalidArgument(where + " is " + std::string(json_kind(value)) + "; expected a number");
  }
  const double d = value.get<double>();
  if (!std::isfinite(d) || std::abs(d) > std::numeric_limits<float>::max()) {
    return InvalidArgument(where + " = " + value.dump() + " is outside the float32 range");
  }
  return static_cast<float>(d);
}

}  // namespace fl::serving
