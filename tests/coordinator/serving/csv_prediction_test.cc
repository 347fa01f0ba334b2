#include "coordinator/serving/csv_prediction.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

namespace fs = std::filesystem;
using testing::fashion_mlp;
using testing::pixel_rows;

class CsvPredictionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fl_csv_prediction_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A CSV of `rows` with a header px0..px{d-1}, plus a label column first if asked.
  std::string write_features(const std::string& name, const model::FeatureMatrix& rows,
                             bool with_label = false, bool header = true) {
    std::ofstream out(path(name));
    out.precision(9);
    if (header) {
      if (with_label) out << "label,";
      for (Eigen::Index j = 0; j < rows.cols(); ++j) out << (j ? "," : "") << "px" << j;
      out << "\r\n";
    }
    for (Eigen::Index i = 0; i < rows.rows(); ++i) {
      if (with_label) out << i % 10 << ",";
      for (Eigen::Index j = 0; j < rows.cols(); ++j) out << (j ? "," : "") << rows(i, j);
      out << "\r\n";
      if (i == 3) out << "\n";  // blank lines are skipped
    }
    return path(name);
  }

  static std::vector<std::vector<std::string>> read_csv(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::vector<std::string>> lines;
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream cells_in(line);
      std::string cell;
      while (std::getline(cells_in, cell, ',')) cells.push_back(cell);
      lines.push_back(cells);
    }
    return lines;
  }

  fs::path dir_;
};

TEST_F(CsvPredictionTest, WritesClassAndProbabilitiesPerRowInChunks) {
  const model::Model model = fashion_mlp(3);
  const model::FeatureMatrix rows = pixel_rows(23, 784, 8);
  const std::string input = write_features("in.csv", rows);
  CsvPredictionOptions options;
  options.chunk_rows = 5;  // several chunks and a partial one
  const Status status = predict_csv(model, input, path("out.csv"), options);
  ASSERT_TRUE(status.ok()) << status.to_string();

  const auto lines = read_csv(path("out.csv"));
  ASSERT_EQ(lines.size(), 24u);
  ASSERT_EQ(lines[0].size(), 12u);
  EXPECT_EQ(lines[0][0], "row");
  EXPECT_EQ(lines[0][1], "class");
  EXPECT_EQ(lines[0][2], "p0");
  EXPECT_EQ(lines[0][11], "p9");
  const Eigen::MatrixXf p = *model::predict_proba(model, rows);
  const Eigen::VectorXi classes = *model::predict(model, rows);
  for (int i = 0; i < 23; ++i) {
    const auto& cells = lines[i + 1];
    ASSERT_EQ(cells.size(), 12u);
    EXPECT_EQ(cells[0], std::to_string(i));
    EXPECT_EQ(std::stoi(cells[1]), classes[i]);
    // Eigen sums in a different order for a 5-row chunk than for 23 rows.
    for (int k = 0; k < 10; ++k) EXPECT_NEAR(std::stof(cells[2 + k]), p(i, k), 1e-6f);
  }
  EXPECT_FALSE(fs::exists(path("out.csv.partial")));
}

TEST_F(CsvPredictionTest, IgnoresNamedColumnsSuchAsTheLabel) {
  const model::Model model = fashion_mlp(3);
  const model::FeatureMatrix rows = pixel_rows(4, 784, 9);
  CsvPredictionOptions options;
  options.ignore_columns = {"label"};
  ASSERT_TRUE(
      predict_csv(model, write_features("in.csv", rows, true), path("out.csv"), options).ok());
  const Eigen::VectorXi classes = *model::predict(model, rows);
  const auto lines = read_csv(path("out.csv"));
  ASSERT_EQ(lines.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(std::stoi(lines[i + 1][1]), classes[i]);
}

TEST_F(CsvPredictionTest, RegressorsWriteRowAndValueAndHeaderlessInputWorks) {
  const model::Model model = testing::small_regressor(4);
  const model::FeatureMatrix rows = pixel_rows(6, 8, 10);
  CsvPredictionOptions options;
  options.header = false;
  ASSERT_TRUE(
      predict_csv(model, write_features("in.csv", rows, false, false), path("out.csv"), options)
          .ok());
  const Eigen::VectorXf values = *model::predict_value(model, rows);
  const auto lines = read_csv(path("out.csv"));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], (std::vector<std::string>{"row", "value"}));
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(std::stof(lines[i + 1][1]), values[i]);
}

