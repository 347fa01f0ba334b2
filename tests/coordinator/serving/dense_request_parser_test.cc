#include "coordinator/serving/dense_request_parser.h"

#include <gtest/gtest.h>

namespace fl::serving {
namespace {

TEST(DenseRequestParser, ReadsRowsAndColumnsOfPlainNumbers) {
  std::vector<float> values;
  const auto rows = parse_dense_request(
      " {\"instances\" : [ [1, -2.5, 3e2] ,[0.125,4,5] ] }\n", values);
  ASSERT_TRUE(rows.has_value());
  EXPECT_FALSE(rows->columnar);
  EXPECT_EQ(rows->rows, 2);
  EXPECT_EQ(rows->cols, 3);
  EXPECT_EQ(values, (std::vector<float>{1, -2.5f, 300, 0.125f, 4, 5}));

  const auto columns = parse_dense_request(
      R"({"signature_name": "serving_default", "inputs": [[7]]})", values);
  ASSERT_TRUE(columns.has_value());
  EXPECT_TRUE(columns->columnar);
  EXPECT_EQ(columns->signature_name, "serving_default");
  EXPECT_EQ(values, (std::vector<float>{7}));
}

TEST(DenseRequestParser, DeclinesEverythingElseSoTheFullParserDecides) {
  std::vector<float> values;
  for (const char* body : {
           R"({"instances": [{"inputs": [1, 2]}]})",  // named inputs
           R"({"instances": [[1, 2], [3]]})",         // ragged
           R"({"instances": [["1"]]})",               // a string
           R"({"instances": [[NaN]]})",
           R"({"instances": [[inf]]})",
           R"({"instances": [[-inf]]})",
           R"({"instances": [[1e60]]})",  // beyond float32
           R"({"instances": [[1,]]})",
           R"({"instances": []})",
           R"({"instances": [[1]]} trailing)",
           R"({"instances": [[1]], "instances": [[2]]})",
           R"({"instances": [[1]], "other": 1})",
           R"({"signature_name": "a\"b", "instances": [[1]]})",
           R"({})",
           "{\"instances\": [[1",
       }) {
    EXPECT_FALSE(parse_dense_request(body, values).has_value()) << body;
  }
}

}  // namespace
}  // namespace fl::serving
