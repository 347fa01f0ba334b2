#include "coordinator/metrics/coordinator_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "coordinator/metrics/text_exposition.h"

namespace fl::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CoordinatorMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { metrics_ = std::move(*CoordinatorMetrics::create(registry_, options_)); }
  std::string scrape() const { return render_text(registry_.collect()); }

  CoordinatorMetricsOptions options_{.evaluation_versions_per_model = 2, .process_metrics = false};
  Registry registry_;
  std::unique_ptr<CoordinatorMetrics> metrics_;
};

// Drives every helper once, with label values an operator could plausibly
// produce, including ones that need escaping.
void exercise_every_helper(CoordinatorMetrics& metrics) {
  metrics.round_started();
  metrics.round_started();
  metrics.round_completed();
  metrics.round_failed("too_few_clients");
  metrics.round_failed("stage \"unmasking\" timed out\nafter 30s");
  metrics.set_round_clients("masking", 120);
  metrics.set_round_clients("unmasking", 97);
  metrics.clients_dropped("masking", 23);
  metrics.observe_stage_duration("masking", 12.5);
  metrics.observe_aggregation(0.42);
  metrics.observe_request("/v1/rounds/{id}/upload", "POST", 200, 65'536, 128, 0.35);
  metrics.observe_request("/v1/checkin", "GET", 429, 300, 90, 0.0004);
  metrics.observe_request("unmatched", "", 400, 17, 60, 0.0001);
  metrics.set_published_version("mnist", 7);
  EXPECT_TRUE(metrics.publish_version_from("fashion \\ mnist", [] { return uint64_t{3}; }).ok());
  metrics.set_evaluation("mnist", 6, "accuracy", 0.91);
  metrics.set_evaluation("mnist", 7, "accuracy", 0.93);
  metrics.set_evaluation("mnist", 7, "loss", 0.21);
  metrics.registry_alert("mnist", "accuracy_regression");
  metrics.registry_rollback("mnist");
  metrics.observe_prediction("tfserving", "mnist", 200, 0.00007);
  metrics.observe_prediction("v2", "mnist", 404, 0.002);
  metrics.prediction_error("v2", "model_not_found");
  metrics.set_privacy_spent("hospitals/readmission", 3.21, 40);
  metrics.federated_evaluations_inconclusive("hospitals/readmission");
}

TEST_F(CoordinatorMetricsTest, ExposesEveryFamilyOfTheIssueUnderItsConventionalName) {
  exercise_every_helper(*metrics_);
  const std::string text = scrape();
  for (const char* type_line : {
           "# TYPE fl_rounds_started_total counter",
           "# TYPE fl_rounds_completed_total counter",
           "# TYPE fl_rounds_failed_total counter",
           "# TYPE fl_round_clients gauge",
           "# TYPE fl_client_dropouts_total counter",
           "# TYPE fl_round_stage_duration_seconds histogram",
           "# TYPE fl_aggregation_duration_seconds histogram",
           "# TYPE fl_http_received_bytes_total counter",
           "# TYPE fl_http_sent_bytes_total counter",
           "# TYPE fl_http_requests_total counter",
           "# TYPE fl_http_request_duration_seconds histogram",
           "# TYPE fl_model_published_version gauge",
           "# TYPE fl_model_evaluation gauge",
           "# TYPE fl_prediction_requests_total counter",
           "# TYPE fl_prediction_duration_seconds histogram",
           "# TYPE fl_prediction_errors_total counter",
           "# TYPE fl_registry_alerts_total counter",
           "# TYPE fl_registry_rollbacks_total counter",
           "# TYPE fl_dp_epsilon_spent gauge",
           "# TYPE fl_dp_rounds_accounted gauge",
           "# TYPE fl_federated_evaluations_inconclusive_total counter",
       }) {
    EXPECT_THAT(text, HasSubstr(std::string(type_line) + "\n"));
  }
}

TEST_F(CoordinatorMetricsTest, UnlabelledSeriesAreExportedAsZeroBeforeAnythingHappens) {
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("fl_rounds_started_total 0\n"));
  EXPECT_THAT(text, HasSubstr("fl_rounds_completed_total 0\n"));
  EXPECT_THAT(text, HasSubstr("fl_http_received_bytes_total 0\n"));
  EXPECT_THAT(text, HasSubstr("fl_aggregation_duration_seconds_count 0\n"));
}

