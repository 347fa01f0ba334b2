// fl-coordinator's offline subcommands as an operator runs them: the built
// binary against a store file, judged by its exit code, what it prints and
// what it leaves in the store.
#include <gtest/gtest.h>
#include <sys/stat.h>

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
#include "coordinator/service/device_certificate.h"
#include "coordinator/service/enrollment.h"
#include "coordinator/store/sqlite_store.h"
#include "crypto/ed25519.h"
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

// A version trained with DP shows its population's ledger up to its round:
// the spend when it was made, and what the population has spent since.
TEST_F(CoordinatorCliTest, ModelsShowPrintsThePrivacyLedgerUpToTheVersion) {
  std::vector<int64_t> trained_versions;
  {
    auto store = SqliteStore::open(db);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    const double epsilons[] = {0.75, 1.5, 3.21};
    for (int i = 0; i < 3; ++i) {
      auto round = (*store)->begin_round({"pop", versions[0], 1000 + i});
      ASSERT_TRUE(round.ok()) << round.status().to_string();
      NewVersion next;
      next.model = kModel;
      next.model_bytes = (*store)->get_version(versions[0])->model_bytes;
      PrivacySpend spend;
      spend.mechanism = "central";
      spend.sampling_rate = 0.05;
      spend.noise_multiplier = 1.3;
      spend.clip = 0.25;
      spend.expected_clients = 50;
      spend.survivors = static_cast<uint64_t>(48 - i);
      spend.epsilon = epsilons[i];
      spend.delta = 1e-5;
      spend.order = 10;
      auto v = (*store)->complete_round(*round, {.selected = 50}, next, 2000 + i, spend);
      ASSERT_TRUE(v.ok()) << v.status().to_string();
      trained_versions.push_back(*v);
    }
  }
  CliResult newest = models("show", {"--version", std::to_string(trained_versions[2])});
  EXPECT_EQ(newest.exit_code, 0) << newest.output;
  EXPECT_NE(newest.output.find("population: pop"), std::string::npos) << newest.output;
  EXPECT_NE(newest.output.find("privacy: epsilon 3.21 at delta 1e-05 after 3 rounds (central)"),
            std::string::npos)
      << newest.output;
  // One table line per round: round, version, mechanism, q, z, C, expected,
  // survivors, bits, modular clips, epsilon.
  const std::regex row(std::to_string(trained_versions[1]) +
                       R"( +central +0\.05 +1\.3 +0\.25 +50 +47 +0 +0 +1\.5\n)");
  EXPECT_TRUE(std::regex_search(newest.output, row)) << newest.output;
  EXPECT_EQ(newest.output.find("since"), std::string::npos) << newest.output;

  CliResult first = models("show", {"--version", std::to_string(trained_versions[0])});
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("privacy: epsilon 0.75 at delta 1e-05 after 1 round (central)"),
            std::string::npos)
      << first.output;
  EXPECT_EQ(first.output.find(" 1.5\n"), std::string::npos) << "a later round is listed";
  EXPECT_NE(first.output.find("privacy of the population since: epsilon 3.21 at delta 1e-05 "
                              "after 3 rounds (central)"),
            std::string::npos)
      << first.output;

  // A version no DP round made shows no privacy section.
  CliResult plain = models("show", {"--version", std::to_string(versions[1])});
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(plain.output.find("privacy"), std::string::npos) << plain.output;
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

// --- devices ---------------------------------------------------------------------

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int file_mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 0777);
}

ClientPublicKey key_of(uint64_t seed) {
  crypto::SeededRng rng(seed, "cli-test-device");
  const auto key = crypto::ed25519_keypair(rng).public_key;
  ClientPublicKey out;
  std::copy(key.begin(), key.end(), out.begin());
  return out;
}

TEST_F(CoordinatorCliTest, DevicesIssueWritesPrivateTokensAndStoresOnlyTheirHashes) {
  const std::string out = (dir / "tokens.txt").string();
  CliResult r =
      run({"devices", "issue", "--db", db, "--count", "3", "--out", out, "--label", "b1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(file_mode(out), 0600);
  const auto tokens = lines_of(out);
  ASSERT_EQ(tokens.size(), 3u);
  auto store = SqliteStore::open(db);
  ASSERT_TRUE(store.ok());
  auto stored = (*store)->list_device_tokens();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 3u);
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto hash = hash_device_token(tokens[i]);
    ASSERT_TRUE(hash.ok()) << tokens[i];
    EXPECT_EQ((*stored)[i].hash, *hash);
    EXPECT_EQ((*stored)[i].label, "b1");
  }
  // Each token enrols one device.
  EXPECT_TRUE((*store)->enroll_with_token(*hash_device_token(tokens[0]), key_of(1), 1, {}).ok());
}

