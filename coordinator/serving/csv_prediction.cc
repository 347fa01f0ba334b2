#include "coordinator/serving/csv_prediction.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

#include "coordinator/http/response.h"
#include "coordinator/serving/json_numbers.h"
#include "model/network.h"
#include "model/predict.h"

namespace fl::serving {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits on `delim` outside double quotes; a quoted cell loses its quotes.
void split(std::string_view line, char delim, std::vector<std::string_view>& cells) {
  cells.clear();
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '"') quoted = !quoted;
    if (i == line.size() || (line[i] == delim && !quoted)) {
      std::string_view cell = trim(line.substr(start, i - start));
      if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"')
        cell = trim(cell.substr(1, cell.size() - 2));
      cells.push_back(cell);
      start = i + 1;
    }
  }
}

bool blank(std::string_view line) { return trim(line).empty(); }

class PredictionWriter {
 public:
  PredictionWriter(const model::ModelSpec& spec, std::ofstream& out) : spec_(spec), out_(out) {}

  void header() {
    std::string line = "row,";
    if (!model::is_classifier(spec_)) {
      line += "value";
    } else {
      line += "class";
      if (model::has_probabilities(spec_)) {
        for (int k = 0; k < spec_.num_classes; ++k) line += ",p" + std::to_string(k);
      }
    }
    out_ << line << '\n';
  }

  // `where[i]` names row i's input line ("file:line") for errors.
  Status chunk(const model::Model& model, const Eigen::Ref<const model::FeatureMatrix>& x,
               int64_t first_row, const std::vector<std::string>& where) {
    text_.clear();
    if (!model::is_classifier(spec_)) {
      Result<Eigen::VectorXf> values = model::predict_value(model, x);
      if (!values.ok()) return values.status();
      FL_RETURN_IF_ERROR(check_finite(*values, where));
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        append_int(text_, first_row + i);
        text_ += ',';
        append_float(text_, (*values)[i]);
        text_ += '\n';
      }
    } else if (model::has_probabilities(spec_)) {
      Result<Eigen::MatrixXf> p = model::predict_proba(model, x);
      if (!p.ok()) return p.status();
      FL_RETURN_IF_ERROR(check_finite(*p, where));
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        Eigen::Index best = 0;
        p->row(i).maxCoeff(&best);
        append_int(text_, first_row + i);
        text_ += ',';
        append_int(text_, best);
        for (Eigen::Index k = 0; k < p->cols(); ++k) {
          text_ += ',';
          append_float(text_, (*p)(i, k));
        }
        text_ += '\n';
      }
    } else {
      // The margins, not model::predict: a class picked from a NaN margin
      // must be refused, not written.
      Result<Eigen::MatrixXf> scores = model::decision_function(model, x);
      if (!scores.ok()) return scores.status();
      FL_RETURN_IF_ERROR(check_finite(*scores, where));
      const Eigen::VectorXi classes = model::internal::classes_from_scores(*scores);
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        append_int(text_, first_row + i);
        text_ += ',';
        append_int(text_, classes[i]);
        text_ += '\n';
      }
    }
    out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
    return Status::Ok();
  }

 private:
  // A finite row of features can still overflow a layer (3e38 everywhere):
  // the run fails naming the line rather than writing a class picked from NaNs.
  template <typename Outputs>
  static Status check_finite(const Outputs& outputs, const std::vector<std::string>& where) {
    for (Eigen::Index i = 0; i < outputs.rows(); ++i) {
      if (!outputs.row(i).allFinite()) {
        return InvalidArgument(where[static_cast<size_t>(i)] +
                               ": the model's output for this row is not finite: its features "
                               "are too large for the model");
      }
    }
    return Status::Ok();
  }

  const model::ModelSpec& spec_;
  std::ofstream& out_;
  std::string text_;
};

