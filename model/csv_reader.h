// Reader for numeric CSV files: a header row of column names, one example per
// row, one column named as the target, every other column a feature.
//
// Strict by design: a ragged row, an empty or non-numeric cell, a
// non-integer or out-of-range class label is an error naming the file, the
// line and the column, never a silently skipped row. Fields may be quoted
// ("1.5"), lines may end in \r\n, blank lines are ignored. Features are read
// as float32 and not standardised here: fit a Standardizer on the training
// split (standardizer.h) and store it with the model.
//
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "base/status.h"
#include "model/dataset.h"

namespace fl::model {

enum class Task { kClassification, kRegression };

struct CsvOptions {
  std::string target_column;
  Task task = Task::kClassification;
  // Classification: labels must be integers in [0, num_classes). 0 infers
  // num_classes as the largest label + 1 (at least 2).
  int num_classes = 0;
  char delimiter = ',';
};

Result<Dataset> load_csv(const std::string& path, const CsvOptions& options);

// The same, from text in memory; `source` names it in messages.
Result<Dataset> parse_csv(std::string_view text, const std::string& source,
                          const CsvOptions& options);

}  // namespace fl::model
