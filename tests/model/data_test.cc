// Dataset readers and helpers: correct on good input, and on bad input a
// clear error naming the file (and line, for CSV), never a crash.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <set>

#include "model/csv_reader.h"
#include "model/dataset.h"
#include "model/fashion_mnist.h"
#include "model/idx_reader.h"
#include "model/standardizer.h"
#include "tests/model/test_data.h"

namespace fl::model {
namespace {

using testing::ScratchDir;

std::string idx_bytes(std::vector<uint32_t> dims, const std::vector<uint8_t>& data) {
  std::string out = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
  }
  out.append(data.begin(), data.end());
  return out;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

bool mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

// Writes a 3-image, 2x2-pixel dataset in Fashion-MNIST's file layout.
void write_tiny_mnist(const ScratchDir& dir, const std::vector<uint8_t>& labels = {0, 9, 4}) {
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"),
           idx_bytes({3, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8}));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"),
           idx_bytes({static_cast<uint32_t>(labels.size())}, labels));
}

TEST(IdxReader, ReadsGzipAndPlainFiles) {
  ScratchDir dir;
  const std::string bytes = idx_bytes({2, 3}, {1, 2, 3, 4, 5, 6});
  write_gz(dir.file("a.gz"), bytes);
  write_file(dir.file("a"), bytes);
  for (const char* name : {"a.gz", "a"}) {
    Result<IdxArray> a = read_idx(dir.file(name));
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_EQ(a->dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a->data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  }
}

TEST(IdxReader, MissingFileIsNotFoundNamingIt) {
  ScratchDir dir;
  Result<IdxArray> a = read_idx(dir.file("nope.gz"));
  EXPECT_EQ(a.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(mentions(a.status(), dir.file("nope.gz")));
}

TEST(IdxReader, TruncatedDataIsDataLossNamingTheFile) {
  ScratchDir dir;
  std::string bytes = idx_bytes({4, 4}, std::vector<uint8_t>(16, 7));
  bytes.resize(bytes.size() - 5);
  write_gz(dir.file("short.gz"), bytes);
  Result<IdxArray> a = read_idx(dir.file("short.gz"));
  EXPECT_EQ(a.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(a.status(), dir.file("short.gz")));
  EXPECT_TRUE(mentions(a.status(), "truncated")) << a.status().to_string();
}

TEST(IdxReader, TruncatedHeaderIsDataLoss) {
  ScratchDir dir;
  write_gz(dir.file("h.gz"), std::string("\0\0\x08\x03\0\0", 6));
  Result<IdxArray> a = read_idx(dir.file("h.gz"));
  EXPECT_EQ(a.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(a.status(), "truncated")) << a.status().to_string();
}

TEST(IdxReader, CorruptGzipStreamIsDataLossNamingTheFile) {
  ScratchDir dir;
  write_gz(dir.file("ok.gz"), idx_bytes({64, 64}, std::vector<uint8_t>(4096, 3)));
  const std::string gz = read_file(dir.file("ok.gz"));
  // A cut-off gzip stream (a partial download) ...
  write_file(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  Result<IdxArray> cut = read_idx(dir.file("cut.gz"));
  EXPECT_EQ(cut.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(cut.status(), dir.file("cut.gz"))) << cut.status().to_string();
  // ... and flipped bits inside the deflate data or its CRC trailer.
  for (size_t at : {gz.size() / 2, gz.size() - 6}) {
    std::string bad = gz;
    bad[at] = static_cast<char>(bad[at] ^ 0x5A);
    write_file(dir.file("bad.gz"), bad);
    Result<IdxArray> a = read_idx(dir.file("bad.gz"));
    EXPECT_EQ(a.status().code(), ErrorCode::kDataLoss) << "flip at " << at;
    EXPECT_TRUE(mentions(a.status(), dir.file("bad.gz"))) << a.status().to_string();
  }
}

TEST(IdxReader, RejectsBadMagicUnsupportedTypeAndTrailingBytes) {
  ScratchDir dir;
  write_gz(dir.file("magic.gz"), std::string("\x01\x02\x08\x01\0\0\0\0", 8));
  EXPECT_TRUE(mentions(read_idx(dir.file("magic.gz")).status(), "not an IDX file"));
  write_gz(dir.file("float.gz"), std::string("\0\0\x0D\x01\0\0\0\0", 8));
  EXPECT_TRUE(mentions(read_idx(dir.file("float.gz")).status(), "0x0D"));
  write_gz(dir.file("long.gz"), idx_bytes({2}, {1, 2, 3}));
  Result<IdxArray> a = read_idx(dir.file("long.gz"));
  EXPECT_EQ(a.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(a.status(), "unexpected bytes")) << a.status().to_string();
}

TEST(FashionMnist, LoadsPixelsScaledToUnitRangeAndLabels) {
  ScratchDir dir;
  write_tiny_mnist(dir);
  // The real loader insists on 28x28; the pair reader underneath does not.
  Result<Dataset> d = load_idx_pair(dir.file("t10k-images-idx3-ubyte.gz"),
                                    dir.file("t10k-labels-idx1-ubyte.gz"), 10);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->size(), 3);
  EXPECT_EQ(d->dim(), 4);
  EXPECT_FLOAT_EQ(d->features(0, 1), 1.0f);
  EXPECT_FLOAT_EQ(d->features(0, 2), 0.2f);
  EXPECT_EQ(d->labels[1], 9);
  Result<Dataset> real = load_fashion_mnist(dir.file(""), Split::kTest);
  EXPECT_EQ(real.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(real.status(), "28x28")) << real.status().to_string();
}

TEST(FashionMnist, LabelOutsideTheTenClassesNamesTheLabelFile) {
  ScratchDir dir;
  write_tiny_mnist(dir, {0, 10, 4});
  Result<Dataset> d = load_idx_pair(dir.file("t10k-images-idx3-ubyte.gz"),
                                    dir.file("t10k-labels-idx1-ubyte.gz"), 10);
  EXPECT_EQ(d.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(d.status(), "t10k-labels-idx1-ubyte.gz"));
  EXPECT_TRUE(mentions(d.status(), "label 10 of example 1")) << d.status().to_string();
}

TEST(FashionMnist, MismatchedImageAndLabelCountsAreAnError) {
  ScratchDir dir;
  write_tiny_mnist(dir, {0, 1});
  Result<Dataset> d = load_idx_pair(dir.file("t10k-images-idx3-ubyte.gz"),
                                    dir.file("t10k-labels-idx1-ubyte.gz"), 10);
  EXPECT_EQ(d.status().code(), ErrorCode::kDataLoss);
  EXPECT_TRUE(mentions(d.status(), "2 labels")) << d.status().to_string();
}

TEST(FashionMnist, MissingDirectoryNamesTheFileItLookedFor) {
  Result<Dataset> d = load_fashion_mnist("/nonexistent/fmnist", Split::kTrain);
  EXPECT_EQ(d.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(mentions(d.status(), "/nonexistent/fmnist/train-images-idx3-ubyte.gz"))
      << d.status().to_string();
}

CsvOptions target(const std::string& column, Task task = Task::kClassification,
                  int num_classes = 0) {
  return {.target_column = column, .task = task, .num_classes = num_classes};
}

TEST(CsvReader, ReadsHeaderQuotedFieldsAndCrlf) {
  const std::string text = "a,label,\"b\"\r\n1.5,1,-2\r\n\"3\",0,4e1\r\n\r\n";
  Result<Dataset> d = parse_csv(text, "t.csv", target("label"));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->size(), 2);
  EXPECT_EQ(d->feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FLOAT_EQ(d->features(0, 0), 1.5f);
  EXPECT_FLOAT_EQ(d->features(0, 1), -2.0f);
  EXPECT_FLOAT_EQ(d->features(1, 1), 40.0f);
  EXPECT_EQ(d->labels[0], 1);
  EXPECT_EQ(d->num_classes, 2);
}

TEST(CsvReader, ReadsRegressionTargets) {
  ScratchDir dir;
  write_file(dir.file("r.csv"), "x1,x2,y\n1,2,0.5\n3,4,-1.25\n");
  Result<Dataset> d = load_csv(dir.file("r.csv"), target("y", Task::kRegression));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->num_classes, 0);
  EXPECT_FLOAT_EQ(d->targets[1], -1.25f);
  EXPECT_FLOAT_EQ(d->features(1, 0), 3.0f);
}

TEST(CsvReader, RaggedRowNamesFileAndLine) {
  ScratchDir dir;
  write_file(dir.file("ragged.csv"), "a,b,y\n1,2,0\n3,1\n");
  Result<Dataset> d = load_csv(dir.file("ragged.csv"), target("y"));
  EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(mentions(d.status(), dir.file("ragged.csv") + ":3:")) << d.status().to_string();
  EXPECT_TRUE(mentions(d.status(), "expected 3 fields")) << d.status().to_string();
}

TEST(CsvReader, NonNumericOrEmptyCellNamesFileLineAndColumn) {
  ScratchDir dir;
  write_file(dir.file("text.csv"), "a,b,y\n1,2,0\n1,two,1\n");
  Result<Dataset> d = load_csv(dir.file("text.csv"), target("y"));
  EXPECT_TRUE(mentions(d.status(), dir.file("text.csv") + ":3:")) << d.status().to_string();
  EXPECT_TRUE(mentions(d.status(), "'two' in column 'b' is not a number"));
  EXPECT_TRUE(mentions(parse_csv("a,y\n,1\n", "e.csv", target("y")).status(),
                       "e.csv:2: empty cell in column 'a'"));
  EXPECT_TRUE(mentions(parse_csv("a,y\nnan,1\n", "n.csv", target("y")).status(), "not finite"));
}

TEST(CsvReader, UnknownTargetColumnListsTheColumns) {
  Result<Dataset> d = parse_csv("a,b\n1,2\n", "u.csv", target("price"));
  EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(mentions(d.status(), "u.csv: no column named 'price'"));
  EXPECT_TRUE(mentions(d.status(), "(columns: a, b)")) << d.status().to_string();
}

TEST(CsvReader, LabelsOutsideTheClassRangeOrNotIntegersAreErrors) {
  Result<Dataset> d = parse_csv("a,y\n1,0\n2,3\n", "c.csv", target("y", Task::kClassification, 3));
  EXPECT_TRUE(mentions(d.status(), "c.csv:3: class label 3")) << d.status().to_string();
  EXPECT_TRUE(mentions(d.status(), "outside [0, 3)"));
  EXPECT_TRUE(mentions(parse_csv("a,y\n1,0.5\n", "c.csv", target("y")).status(),
                       "not a non-negative integer"));
  EXPECT_TRUE(mentions(parse_csv("a,y\n1,-1\n", "c.csv", target("y")).status(),
                       "not a non-negative integer"));
}

TEST(CsvReader, EmptyFilesAndUnterminatedQuotesAreErrors) {
  EXPECT_TRUE(mentions(parse_csv("", "e.csv", target("y")).status(), "empty file"));
  EXPECT_TRUE(mentions(parse_csv("a,y\n", "e.csv", target("y")).status(), "no data rows"));
  EXPECT_TRUE(mentions(parse_csv("a,y\n\"1,0\n", "q.csv", target("y")).status(),
                       "q.csv:2: unterminated quoted field"));
  EXPECT_EQ(load_csv("/nonexistent.csv", target("y")).status().code(), ErrorCode::kNotFound);
}

TEST(Dataset, ShuffleAndSplitAreDeterministicAndPartitionTheData) {
  Dataset data = testing::make_blobs(101, 3, 4, 1);
  for (int64_t i = 0; i < data.size(); ++i) data.features(i, 0) = static_cast<float>(i);
  Result<DatasetSplit> a = split(data, 0.8, 42);
  Result<DatasetSplit> b = split(data, 0.8, 42);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->first.size(), 81);
  EXPECT_EQ(a->second.size(), 20);
  EXPECT_TRUE(a->first.features == b->first.features);
  std::set<float> ids;
  for (const Dataset* part : {&a->first, &a->second}) {
    for (int64_t i = 0; i < part->size(); ++i) {
      ids.insert(part->features(i, 0));
      // Labels travel with their rows.
      EXPECT_EQ(part->labels[i], data.labels[static_cast<int64_t>(part->features(i, 0))]);
    }
  }
  EXPECT_EQ(ids.size(), 101u);
  Result<DatasetSplit> c = split(data, 0.8, 43);
  EXPECT_FALSE(a->first.features == c->first.features);
  EXPECT_FALSE(split(data, 1.5, 1).ok());
  // The order for a seed is fixed across platforms: pin it.
  EXPECT_EQ(shuffled_indices(5, 7), shuffled_indices(5, 7));
  EXPECT_NE(shuffled_indices(50, 7), shuffled_indices(50, 8));
}

TEST(Dataset, ValidateNamesTheSourceAndTheBadLabel) {
  Dataset data = testing::make_blobs(5, 2, 3, 1);
  data.source = "clients/17";
  data.labels[2] = -1;
  Status s = validate_dataset(data);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "clients/17: label -1 of example 2 is outside [0, 3)")) << s.to_string();
}

TEST(Standardizer, MapsTrainingColumnsToZeroMeanUnitVarianceAndLeavesConstantsFinite) {
  FeatureMatrix x(4, 2);
  x << 1, 5, 2, 5, 3, 5, 4, 5;
  const Standardizer s = fit_standardizer(x);
  EXPECT_FLOAT_EQ(s.mean[0], 2.5f);
  EXPECT_FLOAT_EQ(s.scale[1], 1.0f);  // constant column
  apply_standardizer(s, x);
  EXPECT_NEAR(x.col(0).mean(), 0.0f, 1e-6f);
  EXPECT_NEAR(x.col(0).squaredNorm() / 4, 1.0f, 1e-5f);
  EXPECT_TRUE(x.col(1).isZero());
}

}  // namespace
}  // namespace fl::model
