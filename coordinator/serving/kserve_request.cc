#include "coordinator/serving/kserve_request.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "coordinator/http/response.h"
#include "coordinator/serving/bounded_json.h"
#include "coordinator/serving/json_tensor.h"

namespace fl::serving {
namespace {

using nlohmann::json;

// An accepted datatype; integer ones with their range.
struct Datatype {
  std::string_view name;
  bool integer;
  int64_t min;
  uint64_t max;
};
constexpr Datatype kAccepted[] = {
    {"FP32", false, 0, 0},
    {"FP64", false, 0, 0},
    {"INT8", true, -128, 127},
    {"INT16", true, -32768, 32767},
    {"INT32", true, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
    {"INT64", true, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
    {"UINT8", true, 0, 255},
    {"UINT16", true, 0, 65535},
    {"UINT32", true, 0, std::numeric_limits<uint32_t>::max()},
    {"UINT64", true, 0, std::numeric_limits<uint64_t>::max()},
};

Result<const Datatype*> find_datatype(const json& tensor) {
  auto it = tensor.find("datatype");
  if (it == tensor.end() || !it->is_string())
    return InvalidArgument("input tensor has no \"datatype\" string");
  const std::string& name = it->get_ref<const std::string&>();
  for (const Datatype& type : kAccepted) {
    if (type.name == name) return &type;
  }
  if (name == "BOOL" || name == "BYTES" || name == "FP16" || name == "BF16") {
    return InvalidArgument("datatype " + name +
                           " is not supported; send FP32, FP64 or an integer type");
  }
  return InvalidArgument("unknown datatype '" + http::excerpt(name) + "'");
}

Result<float> element(const json& value, const Datatype& type, const std::string& where) {
  if (!type.integer) return json_float(value, where);
  if (!value.is_number_integer()) {
    return InvalidArgument(where + " is " +
                           std::string(value.is_number() ? "not an integer" : json_kind(value)) +
                           "; datatype " + std::string(type.name) + " needs integers");
  }
  const bool in_range = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= type.max
                            : value.get<int64_t>() >= type.min &&
                                  (value.get<int64_t>() < 0 ||
                                   static_cast<uint64_t>(value.get<int64_t>()) <= type.max);
  if (!in_range) {
    return InvalidArgument(where + " = " + json_excerpt(value) + " is out of range for " +
                           std::string(type.name));
  }
  return value.is_number_unsigned() ? static_cast<float>(value.get<uint64_t>())
                                    : static_cast<float>(value.get<int64_t>());
}

// Flat, or nested no deeper than the shape's rank (2). `input_dim` names
// the row and column of a bad element in flat data.
Status flatten(const json& data, const Datatype& type, int input_dim, int depth,
               const std::string& where, std::vector<float>& values) {
  for (size_t i = 0; i < data.size(); ++i) {
    const json& item = data[i];
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    if (item.is_array()) {
      if (depth >= 1) return InvalidArgument(item_where + " nests deeper than the shape's rank 2");
      FL_RETURN_IF_ERROR(flatten(item, type, input_dim, depth + 1, item_where, values));
      continue;
    }
    Result<float> value = element(item, type, item_where);
    if (!value.ok() && depth == 0 && input_dim > 0) {
      // values holds every element before this one, nested or flat.
      const size_t dim = static_cast<size_t>(input_dim);
      const size_t index = values.size();
      return InvalidArgument(value.status().message() + " (row " + std::to_string(index / dim) +
                             ", column " + std::to_string(index % dim) + ")");
    }
    if (!value.ok()) return value.status();
    values.push_back(*value);
  }
  return Status::Ok();
}

size_t count_elements(const json& data) {
  size_t n = 0;
  for (const json& item : data) n += item.is_array() ? item.size() : 1;
  return n;
}

Result<int64_t> parse_shape(const json& tensor, int input_dim, size_t max_rows) {
  auto it = tensor.find("shape");
  if (it == tensor.end() || !it->is_array())
    return InvalidArgument("input tensor has no \"shape\" array");
  const json& shape = *it;
  for (const json& dim : shape) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0)
      return InvalidArgument("\"shape\" " + json_excerpt(shape) +
                             " must hold non-negative integers");
  }
  if (shape.size() != 2 || shape[1].get<int64_t>() != input_dim) {
    return InvalidArgument("\"shape\" " + json_excerpt(shape) +
                           " does not fit the model's input [-1, " + std::to_string(input_dim) +
                           "]");
  }
  const int64_t rows = shape[0].get<int64_t>();
  if (rows == 0) return InvalidArgument("\"shape\" " + json_excerpt(shape) + " holds no rows");
  if (static_cast<uint64_t>(rows) > max_rows) {
    return InvalidArgument("batch of " + std::to_string(rows) + " rows exceeds the limit of " +
                           std::to_string(max_rows));
  }
  return rows;
}

Status parse_outputs(const json& request, const Signature& signature,
                     std::vector<const OutputSpec*>& outputs) {
  auto it = request.find("outputs");
  if (it == request.end()) {
    for (const OutputSpec& output : signature.outputs) outputs.push_back(&output);
    return Status::Ok();
  }
  if (!it->is_array()) return InvalidArgument("\"outputs\" must be an array");
  for (const json& wanted : *it) {
    auto name = wanted.is_object() ? wanted.find("name") : wanted.end();
    if (!wanted.is_object() || name == wanted.end() || !name->is_string())
      return InvalidArgument("each of \"outputs\" must be an object with a \"name\"");
    const OutputSpec* spec = signature.output(name->get_ref<const std::string&>());
    if (spec == nullptr) {
      std::string known;
      for (const OutputSpec& output : signature.outputs)
        known += (known.empty() ? "'" : ", '") + output.name + "'";
      return InvalidArgument("unknown output '" +
                             http::excerpt(name->get_ref<const std::string&>()) +
                             "'; the model has " + known);
    }
    outputs.push_back(spec);
  }
  if (outputs.empty()) {
    for (const OutputSpec& output : signature.outputs) outputs.push_back(&output);
  }
  return Status::Ok();
}

}  // namespace

Result<KServeInferRequest> parse_kserve_infer(std::string_view body, const Signature& signature,
                                              size_t max_rows, std::vector<float>& values) {
  values.clear();
  // Depth-checked before anything recursive runs: a "shape" or "data"
  // nested 100,000 deep once overflowed the stack here.
  Result<json> parsed_body = parse_bounded_json(body);
  if (!parsed_body.ok()) return parsed_body.status();
  const json& request = *parsed_body;
  if (!request.is_object()) return InvalidArgument("the request must be a JSON object");
  KServeInferRequest parsed;
  if (auto id = request.find("id"); id != request.end()) {
    if (!id->is_string()) return InvalidArgument("\"id\" must be a string");
    parsed.id = id->get<std::string>();
  }
  auto inputs = request.find("inputs");
  if (inputs == request.end() || !inputs->is_array() || inputs->size() != 1) {
    return InvalidArgument("\"inputs\" must be an array holding one tensor, '" +
                           std::string(kInputName) + "'");
  }
  const json& tensor = (*inputs)[0];
  if (!tensor.is_object()) return InvalidArgument("inputs[0] must be an object");
  auto name = tensor.find("name");
  if (name == tensor.end() || !name->is_string() || *name != kInputName) {
    return InvalidArgument("the input tensor must be named '" + std::string(kInputName) + "'");
  }
  Result<const Datatype*> type = find_datatype(tensor);
  if (!type.ok()) return type.status();
  Result<int64_t> rows = parse_shape(tensor, signature.input_dim, max_rows);
  if (!rows.ok()) return rows.status();
  auto data = tensor.find("data");
  if (data == tensor.end() || !data->is_array())
    return InvalidArgument("the input tensor has no \"data\" array");
  const size_t expected = static_cast<size_t>(*rows) * static_cast<size_t>(signature.input_dim);
  if (const size_t count = count_elements(*data); count != expected) {
    return InvalidArgument("\"data\" holds " + std::to_string(count) + " elements but shape " +
                           json_excerpt(tensor.at("shape")) + " needs " + std::to_string(expected));
  }
  values.reserve(expected);
  FL_RETURN_IF_ERROR(flatten(*data, **type, signature.input_dim, 0, "data", values));
  FL_RETURN_IF_ERROR(parse_outputs(request, signature, parsed.outputs));
  parsed.rows = *rows;
  return parsed;
}

}  // namespace fl::serving
