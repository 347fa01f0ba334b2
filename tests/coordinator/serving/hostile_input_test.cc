// Hostile requests against both prediction APIs over a real HttpServer:
// bodies nested 100,000 levels deep, names and bodies with huge or invalid
// UTF-8 text, floods of random model names, and inputs the model overflows
// on. Each answers a clear 4xx with a JSON body, and the server keeps serving.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "coordinator/http/response.h"
#include "coordinator/metrics/coordinator_metrics.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/metrics/text_exposition.h"
#include "coordinator/serving/bounded_json.h"
#include "model/predict.h"
#include "tests/coordinator/serving/serving_test_support.h"

namespace fl::serving {
namespace {

using nlohmann::json;
using testing::fashion_mlp;
using testing::JsonClient;
using testing::JsonReply;
using testing::pixel_rows;

// 100,000 levels: the ~200 KB body that crashed the coordinator.
constexpr int kDeep = 100'000;

std::string deep_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string deep_objects(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += "{\"a\":";
  out += '1';
  out += std::string(depth, '}');
  return out;
}

// [0,0,...] with n zeros.
std::string zeros(int n) {
  std::string out = "[0";
  for (int i = 1; i < n; ++i) out += ",0";
  return out + "]";
}

std::string kserve_body(const std::string& shape, const std::string& data,
                        const std::string& extra = "") {
  return R"({"inputs": [{"name": "inputs", "datatype": "FP32", "shape": )" + shape +
         R"(, "data": )" + data + "}]" + extra + "}";
}

// The longest error body a hostile request may get back: a message quotes at
// most http::kMaxEchoBytes of input per item; escaping can grow a few bytes.
constexpr size_t kMaxErrorBody = 600;

class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_ = std::make_shared<ServedModels>(std::vector<std::string>{"fashion", "house"});
    ASSERT_TRUE(models_->publish("fashion", 1, fashion_mlp(3)).ok());
    ASSERT_TRUE(models_->publish("house", 1, testing::small_regressor(4)).ok());
    Result<std::unique_ptr<metrics::CoordinatorMetrics>> created =
        metrics::CoordinatorMetrics::create(registry_, {.process_metrics = false});
    ASSERT_TRUE(created.ok()) << created.status().to_string();
    metrics_ = std::move(created).value();
    ServingRouteOptions options;
    options.max_batch_rows = 8;
    // The service's wiring (coordinator_service.cc): the observer's model is
    // a label of fl_prediction_requests_total.
    options.observer = [m = metrics_.get()](std::string_view api, std::string_view model,
                                            int status, double seconds) {
      m->observe_prediction(api, model, status, seconds);
    };
    served_ = testing::start_serving(models_, options);
    client_ = std::make_unique<JsonClient>(served_.port());
  }

  // A 4xx whose body is a JSON object {"error": "..."} containing
  // `message_part`, no longer than kMaxErrorBody; then a good request
  // still answers 200.
  void expect_refused(const JsonReply& reply, int status, const std::string& message_part) {
    EXPECT_EQ(reply.status, status) << reply.text.substr(0, 300);
    ASSERT_TRUE(reply.body.is_object() && reply.body.contains("error"))
        << "not JSON: " << reply.text.substr(0, 300);
    EXPECT_NE(reply.body["error"].get<std::string>().find(message_part), std::string::npos)
        << reply.text;
    EXPECT_LE(reply.text.size(), kMaxErrorBody) << reply.text;
    expect_still_serving();
  }

  void expect_still_serving() {
    const JsonReply good =
        client_->post("/v1/models/fashion:predict", testing::instances_body(pixel_rows(1, 784, 9)));
    EXPECT_EQ(good.status, 200) << good.text.substr(0, 300);
  }

  metrics::Registry registry_;
  std::unique_ptr<metrics::CoordinatorMetrics> metrics_;
  std::shared_ptr<ServedModels> models_;
  testing::ServingServer served_;
  std::unique_ptr<JsonClient> client_;
};

// --- 1. Nesting depth ------------------------------------------------------

