#include "coordinator/serving/tfserving_request.h"

#include <nlohmann/json.hpp>

#include "coordinator/http/response.h"
#include "coordinator/serving/bounded_json.h"
#include "coordinator/serving/dense_request_parser.h"
#include "coordinator/serving/json_tensor.h"
#include "coordinator/serving/signature.h"

namespace fl::serving {
namespace {

using nlohmann::json;

// "key" with its quotes. (Built by appending: GCC 12 warns falsely with
// -Wrestrict on "\"" + std::string.)
std::string in_quotes(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 2);
  out += '"';
  out += key;
  out += '"';
  return out;
}

Status check_signature(std::string_view name) {
  if (name.empty() || name == kDefaultSignature) return Status::Ok();
  return InvalidArgument("signature_name '" + http::excerpt(name) +
                         "' not found; this model has only '" + std::string(kDefaultSignature) +
                         "'");
}

Status check_batch(std::string_view key, size_t rows, size_t max_rows) {
  if (rows == 0) return InvalidArgument(in_quotes(key) + " is empty");
  if (rows > max_rows) {
    return InvalidArgument("batch of " + std::to_string(rows) + " rows exceeds the limit of " +
                           std::to_string(max_rows));
  }
  return Status::Ok();
}

Status wrong_width(const std::string& where, size_t width, int input_dim) {
  return InvalidArgument(where + " has " + std::to_string(width) + " values; the model takes " +
                         std::to_string(input_dim) + " features");
}

Status append_row(const json& row, const std::string& where, int input_dim,
                  std::vector<float>& values) {
  if (!row.is_array()) {
    return InvalidArgument(where + " is " + std::string(json_kind(row)) +
                           "; expected an array of " + std::to_string(input_dim) + " numbers");
  }
  if (row.size() != static_cast<size_t>(input_dim))
    return wrong_width(where, row.size(), input_dim);
  for (size_t j = 0; j < row.size(); ++j) {
    Result<float> value = json_float(row[j], where + "[" + std::to_string(j) + "]");
    if (!value.ok()) return value.status();
    values.push_back(*value);
  }
  return Status::Ok();
}

// {"inputs": x} -> x; the only input name a model here has.
Result<const json*> named_input(const json& object, const std::string& where) {
  if (object.size() != 1 || !object.contains(kInputName)) {
    std::string names;
    for (const auto& item : object.items()) {
      // Quoting every key of a 10 MB object would echo the body.
      if (names.size() > http::kMaxEchoBytes) {
        names += ", ...";
        break;
      }
      names += (names.empty() ? "'" : ", '") + http::excerpt(item.key()) + "'";
    }
    return InvalidArgument(where + " names input(s) " + (names.empty() ? "none" : names) +
                           "; the model's only input is '" + std::string(kInputName) + "'");
  }
  return &object.at(kInputName);
}

Result<TfPredictRequest> parse_tree(std::string_view body, int input_dim, size_t max_rows,
                                    std::vector<float>& values) {
  values.clear();
  // Depth-checked before anything recursive runs (bounded_json.h).
  Result<json> parsed_body = parse_bounded_json(body);
  if (!parsed_body.ok()) return parsed_body.status();
  const json& request = *parsed_body;
  if (!request.is_object()) {
    return InvalidArgument("the request must be a JSON object with \"instances\" or \"inputs\"");
  }
  if (auto it = request.find("signature_name"); it != request.end()) {
    if (!it->is_string()) return InvalidArgument("\"signature_name\" must be a string");
    FL_RETURN_IF_ERROR(check_signature(it->get_ref<const std::string&>()));
  }
  const bool has_instances = request.contains("instances");
  const bool has_inputs = request.contains("inputs");
  if (has_instances == has_inputs) {
    return InvalidArgument(has_instances
                               ? "the request has both \"instances\" and \"inputs\"; use one"
                               : "the request has neither \"instances\" (row format) nor "
                                 "\"inputs\" (columnar format)");
  }
  TfPredictRequest parsed;
  parsed.columnar = has_inputs;
  const std::string key = has_inputs ? "inputs" : "instances";
  const json* data = &request.at(key);
  std::string where = key;
  if (has_inputs && data->is_object()) {
    Result<const json*> named = named_input(*data, key);
    if (!named.ok()) return named.status();
    data = *named;
    where = key + '.';
    where += kInputName;
  }
  if (!data->is_array()) {
    return InvalidArgument(in_quotes(where) + " is " + std::string(json_kind(*data)) +
                           "; expected an array of rows");
  }
  FL_RETURN_IF_ERROR(check_batch(where, data->size(), max_rows));
  values.reserve(data->size() * static_cast<size_t>(input_dim));
  for (size_t i = 0; i < data->size(); ++i) {
    const json* row = &(*data)[i];
    std::string row_where = where + "[" + std::to_string(i) + "]";
    if (!has_inputs && row->is_object()) {
      Result<const json*> named = named_input(*row, row_where);
      if (!named.ok()) return named.status();
      row = *named;
      row_where += '.';
      row_where += kInputName;
    }
    FL_RETURN_IF_ERROR(append_row(*row, row_where, input_dim, values));
  }
  parsed.rows = static_cast<int64_t>(data->size());
  return parsed;
}

}  // namespace

Result<TfPredictRequest> parse_tfserving_predict(std::string_view body, int input_dim,
                                                 size_t max_rows, std::vector<float>& values) {
  const std::optional<DenseRequest> dense = parse_dense_request(body, values);
  if (!dense) return parse_tree(body, input_dim, max_rows, values);
  const std::string key = dense->columnar ? "inputs" : "instances";
  if (dense->signature_name) FL_RETURN_IF_ERROR(check_signature(*dense->signature_name));
  FL_RETURN_IF_ERROR(check_batch(key, static_cast<size_t>(dense->rows), max_rows));
  if (dense->cols != input_dim) {
    return wrong_width(key + "[0]", static_cast<size_t>(dense->cols), input_dim);
  }
  return TfPredictRequest{dense->columnar, dense->rows};
}

}  // namespace fl::serving
