// The privacy ledger where an operator looks (issue 11): the admin API and
// /metrics of a running coordinator, answered from the store's ledger, so
// they hold across a restart. Ledger rows are written through the real
// store (SQLite) as the round engine writes them: complete_round with a
// PrivacySpend.
#include "coordinator/service/privacy_ledger_view.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "client_sdk/transport/http_client.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/store/sqlite_store.h"

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kAdmin[] = "privacy-view-test-admin-token";

std::string config_yaml(const std::string& db) {
  return std::string("listen: {address: 127.0.0.1, port: 0, io_threads: 2}\n") +
         "store: {path: " + db + "}\n" + "admin_token: " + kAdmin + "\n" +
         "population:\n"
         "  name: pop\n"
         "  model: {name: tiny, kind: softmax, input_dim: 4, classes: 3}\n"
         "  rounds: 2\n"
         "  cohort_size: 3\n"
         "  min_cohort: 3\n"
         "  allow_small_cohorts: true\n"
         "  deadlines_ms: {selection: 60000}\n"
         "  training: {epochs: 1, batch_size: 4, learning_rate: 0.1}\n"
         "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n";
}

PrivacySpend spend(double epsilon, uint64_t survivors) {
  PrivacySpend p;
  p.mechanism = "distributed";
  p.sampling_rate = 0.01;
  p.noise_multiplier = 1.1;
  p.clip = 0.5;
  p.expected_clients = 100;
  p.survivors = survivors;
  p.bits = 16;
  p.modular_clips = 3;
  p.epsilon = epsilon;
  p.delta = 1e-5;
  p.order = 8;
  return p;
}

class PrivacyLedgerViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("fl-privacy-view-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "fl.db").string();
    start();  // creates the store and the initial version
  }
  void TearDown() override {
    stop();
    fs::remove_all(dir);
  }

  void start() {
    auto c = parse_config(config_yaml(db), "test.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    auto s = CoordinatorService::create(*c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    service = std::move(*s);
    ASSERT_TRUE(service->start().ok());
  }
  void stop() {
    if (service) service->stop();
    service.reset();
  }

  // Completes one round of `population` per epsilon, each with its ledger
  // row, while the coordinator is down; returns the versions.
  std::vector<int64_t> add_rounds(const std::string& population,
                                  const std::vector<double>& epsilons) {
    stop();
    auto store = SqliteStore::open(db);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    auto base = (*store)->latest_version("tiny", VersionStage::kPublished);
    EXPECT_TRUE(base.ok()) << base.status().to_string();
    std::vector<int64_t> versions;
    uint64_t survivors = 97;
    for (double epsilon : epsilons) {
      auto round = (*store)->begin_round({population, base->id, 1000});
      EXPECT_TRUE(round.ok()) << round.status().to_string();
      NewVersion next;
      next.model = "tiny";
      next.model_bytes = base->model_bytes;
      next.created_at_ms = 2000;
      const StageCounts counts{.selected = 100,
                               .advertised = survivors,
                               .shared_keys = survivors,
                               .masked_input = survivors,
                               .unmasked = survivors};
      auto v = (*store)->complete_round(*round, counts, next, 2000, spend(epsilon, survivors--));
      if (!v.ok()) {
        ADD_FAILURE() << v.status().to_string();
        break;
      }
      versions.push_back(*v);
    }
    store->reset();
    start();
    return versions;
  }

  transport::HttpResponse get(const std::string& target, bool admin = true) {
    transport::HttpClientOptions o;
    o.port = service->port();
    auto c = transport::HttpClient::create(o, nullptr);
    EXPECT_TRUE(c.ok());
    transport::HeaderList headers;
    if (admin) headers.emplace_back("Authorization", std::string("Bearer ") + kAdmin);
    auto r = c->send("GET", target, "", "", headers);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : transport::HttpResponse{};
  }

  fs::path dir;
  std::string db;
  std::unique_ptr<CoordinatorService> service;
};