TEST_F(CsvPredictionTest, ErrorsNameTheFileLineAndColumnAndLeaveNoOutput) {
  const model::Model model = testing::small_regressor(4);
  auto write = [&](const std::string& text) {
    std::ofstream(path("bad.csv")) << text;
    return path("bad.csv");
  };
  const std::string header = "a,b,c,d,e,f,g,h\n";
  const std::string good = "1,2,3,4,5,6,7,8\n";

  Status status = predict_csv(model, write(header + good + "1,2,3,4,5,6,7\n"), path("out.csv"));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bad.csv:3: 7 columns, expected 8"), std::string::npos)
      << status.message();

  status = predict_csv(model, write(header + good + good + "1,2,x,4,5,6,7,8\n"), path("out.csv"));
  EXPECT_NE(status.message().find("bad.csv:4, column 3 ('c'): 'x' is not a finite number"),
            std::string::npos)
      << status.message();

  status = predict_csv(model, write(header + "1,2,3,4,5,6,7,nan\n"), path("out.csv"));
  EXPECT_NE(status.message().find("column 8 ('h')"), std::string::npos) << status.message();

  status = predict_csv(model, write("a,b,c\n1,2,3\n"), path("out.csv"));
  EXPECT_NE(status.message().find("bad.csv:1: the header has 3 feature columns"), std::string::npos)
      << status.message();

  CsvPredictionOptions ignore;
  ignore.ignore_columns = {"label"};
  status = predict_csv(model, write(header + good), path("out.csv"), ignore);
  EXPECT_NE(status.message().find("no column named 'label'"), std::string::npos);

  status = predict_csv(model, path("missing.csv"), path("out.csv"));
  EXPECT_EQ(status.code(), ErrorCode::kNotFound);
  EXPECT_NE(status.message().find("missing.csv"), std::string::npos);

  EXPECT_FALSE(fs::exists(path("out.csv")));
  EXPECT_FALSE(fs::exists(path("out.csv.partial")));
}

// 3e38 is a finite float32, so the row is read; the model overflows on it.
// The run fails naming the line instead of writing a class picked from NaNs,
// for each kind of output (probabilities, an SVM's margins, a value).
TEST_F(CsvPredictionTest, RowsTheModelOverflowsOnFailTheRunNamingTheLine) {
  model::FeatureMatrix rows = pixel_rows(7, 784, 12);
  rows.row(5).setConstant(3e38f);  // line 8: a header, rows 0-3, a blank line, rows 4, 5
  Result<model::Model> svm = model::create_model(model::ModelSpec::linear_svm(784, 10), 5);
  ASSERT_TRUE(svm.ok());
  svm->params.setConstant(0.5f);
  for (const model::Model& model : {fashion_mlp(3), *svm}) {
    SCOPED_TRACE(model::describe(model.spec));
    // The control: the model has no finite answer for that row.
    ASSERT_FALSE(model::decision_function(model, rows)->row(5).allFinite());
    CsvPredictionOptions options;
    options.chunk_rows = 2;  // the row is in the third chunk, after output was written
    const Status status =
        predict_csv(model, write_features("in.csv", rows), path("out.csv"), options);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(status.message().find("in.csv:8: the model's output for this row is not finite"),
              std::string::npos)
        << status.message();
    EXPECT_FALSE(fs::exists(path("out.csv")));
    EXPECT_FALSE(fs::exists(path("out.csv.partial")));
  }
  model::FeatureMatrix values = pixel_rows(2, 8, 13);
  values.row(1).setConstant(3e38f);
  CsvPredictionOptions options;
  options.header = false;
  const Status status =
      predict_csv(testing::small_regressor(4), write_features("in.csv", values, false, false),
                  path("out.csv"), options);
  EXPECT_NE(status.message().find("in.csv:2: the model's output"), std::string::npos)
      << status.message();
}

TEST_F(CsvPredictionTest, ANumberBeyondFloatIsRefusedNamingLineAndColumn) {
  std::ofstream(path("big.csv")) << "a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,8\n1,2,3,1e39,5,6,7,8\n";
  const Status status = predict_csv(testing::small_regressor(4), path("big.csv"), path("out.csv"));
  EXPECT_NE(status.message().find("big.csv:3, column 4 ('d'): '1e39' is not a finite number"),
            std::string::npos)
      << status.message();
  EXPECT_FALSE(fs::exists(path("out.csv")));
}

}  // namespace
}  // namespace fl::serving