TEST(BoundedJson, CountsOnlyBracketsOutsideStrings) {
  EXPECT_TRUE(check_json_depth(R"({"a": [[1]], "b": "[[[[[[[[", "c": "\"[[[[\\"})", 3).ok());
  EXPECT_FALSE(check_json_depth(R"({"a": [[[1]]]})", 3).ok());
  EXPECT_TRUE(check_json_depth("[[]] [[]] [[]]", 2).ok());                      // depth, not count
  EXPECT_FALSE(check_json_depth(std::string(kDeep, '['), kMaxJsonDepth).ok());  // unclosed
  EXPECT_TRUE(check_json_depth(deep_arrays(kMaxJsonDepth), kMaxJsonDepth).ok());
  EXPECT_FALSE(check_json_depth(deep_arrays(kMaxJsonDepth + 1), kMaxJsonDepth).ok());
  // Closers before openers cannot buy depth back.
  EXPECT_FALSE(check_json_depth("]]]]" + deep_arrays(5), 4).ok());
}

// The attack, against the parser without the limit: a dump of the tree (as
// error messages did) recurses once per level and overflows the stack.
TEST(BoundedJsonDeathTest, WithoutTheLimitADeepTreeCrashesTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // Deeper than kDeep so that even small stack frames overflow 8 MiB.
  const std::string deep = deep_arrays(300'000);
  EXPECT_DEATH(
      {
        Result<json> tree = parse_bounded_json(deep, std::numeric_limits<int>::max());
        if (tree.ok()) (void)tree->dump();
      },
      "");
  const Result<json> bounded = parse_bounded_json(deep);
  ASSERT_FALSE(bounded.ok());
  EXPECT_NE(bounded.status().message().find("64 levels deep"), std::string::npos);
}

TEST_F(HostileInputTest, BodiesNested100000DeepAre400AndTheServerKeepsServing) {
  const std::string arrays = deep_arrays(kDeep);
  const std::string objects = deep_objects(kDeep);
  struct Case {
    std::string target;
    std::string body;
  };
  const Case cases[] = {
      {"/v1/models/fashion:predict", R"({"instances": )" + arrays + "}"},
      {"/v1/models/fashion:predict", R"({"instances": [)" + objects + "]}"},
      {"/v1/models/fashion:predict", R"({"inputs": )" + arrays + "}"},
      {"/v1/models/fashion:predict", R"({"inputs": {"inputs": )" + arrays + "}}"},
      {"/v1/models/fashion:predict", R"({"signature_name": )" + objects + "}"},
      {"/v1/models/fashion:predict", std::string(kDeep, '[')},  // never closed
      {"/v2/models/fashion/infer", kserve_body(arrays, "[1]")},
      {"/v2/models/fashion/infer", kserve_body("[1, 784]", arrays)},
      {"/v2/models/fashion/infer", kserve_body("[1, 784]", objects)},
      {"/v2/models/fashion/infer", kserve_body("[1, 784]", "[1]", R"(, "parameters": )" + objects)},
      {"/v2/models/fashion/infer", kserve_body("[1, 784]", "[1]", R"(, "outputs": )" + arrays)},
      {"/v2/models/fashion/versions/1/infer", std::string(kDeep, '{')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.body.substr(0, 60));
    ASSERT_LT(c.body.size(), size_t{800'000});
    expect_refused(client_->post(c.target, c.body), 400, "64 levels deep");
  }
}

// --- 2. Error bodies -------------------------------------------------------

TEST(ErrorBody, IsValidJsonAndBoundedWhateverTheMessageHolds) {
  const std::string invalid = "\xff\xfe\xc0\xaf\xed\xa0\x80 \xf4\x90\x80\x80 ok \xe2\x82";
  for (const std::string& message :
       {invalid, std::string(100'000, 'x'), std::string(50'000, '\x01'), invalid + "\"\\\n"}) {
    const http::Response response = http::json_error(400, "bad: " + message);
    const json body = json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response.body.substr(0, 200);
    EXPECT_LE(response.body.size(), 6 * http::kMaxErrorMessageBytes + 16);
    EXPECT_EQ(body["error"].get<std::string>().rfind("bad: ", 0), 0u);
  }
  // Valid multi-byte text passes through; invalid bytes become U+FFFD.
  EXPECT_EQ(http::excerpt("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(http::excerpt("a\xff"
                          "b"),
            "a\xef\xbf\xbd"
            "b");
  // Cut at a character boundary, marked.
  const std::string cut = http::excerpt(std::string(100, '\xc3') + "", 8);
  EXPECT_EQ(cut, "\xef\xbf\xbd\xef\xbf\xbd...");
  EXPECT_EQ(http::excerpt(std::string(40, 'e') + "\xc3\xa9" + std::string(40, 'e'), 41),
            std::string(40, 'e') + "...");
}

TEST_F(HostileInputTest, HugeAndInvalidUtf8NamesGetShortJsonErrors) {
  const std::string huge(10'000, 'm');
  const std::string invalid = "%FF%FE%C0%AF%ED%A0%80";
  expect_refused(client_->get("/v1/models/" + huge), 404, "not served here");
  expect_refused(client_->get("/v1/models/" + invalid), 404, "not served here");
  expect_refused(client_->get("/v2/models/" + invalid + "/ready"), 404, "not served here");
  expect_refused(client_->get("/v2/models/" + huge + "/ready"), 404, "not served here");
  expect_refused(client_->post("/v1/models/" + invalid + huge + ":predict", "{}"), 404,
                 "not served here");
  expect_refused(client_->post("/v2/models/" + huge + invalid + "/infer", "{}"), 404,
                 "not served here");
  expect_refused(client_->get("/v1/models/fashion/versions/" + invalid + huge), 400,
                 "not a positive integer");
  // Raw (not percent-encoded) bytes >= 0x80 in the target.
  expect_refused(client_->get("/v1/models/\xff\xfe" + huge), 404, "not served here");
}

TEST_F(HostileInputTest, BodiesQuotingHugeOrInvalidTextGetShortJsonErrors) {
  const std::string huge_text(100'000, 'x');
  const std::string invalid = "\xff\xfe\xc0\xaf";
  std::string many_keys = R"({"inputs": {)";
  for (int i = 0; i < 5'000; ++i) many_keys += (i ? ",\"" : "\"") + std::to_string(i) + "\":[1]";
  many_keys += "}}";
  std::string huge_shape = "[";
  for (int i = 0; i < 50'000; ++i) huge_shape += (i ? ",7" : "7");
  huge_shape += "]";
  struct Case {
    std::string target;
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      {":predict", R"({"instances": [[")" + invalid + huge_text + "\"]]}", "malformed JSON"},
      {":predict", R"({"instances": [[)" + huge_text + "]]}", "malformed JSON"},
      {":predict", R"({"signature_name": ")" + huge_text + R"(", "instances": [[1]]})",
       "not found"},
      {":predict", many_keys, "names input(s)"},
      {":predict", R"({"instances": [[1e99999]]})", "malformed JSON"},
      {"/infer", kserve_body("[1, 784]", "[1]").insert(1, "\"id\": \"" + invalid + "\", "),
       "malformed JSON"},
      {"/infer", kserve_body(huge_shape, "[1]"), "does not fit"},
      {"/infer",
       std::string(R"({"inputs": [{"name": "inputs", "datatype": ")") + huge_text +
           R"(", "shape": [1, 784], "data": [1]}]})",
       "unknown datatype"},
      {"/infer",
       kserve_body("[1, 784]", zeros(784), R"(, "outputs": [{"name": ")" + huge_text + "\"}]"),
       "unknown output"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.message);
    const std::string target =
        c.target == ":predict" ? "/v1/models/fashion:predict" : "/v2/models/fashion/infer";
    expect_refused(client_->post(target, c.body), 400, c.message);
  }
}

// --- 3. Metric label cardinality ------------------------------------------

TEST_F(HostileInputTest, RandomModelNamesShareOneLabelSoTheSeriesCountStaysConstant) {
  const metrics::CounterFamily& requests = *metrics_->families().prediction_requests;
  const std::string good = testing::instances_body(pixel_rows(1, 784, 1));
  ASSERT_EQ(client_->post("/v1/models/fashion:predict", good).status, 200);
  ASSERT_EQ(client_->post("/v1/models/nobody:predict", good).status, 404);
  ASSERT_EQ(client_->post("/v2/models/nobody/infer", "{}").status, 404);
  ASSERT_EQ(client_->get("/v1/models/nobody").status, 404);
  const size_t series_before = requests.size();

  std::mt19937_64 rng(7);
  for (int i = 0; i < 2'000; ++i) {
    std::string name = "m";  // appended: GCC 12 warns falsely (-Wrestrict) on "m" + string
    name += std::to_string(rng());
    if (i % 4 == 0) name += "%FF%00";
    switch (i % 3) {
      case 0:
        ASSERT_EQ(client_->post("/v1/models/" + name + ":predict", good).status, 404);
        break;
      case 1:
        ASSERT_EQ(client_->post("/v2/models/" + name + "/infer", "{}").status, 404);
        break;
      default:
        ASSERT_EQ(client_->get("/v1/models/" + name + "/metadata").status, 404);
        break;
    }
  }
  EXPECT_EQ(requests.size(), series_before);
  // The unknown names were counted, under one value.
  const std::string exposition = metrics::render_text(registry_.collect());
  EXPECT_NE(exposition.find(R"(model="_unknown")"), std::string::npos);
  EXPECT_EQ(exposition.find(R"(model="m)"), std::string::npos);
}

// --- 4. Non-finite inputs and outputs -------------------------------------

// 3e38 is a finite float32, but a layer over 784 of them overflows.
model::FeatureMatrix overflowing_rows(int64_t n, int d) {
  return model::FeatureMatrix::Constant(n, d, 3e38f);
}

TEST_F(HostileInputTest, InputsTheModelOverflowsOnAre422NamingTheRowNeverAClass) {
  model::FeatureMatrix rows = pixel_rows(3, 784, 11);
  rows.row(1) = overflowing_rows(1, 784);
  // The control: the model itself has no finite answer for row 1, and today's
  // answer would carry a class chosen from NaNs.
  Result<Eigen::MatrixXf> p = model::predict_proba(models_->published("fashion")->model, rows);
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE(p->row(1).allFinite());
  ASSERT_TRUE(p->row(0).allFinite());

  expect_refused(client_->post("/v1/models/fashion:predict", testing::instances_body(rows)), 422,
                 "output for row 1 is not finite");
  expect_refused(client_->post("/v1/models/fashion:predict", testing::inputs_body(rows)), 422,
                 "output for row 1 is not finite");
  expect_refused(client_->post("/v2/models/fashion/infer",
                               kserve_body("[3, 784]", testing::rows_json(rows).dump())),
                 422, "output for row 1 is not finite");
  // A regressor's single value, too.
  const std::string house = testing::instances_body(overflowing_rows(2, 8));
  expect_refused(client_->post("/v1/models/house:predict", house), 422,
                 "output for row 0 is not finite");
}

TEST_F(HostileInputTest, NonFiniteInputsAre400NamingRowAndColumn) {
  std::string row = "[";
  for (int j = 0; j < 784; ++j) row += j ? ",0.5" : "0.5";
  row += "]";
  std::string bad_row = row;
  bad_row.replace(bad_row.find("0.5,0.5,0.5"), 3, "1e39");  // column 0
  expect_refused(
      client_->post("/v1/models/fashion:predict", "{\"instances\": [" + row + "," + bad_row + "]}"),
      400, "instances[1][0] = 1e+39 is outside the float32 range");
  expect_refused(
      client_->post("/v1/models/fashion:predict", "{\"inputs\": [" + row + "," + bad_row + "]}"),
      400, "inputs[1][0]");
  // KServe flat data: element 785 is row 1, column 1.
  std::string flat = row.substr(0, row.size() - 1) + ",0.5,-1e39" + row.substr(8);
  expect_refused(client_->post("/v2/models/fashion/infer", kserve_body("[2, 784]", flat)), 400,
                 "(row 1, column 1)");
  expect_refused(client_->post("/v2/models/fashion/infer",
                               kserve_body("[2, 784]", "[" + row + "," + bad_row + "]")),
                 400, "data[1][0]");
}

}  // namespace
}  // namespace fl::serving
