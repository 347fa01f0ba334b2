// The coordinator service as an operator and a prediction client see it: the
// registry's published version is what the serving APIs answer with, a
// publish or rollback (through the admin API or by another process on the
// same store) hot-swaps it, /metrics is valid Prometheus text that reports
// it, and bad registry, serving and logging settings are refused naming the
// key and the line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
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

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kAdmin[] = "registry-serving-admin-token";
constexpr char kModel[] = "tiny";
constexpr char kPromtool[] = "/usr/bin/promtool";

// An MLP, so that different seeds give different predictions (linear models
// start at zero whatever the seed).
std::string config_yaml(const std::string& db) {
  return std::string("listen: {address: 127.0.0.1, port: 0, io_threads: 2}\n") +
         "store: {path: " + db + "}\n" + "admin_token: " + kAdmin + "\n" +
         "limits: {max_update_bytes: 1048576, requests_per_second: 1000, burst: 1000}\n"
         "population:\n"
         "  name: pop\n"
         "  model: {name: tiny, kind: mlp, input_dim: 4, classes: 3, hidden: [5], seed: 1}\n"
         "  rounds: 2\n"
         "  cohort_size: 3\n"
         "  min_cohort: 3\n"
         "  allow_small_cohorts: true\n"
         "  deadlines_ms: {selection: 300}\n"
         "  training: {epochs: 1, batch_size: 4, learning_rate: 0.1}\n"
         "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n";
}

// Rows the served model is asked about; 4 features each.
const std::vector<std::vector<float>> kRows = {{0.5f, -1.0f, 2.0f, 0.25f},
                                               {-3.0f, 0.0f, 1.5f, 4.0f}};

std::string instances_body(const std::vector<std::vector<float>>& rows) {
  return json{{"instances", rows}}.dump();
}

// Probabilities per row, as the model itself computes them.
std::vector<std::vector<float>> local_probabilities(const model::Model& m,
                                                    const std::vector<std::vector<float>>& rows) {
  model::FeatureMatrix x(static_cast<Eigen::Index>(rows.size()), 4);
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < 4; ++j)
      x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = rows[i][j];
  auto p = model::predict_proba(m, x);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  std::vector<std::vector<float>> out(rows.size());
  for (Eigen::Index i = 0; i < p->rows(); ++i)
    for (Eigen::Index k = 0; k < p->cols(); ++k) out[static_cast<size_t>(i)].push_back((*p)(i, k));
  return out;
}

void expect_probabilities_near(const std::vector<std::vector<float>>& got,
                               const std::vector<std::vector<float>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].size(), want[i].size()) << "row " << i;
    for (size_t k = 0; k < got[i].size(); ++k)
      EXPECT_NEAR(got[i][k], want[i][k], 1e-6) << "row " << i << " class " << k;
  }
}

// Runs promtool's linter over an exposition; "" when it passes, else why not.
std::string promtool_problems(const std::string& exposition, const fs::path& scratch) {
  if (!fs::exists(kPromtool))
    return std::string(kPromtool) +
           " is missing: install the Debian package prometheus (scripts/install-deps.sh)";
  const fs::path input = scratch / "metrics.txt";
  std::ofstream(input, std::ios::binary) << exposition;
  const std::string command =
      std::string(kPromtool) + " check metrics < '" + input.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "cannot run " + command;
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return "promtool check metrics failed (status " + std::to_string(status) + "):\n" + output;
}

// The exposition's sample lines of `family` (no HELP/TYPE comments).
std::vector<std::string> samples_of(const std::string& exposition, const std::string& family) {
  std::vector<std::string> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next == '{' || next == ' ') out.push_back(line);
  }
  return out;
}

class RegistryServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("fl-registry-serving-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "fl.db").string();
    auto c = parse_config(config_yaml(db), "test.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    spec = c->population.model_spec;
    auto s = CoordinatorService::create(*c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    service = std::move(*s);
    ASSERT_TRUE(service->start().ok());
    auto initial = service->registry().published_version(kModel);
    ASSERT_TRUE(initial.ok()) << initial.status().to_string();
    initial_version = initial->id;
  }
  void TearDown() override {
    if (service) service->stop();
    service.reset();
    fs::remove_all(dir);
  }

  transport::HttpClient client() {
    transport::HttpClientOptions o;
    o.port = service->port();
    auto c = transport::HttpClient::create(o);
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }
  transport::HttpResponse send(const std::string& method, const std::string& target,
                               const std::string& body = "", bool as_admin = false) {
    auto c = client();
    transport::HeaderList headers;
    if (as_admin) headers.emplace_back("Authorization", std::string("Bearer ") + kAdmin);
    auto r = c.send(method, target, body, body.empty() ? "" : "application/json", headers);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().to_string();
    return r.ok() ? *r : transport::HttpResponse{};
  }
  transport::HttpResponse admin(const std::string& method, const std::string& target) {
    return send(method, target, "", true);
  }

  // A new candidate version of the configured model, initialised from `seed`.
  int64_t add_version(uint64_t seed, Store& store) {
    auto m = model::create_model(spec, seed);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    auto bytes = model::save_model(*m);
    EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
    NewVersion v;
    v.model = kModel;
    v.parent_id = initial_version;
    v.created_at_ms = unix_millis_now();
    v.model_bytes = *bytes;
    auto id = store.add_version(v);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return id.ok() ? *id : -1;
  }
  int64_t add_version(uint64_t seed) { return add_version(seed, service->store()); }

  model::Model model_of(int64_t version) {
    auto v = service->store().get_version(version);
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    auto m = model::load_model(v->model_bytes, "test");
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    return std::move(*m);
  }

  // The version GET /v1/models/{name} reports AVAILABLE; -1 if none.
  int64_t served_version() {
    auto r = send("GET", std::string("/v1/models/") + kModel);
    if (r.status != 200) return -1;
    const json status = json::parse(r.body)["model_version_status"];
    if (status.size() != 1 || status[0]["state"] != "AVAILABLE") return -1;
    return std::stoll(status[0]["version"].get<std::string>());
  }
  // Polls until `version` is served or `timeout` passes; true if it was.
  bool wait_until_served(int64_t version, std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      if (served_version() == version) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return served_version() == version;
  }

  // Probabilities per row from POST :predict (the published version).
  std::vector<std::vector<float>> served_probabilities() {
    auto r = send("POST", std::string("/v1/models/") + kModel + ":predict", instances_body(kRows));
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::vector<float>> out;
    if (r.status != 200) return out;
    // Keep the parsed document alive: a range-for over a member of a
    // temporary would iterate a destroyed object.
    const json answer = json::parse(r.body);
    for (const json& p : answer["predictions"])
      out.push_back(p["probabilities"].get<std::vector<float>>());
    EXPECT_EQ(out.size(), kRows.size()) << r.body;
    return out;
  }

  std::vector<std::string> stages() {
    auto r = admin("GET", std::string("/v1/admin/models/") + kModel + "/versions");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json listing = json::parse(r.body);
    for (const json& v : listing["versions"]) out.push_back(v["stage"]);
    return out;
  }

  fs::path dir;
  std::string db;
  model::ModelSpec spec;
  std::unique_ptr<CoordinatorService> service;
  int64_t initial_version = 0;
};

// --- Monitoring -------------------------------------------------------------

TEST_F(RegistryServingTest, MetricsArePrometheusTextThatPromtoolAccepts) {
  auto r = send("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto type = r.header("Content-Type");
  ASSERT_TRUE(type.has_value());
  // What Prometheus' scraper negotiates for the text format.
  EXPECT_EQ(*type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string problems = promtool_problems(r.body, dir);
  EXPECT_EQ(problems, "") << problems;
  EXPECT_FALSE(samples_of(r.body, "fl_rounds_started_total").empty()) << r.body;
}

TEST_F(RegistryServingTest, MetricsReportThePublishedVersionAndPredictionRequests) {
  const std::string before = send("GET", "/metrics").body;
  const auto published = samples_of(before, "fl_model_published_version");
  ASSERT_EQ(published.size(), 1u) << before;
  EXPECT_EQ(published[0],
            "fl_model_published_version{model=\"tiny\"} " + std::to_string(initial_version))
      << before;
  EXPECT_TRUE(samples_of(before, "fl_prediction_requests_total").empty()) << before;

  ASSERT_EQ(served_probabilities().size(), kRows.size());
  auto bad = send("POST", std::string("/v1/models/") + kModel + ":predict",
                  instances_body({{1.0f, 2.0f}}));
  ASSERT_EQ(bad.status, 400) << bad.body;

  const std::string after = send("GET", "/metrics").body;
  const auto requests = samples_of(after, "fl_prediction_requests_total");
  auto has_sample = [&](const std::string& code) {
    for (const std::string& line : requests)
      if (line.find("api=\"tfserving\"") != std::string::npos &&
          line.find("model=\"tiny\"") != std::string::npos &&
          line.find("code=\"" + code + "\"") != std::string::npos && line.ends_with(" 1"))
        return true;
    return false;
  };
  EXPECT_TRUE(has_sample("200")) << after;
  EXPECT_TRUE(has_sample("400")) << after;
  const std::string problems = promtool_problems(after, dir);
  EXPECT_EQ(problems, "") << problems;
}

// --- Serving ------------------------------------------------------------------

TEST_F(RegistryServingTest, AFreshServicePublishesAndServesTheInitialVersion) {
  auto history = service->registry().publications(kModel, 10);
  ASSERT_TRUE(history.ok()) << history.status().to_string();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().reason, "initial");
  EXPECT_EQ(history->front().version_id, initial_version);

  EXPECT_EQ(served_version(), initial_version);
  EXPECT_EQ(send("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(send("GET", "/v2/models/tiny/ready").status, 200);
  expect_probabilities_near(served_probabilities(),
                            local_probabilities(model_of(initial_version), kRows));
}

TEST_F(RegistryServingTest, AWrongShapedInstanceIsA400AndServingContinues) {
  auto bad = send("POST", "/v1/models/tiny:predict", instances_body({{1.0f, 2.0f, 3.0f}}));
  EXPECT_EQ(bad.status, 400) << bad.body;
  const json error = json::parse(bad.body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << bad.body;
  ASSERT_TRUE(error.contains("error") && error["error"].is_string()) << bad.body;
  EXPECT_FALSE(error["error"].get<std::string>().empty());

  auto garbage = send("POST", "/v1/models/tiny:predict", "{not json");
  EXPECT_EQ(garbage.status, 400) << garbage.body;

  const auto probabilities = served_probabilities();
  ASSERT_EQ(probabilities.size(), kRows.size());
  for (const auto& row : probabilities) {
    ASSERT_EQ(row.size(), 3u);
    EXPECT_NEAR(row[0] + row[1] + row[2], 1.0, 1e-5);
  }
}

TEST_F(RegistryServingTest, AnUnknownModelIsA404) {
  auto status = send("GET", "/v1/models/nosuchmodel");
  EXPECT_EQ(status.status, 404) << status.body;
  auto predict = send("POST", "/v1/models/nosuchmodel:predict", instances_body(kRows));
  EXPECT_EQ(predict.status, 404) << predict.body;
  EXPECT_TRUE(json::parse(predict.body, nullptr, false).contains("error")) << predict.body;
}

// --- The registry through the admin API ---------------------------------------

TEST_F(RegistryServingTest, PublishingAVersionHotSwapsWhatIsServed) {
  const int64_t v2 = add_version(11);
  const int64_t v3 = add_version(22);
  const auto initial_answers = served_probabilities();

  auto r = admin("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v3) + ":publish");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["published"], v3);
  ASSERT_TRUE(wait_until_served(v3, std::chrono::seconds(2))) << "served " << served_version();

  const auto answers = served_probabilities();
  expect_probabilities_near(answers, local_probabilities(model_of(v3), kRows));
  EXPECT_NE(answers, initial_answers) << "versions from different seeds should differ";
  // The version route answers for exactly that version.
  auto pinned = send("POST", "/v1/models/tiny/versions/" + std::to_string(v3) + ":predict",
                     instances_body(kRows));
  EXPECT_EQ(pinned.status, 200) << pinned.body;
  (void)v2;
}

TEST_F(RegistryServingTest, RollbackGoesBackOneVersionOrToTheOneNamed) {
  const int64_t v2 = add_version(11);
  const int64_t v3 = add_version(22);
  ASSERT_EQ(
      admin("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v2) + ":publish").status,
      200);
  ASSERT_EQ(
      admin("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v3) + ":publish").status,
      200);
  ASSERT_TRUE(wait_until_served(v3, std::chrono::seconds(2)));

  auto back = admin("POST", "/v1/admin/models/tiny:rollback");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(json::parse(back.body)["published"], v2);
  ASSERT_TRUE(wait_until_served(v2, std::chrono::seconds(2))) << "served " << served_version();
  expect_probabilities_near(served_probabilities(), local_probabilities(model_of(v2), kRows));

  auto to = admin("POST", "/v1/admin/models/tiny:rollback?to=" + std::to_string(initial_version));
  ASSERT_EQ(to.status, 200) << to.body;
  EXPECT_EQ(json::parse(to.body)["published"], initial_version);
  ASSERT_TRUE(wait_until_served(initial_version, std::chrono::seconds(2)))
      << "served " << served_version();

  auto history = service->registry().publications(kModel, 10);
  ASSERT_TRUE(history.ok());
  ASSERT_GE(history->size(), 2u);
  EXPECT_EQ((*history)[0].reason, "rollback");
  EXPECT_EQ((*history)[0].actor, "admin-api");
  EXPECT_EQ((*history)[1].reason, "rollback");
  const std::string text = send("GET", "/metrics").body;
  EXPECT_EQ(samples_of(text, "fl_registry_rollbacks_total"),
            std::vector<std::string>{"fl_registry_rollbacks_total{model=\"tiny\"} 2"})
      << text;
}

TEST_F(RegistryServingTest, RollbackWithNothingToGoBackToIsAConflictWithAReason) {
  auto r = admin("POST", "/v1/admin/models/tiny:rollback");
  EXPECT_EQ(r.status, 409) << r.body;
  const json error = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(error.contains("error")) << r.body;
  EXPECT_FALSE(error["error"].get<std::string>().empty());
  EXPECT_EQ(served_version(), initial_version);

  const int64_t later = add_version(11);
  auto forward = admin("POST", "/v1/admin/models/tiny:rollback?to=" + std::to_string(later));
  EXPECT_EQ(forward.status, 409) << forward.body;
  auto not_a_number = admin("POST", "/v1/admin/models/tiny:rollback?to=abc");
  EXPECT_EQ(not_a_number.status, 400) << not_a_number.body;
  EXPECT_EQ(served_version(), initial_version);
}

TEST_F(RegistryServingTest, PublishingAnUnknownVersionIsA404AndChangesNothing) {
  auto r = admin("POST", "/v1/admin/models/tiny/versions/999:publish");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("error"), std::string::npos) << r.body;
  EXPECT_EQ(served_version(), initial_version);
}

TEST_F(RegistryServingTest, RegistryAdminRoutesNeedTheAdminToken) {
  const int64_t v2 = add_version(11);
  EXPECT_EQ(
      send("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v2) + ":publish").status,
      401);
  EXPECT_EQ(send("POST", "/v1/admin/models/tiny:rollback").status, 401);
  EXPECT_EQ(send("GET", "/v1/admin/models/tiny/versions").status, 401);
  auto c = client();
  auto wrong = c.send("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v2) + ":publish",
                      "", "", {{"Authorization", "Bearer not-the-admin-token-at-all"}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 401);
  auto published = service->registry().published_version(kModel);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, initial_version);
  EXPECT_EQ(served_version(), initial_version);
}

TEST_F(RegistryServingTest, VersionListingShowsExactlyOnePublishedVersion) {
  const int64_t v2 = add_version(11);
  const int64_t v3 = add_version(22);
  ASSERT_EQ(
      admin("POST", "/v1/admin/models/tiny/versions/" + std::to_string(v2) + ":publish").status,
      200);
  auto r = admin("GET", "/v1/admin/models/tiny/versions");
  ASSERT_EQ(r.status, 200) << r.body;
  const json versions = json::parse(r.body)["versions"];
  ASSERT_EQ(versions.size(), 3u) << r.body;
  std::map<int64_t, std::string> stage_of;
  for (const json& v : versions) stage_of[v["id"].get<int64_t>()] = v["stage"];
  EXPECT_EQ(stage_of[initial_version], "retired");
  EXPECT_EQ(stage_of[v2], "published");
  EXPECT_EQ(stage_of[v3], "candidate");
  const auto all = stages();
  EXPECT_EQ(std::count(all.begin(), all.end(), "published"), 1);
  EXPECT_EQ(admin("GET", "/v1/admin/models/nosuchmodel/versions").status, 404);
}

// --- Another process on the same store ----------------------------------------

TEST_F(RegistryServingTest, APublishByAnotherProcessIsServedWithinTwoSeconds) {
  auto other_store = SqliteStore::open(db);
  ASSERT_TRUE(other_store.ok()) << other_store.status().to_string();
  RegistryOptions options;
  options.actor = "other-process";
  auto other = Registry::create(**other_store, options);
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  const int64_t v2 = add_version(33, **other_store);

  const auto published_at = Clock::now();
  ASSERT_TRUE((*other)->publish(kModel, v2, publish_reason::kManual, unix_millis_now()).ok());
  ASSERT_TRUE(wait_until_served(v2, std::chrono::seconds(2))) << "served " << served_version();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - published_at);
  RecordProperty("pickup_ms", static_cast<int>(took.count()));
  expect_probabilities_near(served_probabilities(), local_probabilities(model_of(v2), kRows));
  const std::string text = send("GET", "/metrics").body;
  EXPECT_EQ(
      samples_of(text, "fl_model_published_version"),
      std::vector<std::string>{"fl_model_published_version{model=\"tiny\"} " + std::to_string(v2)})
      << text;

  // A rollback there is served here too, and counted as one.
  auto back = (*other)->rollback(kModel, std::nullopt, unix_millis_now());
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, initial_version);
  ASSERT_TRUE(wait_until_served(initial_version, std::chrono::seconds(2)))
      << "served " << served_version();
  const std::string after = send("GET", "/metrics").body;
  EXPECT_EQ(samples_of(after, "fl_registry_rollbacks_total"),
            std::vector<std::string>{"fl_registry_rollbacks_total{model=\"tiny\"} 1"})
      << after;
}

// --- Configuration --------------------------------------------------------------

TEST(CoordinatorConfig, RegistryServingAndLoggingErrorsNameTheKeyAndLine) {
  const std::string base = config_yaml("/tmp/x.db");
  const int next_line = static_cast<int>(std::count(base.begin(), base.end(), '\n')) + 1;
  auto error_for = [&](const std::string& section) {
    auto c = parse_config(base + section, "coord.yaml");
    EXPECT_FALSE(c.ok()) << section;
    return c.ok() ? std::string() : c.status().message();
  };
  const std::string at = "coord.yaml:" + std::to_string(next_line) + ":";
  struct Case {
    std::string yaml, key;
  };
  for (const Case& c : std::vector<Case>{
           {"registry: {gate: {tolerance: -0.5}}\n", "registry.gate.tolerance"},
           {"registry: {gate: {metric: \"\"}}\n", "registry.gate.metric"},
           {"registry: {monitor: {metric: \"\", floor: 0.5}}\n", "registry.monitor.metric"},
           {"serving: {max_batch_rows: 0}\n", "serving.max_batch_rows"},
           {"logging: {format: xml}\n", "logging.format"},
           {"registry: {holdout: bogus}\n", "registry.holdout"},
       }) {
    const std::string m = error_for(c.yaml);
    EXPECT_NE(m.find(c.key), std::string::npos) << c.yaml << " -> " << m;
    EXPECT_NE(m.find(at), std::string::npos) << c.yaml << " -> " << m;
  }
  // The same keys with good values are accepted.
  auto good = parse_config(base +
                               "registry: {gate: {tolerance: 0.01}}\n"
                               "serving: {max_batch_rows: 8}\n"
                               "logging: {format: json}\n",
                           "coord.yaml");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->max_batch_rows, 8u);
  EXPECT_TRUE(good->json_logs);
}

}  // namespace
}  // namespace fl::coordinator
