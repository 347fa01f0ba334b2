// fl-coordinator's offline subcommands as an operator runs them: the built
// binary against a store file, judged by its exit code, what it prints and
// what it leaves in the store.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client_sdk/transport/http_client.h"
#include "coordinator/registry/registry.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/store/sqlite_store.h"
#include "model/model.h"
#include "model/predict.h"
#include "model/serialization.h"
#include "tests/integration/process.h"

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kModel[] = "tiny";

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

class CoordinatorCliTest : public ::testing::Test {
 protected:
  // A store holding three versions of `tiny`: 1 published ("initial"), 2 and
  // 3 candidates, each an MLP from another seed.
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("fl-cli-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "fl.db").string();
    auto store = SqliteStore::open(db);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto registry = Registry::create(**store, RegistryOptions{});
    ASSERT_TRUE(registry.ok()) << registry.status().to_string();
    for (uint64_t seed : {1, 2, 3}) {
      auto m = model::create_model(model::ModelSpec::mlp(4, 3, {5}), seed);
      ASSERT_TRUE(m.ok()) << m.status().to_string();
      auto bytes = model::save_model(*m);
      ASSERT_TRUE(bytes.ok());
      NewVersion v;
      v.model = kModel;
      if (!versions.empty()) v.parent_id = versions.front();
      v.created_at_ms = unix_millis_now();
      v.model_bytes = *bytes;
      auto id = (*store)->add_version(v);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      versions.push_back(*id);
      trained.push_back(std::move(*m));
    }
    ASSERT_TRUE((*registry)->publish(kModel, versions[0], "initial", unix_millis_now()).ok());
  }
  void TearDown() override { fs::remove_all(dir); }

  CliResult run(const std::vector<std::string>& args) {
    const std::string log = (dir / ("run-" + std::to_string(runs++) + ".log")).string();
    testing::Process p(FL_COORDINATOR_BIN, args, log);
    CliResult r;
    auto code = p.wait_exit(std::chrono::seconds(30));
    EXPECT_TRUE(code.has_value()) << "fl-coordinator did not exit: " << p.log();
    r.exit_code = code.value_or(-1);
    r.output = p.log();
    return r;
  }
  CliResult models(const std::string& action, std::vector<std::string> extra) {
    std::vector<std::string> args = {"models", action, "--db", db};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }

  // Stage per version id from `models list`.
  std::map<int64_t, std::string> listed_stages() {
    CliResult r = models("list", {"--model", kModel});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::map<int64_t, std::string> out;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string id, stage;
      words >> id >> stage;
      if (!id.empty() && std::all_of(id.begin(), id.end(), ::isdigit)) out[std::stoll(id)] = stage;
    }
    return out;
  }

  int64_t published_in_store() {
    auto store = SqliteStore::open(db);
    EXPECT_TRUE(store.ok());
    auto v = (*store)->latest_version(kModel, VersionStage::kPublished);
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    return v.ok() ? v->id : -1;
  }

  fs::path dir;
  std::string db;
  std::vector<int64_t> versions;
  std::vector<model::Model> trained;
  int runs = 0;
};

TEST_F(CoordinatorCliTest, ModelsListPrintsEveryVersionWithItsStage) {
  const auto stages = listed_stages();
  EXPECT_EQ(stages, (std::map<int64_t, std::string>{{versions[0], "published"},
                                                    {versions[1], "candidate"},
                                                    {versions[2], "candidate"}}));
}