TEST_F(CoordinatorMetricsTest, RoundOutcomesAreCountedAndFailuresByReason) {
  metrics_->round_started();
  metrics_->round_started();
  metrics_->round_started();
  metrics_->round_completed();
  metrics_->round_failed("too_few_clients");
  metrics_->round_failed("too_few_clients");
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("fl_rounds_started_total 3\n"));
  EXPECT_THAT(text, HasSubstr("fl_rounds_completed_total 1\n"));
  EXPECT_THAT(text, HasSubstr("fl_rounds_failed_total{reason=\"too_few_clients\"} 2\n"));
}

TEST_F(CoordinatorMetricsTest, InconclusiveEvaluationsAreCountedPerPopulationFromZero) {
  metrics_->federated_evaluations_inconclusive("houses", 0);  // what the service does at start
  EXPECT_THAT(scrape(),
              HasSubstr("fl_federated_evaluations_inconclusive_total{population=\"houses\"} 0\n"));
  metrics_->federated_evaluations_inconclusive("houses");
  metrics_->federated_evaluations_inconclusive("houses");
  EXPECT_THAT(scrape(),
              HasSubstr("fl_federated_evaluations_inconclusive_total{population=\"houses\"} 2\n"));
}

TEST_F(CoordinatorMetricsTest, EachResponseCountsItsRouteBytesAndLatency) {
  metrics_->observe_request("/v1/checkin", "POST", 200, 300, 1000, 0.002);
  metrics_->observe_request("/v1/checkin", "POST", 200, 200, 24, 0.003);
  const std::string text = scrape();
  EXPECT_THAT(
      text,
      HasSubstr("fl_http_requests_total{route=\"/v1/checkin\",method=\"POST\",code=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fl_http_received_bytes_total 500\n"));
  EXPECT_THAT(text, HasSubstr("fl_http_sent_bytes_total 1024\n"));
  EXPECT_THAT(text, HasSubstr("fl_http_request_duration_seconds_count{route=\"/v1/checkin\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "fl_http_request_duration_seconds_bucket{route=\"/v1/checkin\",le=\"0.0025\"} 1\n"));
}

TEST_F(CoordinatorMetricsTest, PredictionLatencyBucketsResolveSubMillisecondToOneSecond) {
  metrics_->observe_prediction("tfserving", "mnist", 200, 0.00005);
  metrics_->observe_prediction("tfserving", "mnist", 200, 0.9);
  const std::string text = scrape();
  EXPECT_THAT(
      text,
      HasSubstr("fl_prediction_duration_seconds_bucket{api=\"tfserving\",le=\"0.0001\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("fl_prediction_duration_seconds_bucket{api=\"tfserving\",le=\"0.5\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("fl_prediction_duration_seconds_bucket{api=\"tfserving\",le=\"1\"} 2\n"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "fl_prediction_requests_total{api=\"tfserving\",model=\"mnist\",code=\"200\"} 2\n"));
}

TEST_F(CoordinatorMetricsTest, EvaluationKeepsOnlyTheMostRecentVersionsOfEachModel) {
  metrics_->set_evaluation("mnist", 1, "accuracy", 0.80);
  metrics_->set_evaluation("mnist", 2, "accuracy", 0.85);
  metrics_->set_evaluation("mnist", 2, "loss", 0.40);
  metrics_->set_evaluation("cifar", 1, "accuracy", 0.60);
  metrics_->set_evaluation("mnist", 3, "accuracy", 0.90);  // evicts mnist version 1
  metrics_->set_evaluation("mnist", 1, "loss", 0.70);      // late, older than all kept: dropped
  const std::string text = scrape();
  EXPECT_THAT(text, Not(HasSubstr("model=\"mnist\",version=\"1\"")));
  EXPECT_THAT(
      text, HasSubstr("fl_model_evaluation{model=\"mnist\",version=\"2\",metric=\"loss\"} 0.4\n"));
  EXPECT_THAT(
      text,
      HasSubstr("fl_model_evaluation{model=\"mnist\",version=\"3\",metric=\"accuracy\"} 0.9\n"));
  EXPECT_THAT(
      text,
      HasSubstr("fl_model_evaluation{model=\"cifar\",version=\"1\",metric=\"accuracy\"} 0.6\n"));
  EXPECT_EQ(metrics_->families().model_evaluation->size(), 4u);

  for (uint64_t version = 4; version < 1000; ++version) {
    metrics_->set_evaluation("mnist", version, "accuracy", 0.95);
  }
  EXPECT_EQ(metrics_->families().model_evaluation->size(), 3u);  // 2 of mnist, 1 of cifar
}

TEST_F(CoordinatorMetricsTest, PublishedVersionIsSetOrReadAtScrapeTime) {
  metrics_->set_published_version("mnist", 12);
  uint64_t cifar_version = 4;
  ASSERT_TRUE(metrics_->publish_version_from("cifar", [&] { return cifar_version; }).ok());
  cifar_version = 5;
  const std::string text = scrape();
  EXPECT_THAT(text, HasSubstr("fl_model_published_version{model=\"mnist\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("fl_model_published_version{model=\"cifar\"} 5\n"));
  EXPECT_FALSE(metrics_->publish_version_from("mnist", [] { return uint64_t{1}; }).ok());
}

TEST(CoordinatorMetrics, RegisteringIntoARegistryThatHoldsAClashingNameFails) {
  Registry registry;
  ASSERT_TRUE(registry.add_gauge("fl_rounds_failed_total", "something else").ok());
  Result<std::unique_ptr<CoordinatorMetrics>> metrics = CoordinatorMetrics::create(registry);
  ASSERT_FALSE(metrics.ok());
  EXPECT_EQ(metrics.status().code(), ErrorCode::kAlreadyExists);
}

// promtool is Prometheus' own parser and linter: if it accepts our output
// without a warning, so will the server that scrapes us.
std::optional<std::filesystem::path> find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate =
        std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

TEST(CoordinatorMetrics, PromtoolAcceptsARealisticExpositionWithoutLintWarnings) {
  const std::optional<std::filesystem::path> promtool = find_on_path("promtool");
  ASSERT_TRUE(promtool.has_value())
      << "promtool is not on PATH; run scripts/install-deps.sh (it installs the Debian package "
         "'prometheus', which provides promtool)";

  Registry registry;
  Result<std::unique_ptr<CoordinatorMetrics>> metrics = CoordinatorMetrics::create(registry);
  ASSERT_TRUE(metrics.ok()) << metrics.status().to_string();
  exercise_every_helper(**metrics);
  const std::string text = render_text(registry.collect());
  ASSERT_THAT(text, HasSubstr("process_resident_memory_bytes"));

  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("fl_metrics_promtool_" + std::to_string(getpid()) + ".txt");
  std::ofstream(file, std::ios::binary) << text;
  std::string command = "'";  // built by appending: GCC 12 misreports "'" + string (-Wrestrict)
  command.append(promtool->string()).append("' check metrics < '");
  command.append(file.string()).append("' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr) << command;
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  std::filesystem::remove(file);

  ASSERT_TRUE(WIFEXITED(status)) << command;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n--- exposition ---\n" << text;
  EXPECT_EQ(output, "") << "promtool lint warnings:\n" << output;
}

}  // namespace
}  // namespace fl::metrics