TEST_F(PrivacyLedgerViewTest, AdminApiAnswersTheLedgerInRoundOrderWithItsTotal) {
  const auto versions = add_rounds("pop", {0.5, 1.25, 2.5});
  auto r = get("/v1/admin/populations/pop/privacy");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["population"], "pop");
  EXPECT_EQ(j["epsilon"], 2.5);
  EXPECT_EQ(j["delta"], 1e-5);
  EXPECT_EQ(j["mechanism"], "distributed");
  EXPECT_EQ(j["rounds"], 3);
  ASSERT_EQ(j["ledger"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(j["ledger"][i]["version"], versions[i]);
  EXPECT_LT(j["ledger"][0]["round"], j["ledger"][1]["round"]);
  const json& last = j["ledger"][2];
  EXPECT_EQ(last["epsilon"], 2.5);
  EXPECT_EQ(last["survivors"], 95);  // dropouts are visible per round
  EXPECT_EQ(last["expected_clients"], 100);
  EXPECT_EQ(last["sampling_rate"], 0.01);
  EXPECT_EQ(last["noise_multiplier"], 1.1);
  EXPECT_EQ(last["clip"], 0.5);
  EXPECT_EQ(last["bits"], 16);
  EXPECT_EQ(last["modular_clips"], 3);
}

TEST_F(PrivacyLedgerViewTest, LimitKeepsTheNewestRowsAndTheWholeTotal) {
  add_rounds("pop", {0.5, 1.25, 2.5});
  auto r = get("/v1/admin/populations/pop/privacy?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["rounds"], 3);
  EXPECT_EQ(j["epsilon"], 2.5);
  ASSERT_EQ(j["ledger"].size(), 2u);
  EXPECT_EQ(j["ledger"][0]["epsilon"], 1.25);
  EXPECT_EQ(j["ledger"][1]["epsilon"], 2.5);
  auto totals_only = json::parse(get("/v1/admin/populations/pop/privacy?limit=0").body);
  EXPECT_EQ(totals_only["rounds"], 3);
  EXPECT_EQ(totals_only["epsilon"], 2.5);
  EXPECT_TRUE(totals_only["ledger"].empty());
}

TEST_F(PrivacyLedgerViewTest, BadLimitIs400NamingTheParameter) {
  for (const char* bad : {"abc", "-1", "10001", "1.5", ""}) {
    auto r = get(std::string("/v1/admin/populations/pop/privacy?limit=") + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_NE(r.body.find("limit must be a whole number from 0 to 10000"), std::string::npos)
        << r.body;
  }
}

TEST_F(PrivacyLedgerViewTest, UnknownPopulationIs404AndAnotherPopulationsLedgerIsFound) {
  add_rounds("hospitals/readmission", {4.0});
  auto unknown = get("/v1/admin/populations/nobody/privacy");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(unknown.body.find("'nobody'"), std::string::npos) << unknown.body;
  // A population name holding a slash is percent-encoded in the path.
  auto other = get("/v1/admin/populations/hospitals%2Freadmission/privacy");
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(json::parse(other.body)["epsilon"], 4.0);
}

TEST_F(PrivacyLedgerViewTest, ThePopulationRunWithoutDpHasAnEmptyLedgerAndNoBound) {
  auto r = get("/v1/admin/populations/pop/privacy");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["rounds"], 0);
  EXPECT_TRUE(j["epsilon"].is_null());
  EXPECT_TRUE(j["ledger"].empty());
}

TEST_F(PrivacyLedgerViewTest, LedgerNeedsTheAdminToken) {
  add_rounds("pop", {0.5});
  auto r = get("/v1/admin/populations/pop/privacy", /*admin=*/false);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.body.find("epsilon"), std::string::npos) << r.body;
}

TEST_F(PrivacyLedgerViewTest, MetricsExportTheSpendReadFromTheStoreAfterARestart) {
  EXPECT_EQ(service->metrics_text().find("fl_dp_epsilon_spent{"), std::string::npos)
      << "no ledger, no series";
  add_rounds("pop", {0.5, 1.25, 2.5});  // restarts the coordinator
  const std::string text = get("/metrics", false).body;
  EXPECT_NE(text.find("fl_dp_epsilon_spent{population=\"pop\"} 2.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("fl_dp_rounds_accounted{population=\"pop\"} 3\n"), std::string::npos) << text;
}

TEST(PrivacyLedgerView, TotalLineSaysEpsilonDeltaRoundsAndMechanism) {
  PrivacyLedgerEntry row;
  row.spend.mechanism = "central";
  row.spend.epsilon = 3.2139;
  row.spend.delta = 1e-5;
  EXPECT_EQ(privacy_total_line(row, 40), "epsilon 3.21 at delta 1e-05 after 40 rounds (central)");
  EXPECT_EQ(privacy_total_line(row, 1), "epsilon 3.21 at delta 1e-05 after 1 round (central)");
}

}  // namespace
}  // namespace fl::coordinator