TEST_F(CoordinatorCliTest, ModelsShowDescribesOneVersion) {
  CliResult r = models("show", {"--version", std::to_string(versions[1])});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("version " + std::to_string(versions[1]) + " of tiny"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("stage: candidate"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("parent: " + std::to_string(versions[0])), std::string::npos) << r.output;
}

TEST_F(CoordinatorCliTest, PublishingAnUnknownVersionFailsNamingIt) {
  CliResult r = models("publish", {"--model", kModel, "--version", "99"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("99"), std::string::npos) << r.output;
  EXPECT_EQ(published_in_store(), versions[0]);
}

TEST_F(CoordinatorCliTest, PublishThenRollbackIsRecordedAsTheCli) {
  CliResult publish =
      models("publish", {"--model", kModel, "--version", std::to_string(versions[2])});
  ASSERT_EQ(publish.exit_code, 0) << publish.output;
  EXPECT_EQ(published_in_store(), versions[2]);
  EXPECT_EQ(listed_stages()[versions[2]], "published");

  CliResult back = models("rollback", {"--model", kModel});
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_NE(back.output.find("rolled tiny back to version " + std::to_string(versions[0])),
            std::string::npos)
      << back.output;
  EXPECT_EQ(published_in_store(), versions[0]);

  CliResult history = models("history", {"--model", kModel});
  ASSERT_EQ(history.exit_code, 0) << history.output;
  std::istringstream in(history.output);
  std::string newest;
  std::getline(in, newest);
  EXPECT_NE(newest.find("version " + std::to_string(versions[0]) + " published (rollback by cli)"),
            std::string::npos)
      << history.output;
  EXPECT_NE(history.output.find("(manual by cli)"), std::string::npos) << history.output;
}

TEST_F(CoordinatorCliTest, RollbackWithNothingEarlierFails) {
  CliResult r = models("rollback", {"--model", kModel});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("fl-coordinator models rollback"), std::string::npos) << r.output;
  EXPECT_EQ(published_in_store(), versions[0]);
}

TEST_F(CoordinatorCliTest, PredictWritesOnePredictionPerRow) {
  const std::vector<std::vector<float>> rows = {
      {0.5f, -1.0f, 2.0f, 0.25f}, {-3.0f, 0.0f, 1.5f, 4.0f}, {1.0f, 1.0f, 1.0f, 1.0f}};
  const fs::path input = dir / "rows.csv", output = dir / "predictions.csv";
  {
    std::ofstream csv(input);
    csv << "f0,f1,f2,f3\n";
    for (const auto& row : rows)
      csv << row[0] << ',' << row[1] << ',' << row[2] << ',' << row[3] << '\n';
  }
  CliResult r = run({"predict", "--db", db, "--model", kModel, "--input", input.string(),
                     "--output", output.string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  model::FeatureMatrix x(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) x(i, j) = rows[i][j];
  auto want = model::predict_proba(trained[0], x);  // the published version
  ASSERT_TRUE(want.ok());
  std::ifstream in(output);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "row,class,p0,p1,p2");
  int row = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(row, 3) << "more lines than rows: " << line;
    std::vector<std::string> cells;
    std::istringstream cs(line);
    for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 5u) << line;
    EXPECT_EQ(std::stoi(cells[0]), row);
    Eigen::Index best = 0;
    want->row(row).maxCoeff(&best);
    EXPECT_EQ(std::stoi(cells[1]), best) << line;
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(std::stof(cells[2 + k]), (*want)(row, k), 1e-6) << line;
    ++row;
  }
  EXPECT_EQ(row, 3);
}

TEST_F(CoordinatorCliTest, PredictWithAWrongShapedCsvFailsNamingTheLine) {
  const fs::path input = dir / "rows.csv", output = dir / "predictions.csv";
  std::ofstream(input) << "f0,f1,f2,f3\n1,2,3,4\n1,2,3\n";
  CliResult r = run({"predict", "--db", db, "--model", kModel, "--input", input.string(),
                     "--output", output.string()});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(input.string() + ":3"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(output)) << "a failed run must not leave a predictions file";
}

TEST_F(CoordinatorCliTest, ServeAnswersPredictionsAndStopsOnSigterm) {
  testing::Process serve(FL_COORDINATOR_BIN,
                         {"serve", "--db", db, "--model", kModel, "--port", "0"},
                         (dir / "serve.log").string());
  auto line = serve.wait_for("listening on", std::chrono::seconds(20));
  ASSERT_TRUE(line.has_value()) << serve.log();
  std::smatch port_match;
  ASSERT_TRUE(std::regex_search(*line, port_match, std::regex(R"(:(\d+)\s*$)"))) << *line;
  const int port = std::stoi(port_match[1]);
  ASSERT_GT(port, 0) << *line;

  transport::HttpClientOptions o;
  o.port = static_cast<uint16_t>(port);
  auto client = transport::HttpClient::create(o);
  ASSERT_TRUE(client.ok());
  auto status = client->send("GET", "/v1/models/tiny");
  ASSERT_TRUE(status.ok()) << status.status().to_string();
  EXPECT_EQ(status->status, 200) << status->body;
  EXPECT_EQ(json::parse(status->body)["model_version_status"][0]["version"],
            std::to_string(versions[0]));
  auto r = client->send("POST", "/v1/models/tiny:predict",
                        R"({"instances": [[0.5, -1.0, 2.0, 0.25]]})", "application/json");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->status, 200) << r->body;
  const json predictions = json::parse(r->body)["predictions"];
  ASSERT_EQ(predictions.size(), 1u) << r->body;
  EXPECT_EQ(predictions[0]["probabilities"].size(), 3u) << r->body;
  auto ready = client->send("GET", "/v2/health/ready");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 200);

  // A publish by the CLI while it serves is answered within a couple of seconds.
  CliResult publish =
      models("publish", {"--model", kModel, "--version", std::to_string(versions[1])});
  ASSERT_EQ(publish.exit_code, 0) << publish.output;
  std::string served;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
       std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    auto s = client->send("GET", "/v1/models/tiny");
    ASSERT_TRUE(s.ok());
    served = json::parse(s->body)["model_version_status"][0]["version"];
    if (served == std::to_string(versions[1])) break;
  }
  EXPECT_EQ(served, std::to_string(versions[1])) << serve.log();
  client->close();

  serve.signal(SIGTERM);
  auto code = serve.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "serve did not stop on SIGTERM: " << serve.log();
  EXPECT_EQ(*code, 0) << serve.log();
}

}  // namespace
}  // namespace fl::coordinator