// The whole run, writing to `partial_path`.
Status run(const model::Model& model, const std::string& input_csv, const std::string& partial_path,
           const CsvPredictionOptions& options) {
  std::ifstream in(input_csv, std::ios::binary);
  if (!in) {
    return NotFound("cannot open input CSV '" + input_csv + "': " + std::strerror(errno));
  }
  std::ofstream out(partial_path, std::ios::binary | std::ios::trunc);
  if (!out) return Internal("cannot write '" + partial_path + "': " + std::strerror(errno));

  const int dim = model.spec.input_dim;
  std::vector<std::string_view> cells;
  std::vector<std::string> names;  // header names, for messages
  std::vector<bool> use;           // per input column: a feature?
  std::string line;
  int64_t line_number = 0;

  if (options.header) {
    while (std::getline(in, line)) {
      ++line_number;
      if (!blank(line)) break;
    }
    split(line, options.delimiter, cells);
    for (std::string_view cell : cells) names.emplace_back(cell);
    use.assign(names.size(), true);
    for (const std::string& ignored : options.ignore_columns) {
      auto it = std::find(names.begin(), names.end(), ignored);
      if (it == names.end()) {
        return InvalidArgument(input_csv + ":" + std::to_string(line_number) +
                               ": no column named '" + ignored + "' to ignore");
      }
      use[static_cast<size_t>(it - names.begin())] = false;
    }
    const auto features = std::count(use.begin(), use.end(), true);
    if (features != dim) {
      return InvalidArgument(input_csv + ":" + std::to_string(line_number) + ": the header has " +
                             std::to_string(features) + " feature columns but " +
                             model::describe(model.spec) + " takes " + std::to_string(dim));
    }
  } else if (!options.ignore_columns.empty()) {
    return InvalidArgument("ignoring columns by name needs a header line in '" + input_csv + "'");
  }

  PredictionWriter writer(model.spec, out);
  writer.header();
  const Eigen::Index chunk_rows = std::max<int64_t>(1, options.chunk_rows);
  model::FeatureMatrix chunk(chunk_rows, dim);
  std::vector<std::string> chunk_lines;  // "file:line" of each row in the chunk
  chunk_lines.reserve(static_cast<size_t>(chunk_rows));
  Eigen::Index filled = 0;
  int64_t rows_done = 0;
  auto flush = [&]() -> Status {
    if (filled == 0) return Status::Ok();
    FL_RETURN_IF_ERROR(writer.chunk(model, chunk.topRows(filled), rows_done, chunk_lines));
    chunk_lines.clear();
    rows_done += filled;
    filled = 0;
    return Status::Ok();
  };

  const size_t columns = options.header ? use.size() : static_cast<size_t>(dim);
  while (std::getline(in, line)) {
    ++line_number;
    if (blank(line)) continue;
    const std::string where = input_csv + ":" + std::to_string(line_number);
    split(line, options.delimiter, cells);
    if (cells.size() != columns) {
      return InvalidArgument(where + ": " + std::to_string(cells.size()) + " columns, expected " +
                             std::to_string(columns));
    }
    Eigen::Index j = 0;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (options.header && !use[c]) continue;
      const std::string_view cell = cells[c];
      float value = 0;
      const char* begin = cell.data() + (!cell.empty() && cell.front() == '+' ? 1 : 0);
      const auto [end, ec] = std::from_chars(begin, cell.data() + cell.size(), value);
      if (cell.empty() || ec != std::errc() || end != cell.data() + cell.size() ||
          !std::isfinite(value)) {
        const std::string column =
            "column " + std::to_string(c + 1) + (options.header ? " ('" + names[c] + "')" : "");
        return InvalidArgument(where + ", " + column + ": '" + http::excerpt(cell) +
                               "' is not a finite number");
      }
      chunk(filled, j++) = value;
    }
    chunk_lines.push_back(where);
    if (++filled == chunk_rows) FL_RETURN_IF_ERROR(flush());
  }
  if (in.bad()) return Internal("reading '" + input_csv + "' failed: " + std::strerror(errno));
  FL_RETURN_IF_ERROR(flush());
  out.flush();
  if (!out) return Internal("writing '" + partial_path + "' failed: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace

Status predict_csv(const model::Model& model, const std::string& input_csv,
                   const std::string& output_csv, const CsvPredictionOptions& options) {
  if (const Status valid = model::validate_model(model); !valid.ok()) {
    return InvalidArgument("cannot predict with this model: " + valid.message());
  }
  FL_RETURN_IF_ERROR(model::require_built_in(model.spec, "batch prediction"));
  const std::string partial = output_csv + ".partial";
  const Status status = run(model, input_csv, partial, options);
  if (!status.ok()) {
    std::remove(partial.c_str());
    return status;
  }
  if (std::rename(partial.c_str(), output_csv.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(partial.c_str());
    return Internal("cannot rename '" + partial + "' to '" + output_csv + "': " + reason);
  }
  return Status::Ok();
}

}  // namespace fl::serving
