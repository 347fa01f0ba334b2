// Batch prediction over a CSV file, for `fl-coordinator predict`: rows of raw
// features in, one line of predictions per row out.
//
// Output columns: `row,class,p0,...,p{k-1}` for classifiers with
// probabilities, `row,class` for a linear SVM, `row,value` for regressors;
// `row` counts data rows from 0, in input order. Floats are written in their
// shortest round-trip form.
//
// Input: numeric cells, optionally quoted ("1.5"), \n or \r\n line ends,
// blank lines skipped. Strict like model/csv_reader.h: a wrong column count or
// a cell that is not a finite number fails the whole run with a message naming
// the file, the line and the column. Rows are read and predicted in chunks, so
// memory is bounded by the chunk whatever the file size. The output is written
// to "<output>.partial" and renamed over `output_csv` only on success, so a
// failed run never leaves a truncated file where the result is expected.
//
// Not for: a CSV with a target column to score against (use fl-train's
// evaluation), or parallelism (one thread; the forward pass dominates and
// serving shares the machine).
//
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/model.h"

namespace fl::serving {

struct CsvPredictionOptions {
  bool header = true;  // the first non-blank line names the columns
  // Columns to skip by header name, e.g. the label column of a test split.
  std::vector<std::string> ignore_columns;
  char delimiter = ',';
  // Rows per forward pass: 4096 x 784 float32 is 12.8 MB of input.
  int64_t chunk_rows = 4096;
};

// NotFound if the input cannot be opened; InvalidArgument for bad input (file,
// line and column named) or an invalid model; Internal if the output cannot
// be written.
Status predict_csv(const model::Model& model, const std::string& input_csv,
                   const std::string& output_csv, const CsvPredictionOptions& options = {});

}  // namespace fl::serving