TEST_F(CoordinatorCliTest, DevicesIssueRefusesBadInputAndRecordsNothing) {
  const std::string existing = (dir / "existing.txt").string();
  std::ofstream(existing) << "keep me\n";
  CliResult r = run({"devices", "issue", "--db", db, "--count", "2", "--out", existing});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  EXPECT_EQ(lines_of(existing), std::vector<std::string>{"keep me"});
  r = run({"devices", "issue", "--db", db, "--count", "0", "--out", (dir / "t.txt").string()});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--count"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "t.txt"));
  EXPECT_TRUE((*SqliteStore::open(db))->list_device_tokens()->empty());
}

TEST_F(CoordinatorCliTest, DevicesListAndRevokeByClientAndByTokenHash) {
  const std::string out = (dir / "tokens.txt").string();
  ASSERT_EQ(run({"devices", "issue", "--db", db, "--count", "2", "--out", out}).exit_code, 0);
  const auto tokens = lines_of(out);
  uint64_t client = 0;
  std::string unused_prefix;
  {
    auto store = SqliteStore::open(db);
    ASSERT_TRUE(store.ok());
    auto id = (*store)->enroll_with_token(*hash_device_token(tokens[0]), key_of(1), 1, {});
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    client = *id;
    unused_prefix = crypto::to_hex((*store)->list_device_tokens()->at(1).hash).substr(0, 12);
  }
  CliResult list = run({"devices", "list", "--db", db});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_TRUE(std::regex_search(list.output, std::regex("spent +" + std::to_string(client))))
      << list.output;
  EXPECT_TRUE(std::regex_search(list.output, std::regex(unused_prefix + "[0-9a-f]* +unused")))
      << list.output;

  CliResult by_client = run({"devices", "revoke", "--db", db, "--client", std::to_string(client)});
  ASSERT_EQ(by_client.exit_code, 0) << by_client.output;
  CliResult by_hash = run({"devices", "revoke", "--db", db, "--token-hash", unused_prefix});
  ASSERT_EQ(by_hash.exit_code, 0) << by_hash.output;
  auto store = SqliteStore::open(db);
  EXPECT_TRUE((*store)->find_client(client)->revoked_at_ms.has_value());
  auto tokens_now = (*store)->list_device_tokens();
  ASSERT_TRUE(tokens_now.ok());
  for (const DeviceToken& t : *tokens_now) EXPECT_EQ(t.state(), DeviceTokenState::kRevoked);
  // The revoked unused token no longer enrols.
  EXPECT_EQ(
      (*store)->enroll_with_token(*hash_device_token(tokens[1]), key_of(2), 1, {}).status().code(),
      ErrorCode::kPermissionDenied);
  list = run({"devices", "list", "--db", db});
  EXPECT_EQ(std::regex_search(list.output, std::regex("\n[0-9a-f]+ +(unused|spent) ")), false)
      << list.output;
}

