#include "model/csv_reader.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

namespace fl::model {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits one line into fields, honouring double quotes ("" is a literal quote).
Status split_fields(std::string_view line, char delim, const std::string& where,
                    std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && trim(field).empty() && !was_quoted) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == delim) {
      fields.push_back(std::string(trim(field)));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return InvalidArgument(where + ": unterminated quoted field");
  fields.push_back(std::string(trim(field)));
  return Status::Ok();
}

Result<float> parse_number(std::string_view cell, const std::string& where,
                           const std::string& column) {
  if (cell.empty()) return InvalidArgument(where + ": empty cell in column '" + column + "'");
  if (cell.front() == '+') cell.remove_prefix(1);
  float value = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (ec != std::errc() || end != cell.data() + cell.size()) {
    return InvalidArgument(where + ": cell '" + std::string(cell) + "' in column '" + column +
                           "' is not a number");
  }
  if (!std::isfinite(value)) {
    return InvalidArgument(where + ": cell '" + std::string(cell) + "' in column '" + column +
                           "' is not finite");
  }
  return value;
}

}  // namespace

Result<Dataset> parse_csv(std::string_view text, const std::string& source,
                          const CsvOptions& options) {
  const bool classify = options.task == Task::kClassification;
  if (options.target_column.empty()) {
    return InvalidArgument(source + ": no target column given");
  }
  if (classify && options.num_classes == 1) {
    return InvalidArgument(source + ": a classifier needs num_classes >= 2 (or 0 to infer)");
  }
  std::vector<std::string> header;
  std::vector<std::string> fields;
  std::vector<float> features;
  std::vector<float> targets;
  int target_index = -1;
  int64_t line_number = 0;
  int64_t rows = 0;
  std::string target_name;

  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (trim(line).empty()) {
      if (end == text.size()) break;
      continue;
    }
    const std::string where = source + ":" + std::to_string(line_number);
    FL_RETURN_IF_ERROR(split_fields(line, options.delimiter, where, fields));

    if (header.empty()) {
      header = fields;
      for (size_t j = 0; j < header.size(); ++j) {
        if (header[j] == options.target_column) target_index = static_cast<int>(j);
      }
      if (target_index < 0) {
        std::string names;
        for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
        return InvalidArgument(source + ": no column named '" + options.target_column +
                               "' in the header (columns: " + names + ")");
      }
      if (header.size() < 2) {
        return InvalidArgument(source + ": the header has no feature columns besides the target");
      }
      continue;
    }

    if (fields.size() != header.size()) {
      return InvalidArgument(where + ": expected " + std::to_string(header.size()) +
                             " fields as in the header, found " + std::to_string(fields.size()));
    }
    for (size_t j = 0; j < fields.size(); ++j) {
      Result<float> v = parse_number(fields[j], where, header[j]);
      if (!v.ok()) return v.status();
      if (static_cast<int>(j) != target_index) {
        features.push_back(*v);
        continue;
      }
      if (classify) {
        const float label = *v;
        if (label != std::floor(label) || label < 0) {
          return InvalidArgument(where + ": class label '" + fields[j] + "' in column '" +
                                 header[j] + "' is not a non-negative integer");
        }
        if (options.num_classes > 0 && label >= static_cast<float>(options.num_classes)) {
          return InvalidArgument(where + ": class label " + fields[j] + " in column '" + header[j] +
                                 "' is outside [0, " + std::to_string(options.num_classes) + ")");
        }
        if (label > 1e6f) {
          return InvalidArgument(where + ": class label " + fields[j] + " is implausibly large");
        }
      }
      targets.push_back(*v);
    }
    ++rows;
  }
  if (header.empty()) return InvalidArgument(source + ": empty file (no header row)");
  if (rows == 0) return InvalidArgument(source + ": no data rows after the header");

  Dataset out;
  out.source = source;
  const auto d = static_cast<Eigen::Index>(header.size() - 1);
  out.features = Eigen::Map<const FeatureMatrix>(features.data(), rows, d);
  for (size_t j = 0; j < header.size(); ++j) {
    if (static_cast<int>(j) != target_index) out.feature_names.push_back(header[j]);
  }
  if (classify) {
    out.labels.resize(rows);
    int max_label = 0;
    for (int64_t i = 0; i < rows; ++i) {
      out.labels[i] = static_cast<int>(targets[i]);
      max_label = std::max(max_label, out.labels[i]);
    }
    out.num_classes = options.num_classes > 0 ? options.num_classes : std::max(2, max_label + 1);
  } else {
    out.targets = Eigen::Map<const Eigen::VectorXf>(targets.data(), rows);
  }
  return out;
}

Result<Dataset> load_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return DataLoss(path + ": read error");
  return parse_csv(buffer.str(), path, options);
}

}  // namespace fl::model