TEST_F(CoordinatorCliTest, DevicesRevokeRefusesBadInput) {
  CliResult r = run({"devices", "revoke", "--db", db, "--client", "424242"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("client 424242 does not exist"), std::string::npos) << r.output;
  r = run({"devices", "revoke", "--db", db, "--token-hash", "zz"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("hex"), std::string::npos) << r.output;
  r = run({"devices", "revoke", "--db", db});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--client or --token-hash"), std::string::npos) << r.output;
}

TEST_F(CoordinatorCliTest, OperatorKeyAndCertifyMakeACertificateTheCoordinatorAccepts) {
  const std::string key = (dir / "operator.key").string();
  CliResult made = run({"devices", "operator-key", "--out", key});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_EQ(file_mode(key), 0600);
  const auto pub_lines = lines_of(key + ".pub");
  ASSERT_EQ(pub_lines.size(), 1u);
  EXPECT_NE(made.output.find(pub_lines[0]), std::string::npos) << made.output;
  crypto::Bytes pub_bytes;
  ASSERT_TRUE(crypto::from_hex(pub_lines[0], pub_bytes));
  crypto::Key32 operator_pub;
  std::copy(pub_bytes.begin(), pub_bytes.end(), operator_pub.begin());
  // Never overwritten: a second run keeps the first key.
  EXPECT_NE(run({"devices", "operator-key", "--out", key}).exit_code, 0);
  EXPECT_EQ(lines_of(key + ".pub"), pub_lines);

  // By public key, and by the device's own identity file (fl-client --identity).
  const ClientPublicKey device = key_of(7);
  const std::string cert = (dir / "device.cert").string();
  CliResult certified =
      run({"devices", "certify", "--operator-key", key, "--identity-public-key",
           crypto::to_hex(device), "--valid-days", "30", "--label", "sn-7", "--out", cert});
  ASSERT_EQ(certified.exit_code, 0) << certified.output;
  std::ifstream in(cert, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  proto::DeviceCertificate parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes.str()));
  crypto::Key32 device_key;
  std::copy(device.begin(), device.end(), device_key.begin());
  EXPECT_TRUE(
      verify_device_certificate(parsed, {operator_pub}, device_key, unix_millis_now()).ok());
  EXPECT_EQ(parsed.label(), "sn-7");
  // Expires in 30 days, not later.
  EXPECT_FALSE(verify_device_certificate(parsed, {operator_pub}, device_key,
                                         unix_millis_now() + int64_t{31} * 24 * 3600 * 1000)
                   .ok());

  crypto::SeededRng rng(8, "cli-test-device");
  const auto pair = crypto::ed25519_keypair(rng);
  const std::string seed_file = (dir / "device.identity").string();
  std::ofstream(seed_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(pair.seed.data()), 32);
  const std::string cert2 = (dir / "device2.cert").string();
  ASSERT_EQ(run({"devices", "certify", "--operator-key", key, "--identity-file", seed_file, "--out",
                 cert2})
                .exit_code,
            0);
  std::ifstream in2(cert2, std::ios::binary);
  std::stringstream bytes2;
  bytes2 << in2.rdbuf();
  ASSERT_TRUE(parsed.ParseFromString(bytes2.str()));
  EXPECT_TRUE(
      verify_device_certificate(parsed, {operator_pub}, pair.public_key, unix_millis_now()).ok());
}

TEST_F(CoordinatorCliTest, CertifyRefusesBadInputNamingTheOption) {
  const std::string key = (dir / "operator.key").string();
  ASSERT_EQ(run({"devices", "operator-key", "--out", key}).exit_code, 0);
  const std::string cert = (dir / "c.cert").string();
  CliResult r = run({"devices", "certify", "--operator-key", key, "--identity-public-key", "abcd",
                     "--out", cert});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--identity-public-key"), std::string::npos) << r.output;
  r = run({"devices", "certify", "--operator-key", key + ".pub", "--identity-public-key",
           std::string(64, 'a'), "--out", cert});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--operator-key"), std::string::npos) << r.output;
  r = run({"devices", "certify", "--operator-key", key, "--out", cert});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--identity-public-key or --identity-file"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(cert));
}

TEST_F(CoordinatorCliTest, OpenEnrollmentIsWarnedAboutAtStart) {
  const std::string config = (dir / "open.yaml").string();
  std::ofstream(config) << "listen: {address: 127.0.0.1, port: 0}\n"
                        << "store: {path: " << (dir / "open.db").string() << "}\n"
                        << "admin_token: cli-test-admin-token-0123\n"
                        << "enrollment: {mode: open}\n"
                        << "logging: {format: json}\n"
                        << "population:\n"
                        << "  name: pop\n"
                        << "  model: {name: other, kind: softmax, input_dim: 4, classes: 3}\n"
                        << "  cohort_size: 3\n"
                        << "  min_cohort: 3\n"
                        << "  allow_small_cohorts: true\n"
                        << "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n";
  testing::Process coordinator(FL_COORDINATOR_BIN, {"--config", config},
                               (dir / "open.log").string());
  ASSERT_TRUE(coordinator.wait_for("listening on", std::chrono::seconds(20)).has_value())
      << coordinator.log();
  const std::string log = coordinator.log();
  // One JSON line: the event, at level warning.
  EXPECT_TRUE(std::regex_search(
      log, std::regex(R"re(\{[^\n]*"event":"enrollment_open"[^\n]*"level":"warning")re")))
      << log;
  EXPECT_NE(log.find("stuff cohorts"), std::string::npos) << log;
  coordinator.signal(SIGTERM);
  EXPECT_TRUE(coordinator.wait_exit(std::chrono::seconds(10)).has_value());
}

}  // namespace
}  // namespace fl::coordinator
