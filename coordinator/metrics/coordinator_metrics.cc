#include "coordinator/metrics/coordinator_metrics.h"

#include <algorithm>

#include "coordinator/metrics/process_metrics.h"

namespace fl::metrics {
namespace {

// Round stages wait on phones for seconds to tens of minutes (stage deadlines).
std::vector<double> stage_duration_buckets() {
  return {0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600};
}
// Unmasking, de-quantisation and the optimiser: milliseconds for small models
// and cohorts, minutes for large ones (unmasking is quadratic in dropouts).
std::vector<double> aggregation_duration_buckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300};
}
// Check-ins answer in milliseconds; model uploads over phone links take up to
// the request timeout.
std::vector<double> http_duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}
// An in-process prediction on a small model takes tens of microseconds; one
// second is far past any useful serving latency.
std::vector<double> prediction_duration_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
}

// Unwraps a registration into `out`, remembering the first error.
template <typename FamilyType>
void take(Result<FamilyType*> result, FamilyType*& out, Status& first_error) {
  if (result.ok()) {
    out = *result;
  } else if (first_error.ok()) {
    first_error = result.status();
  }
}

}  // namespace

Result<std::unique_ptr<CoordinatorMetrics>> CoordinatorMetrics::create(
    Registry& registry, CoordinatorMetricsOptions options) {
  Families f{};
  Status error;
  take(registry.add_counter("fl_rounds_started_total", "Training rounds started."),
       f.rounds_started, error);
  take(registry.add_counter("fl_rounds_completed_total",
                            "Training rounds that completed and produced an aggregate."),
       f.rounds_completed, error);
  take(registry.add_counter("fl_rounds_failed_total", "Training rounds that failed, by reason.",
                            {"reason"}),
       f.rounds_failed, error);
  take(registry.add_gauge("fl_round_clients", "Clients in each stage of the current round.",
                          {"stage"}),
       f.round_clients, error);
  take(registry.add_counter("fl_client_dropouts_total",
                            "Clients that dropped out of a round, by the stage they left in.",
                            {"stage"}),
       f.client_dropouts, error);
  take(registry.add_histogram("fl_round_stage_duration_seconds",
                              "Time from the start to the end of each round stage.", {"stage"},
                              stage_duration_buckets()),
       f.round_stage_duration, error);
  take(registry.add_histogram(
           "fl_aggregation_duration_seconds",
           "Server-side aggregation time per round: unmasking, de-quantisation and optimiser.", {},
           aggregation_duration_buckets()),
       f.aggregation_duration, error);
  take(registry.add_counter("fl_http_requests_total",
                            "HTTP responses sent, by route pattern, method and status code.",
                            {"route", "method", "code"}),
       f.http_requests, error);
  take(registry.add_histogram("fl_http_request_duration_seconds",
                              "Time from reading an HTTP request to writing its response.",
                              {"route"}, http_duration_buckets()),
       f.http_request_duration, error);
  take(registry.add_counter("fl_http_received_bytes_total",
                            "Bytes of HTTP requests read, headers and bodies."),
       f.http_received_bytes, error);
  take(registry.add_counter("fl_http_sent_bytes_total",
                            "Bytes of HTTP responses written, headers and bodies."),
       f.http_sent_bytes, error);
  take(registry.add_gauge("fl_model_published_version",
                          "Version of each model currently published for serving.", {"model"}),
       f.model_published_version, error);
  take(registry.add_gauge("fl_model_evaluation",
                          "Evaluation metrics of recent model versions (accuracy, loss, ...).",
                          {"model", "version", "metric"}),
       f.model_evaluation, error);
  take(registry.add_counter("fl_prediction_requests_total",
                            "Prediction requests, by API, model and HTTP status code.",
                            {"api", "model", "code"}),
       f.prediction_requests, error);
  take(registry.add_histogram("fl_prediction_duration_seconds",
                              "Time to answer a prediction request.", {"api"},
                              prediction_duration_buckets()),
       f.prediction_duration, error);
  take(registry.add_counter("fl_prediction_errors_total",
                            "Prediction requests that failed, by API and reason.",
                            {"api", "reason"}),
       f.prediction_errors, error);
  take(registry.add_counter("fl_registry_alerts_total",
                            "Quality-gate alerts raised by the model registry, by kind.",
                            {"model", "kind"}),
       f.registry_alerts, error);
  take(registry.add_counter("fl_registry_rollbacks_total",
                            "Rollbacks of a model's published version.", {"model"}),
       f.registry_rollbacks, error);
  take(registry.add_gauge("fl_dp_epsilon_spent",
                          "Differential privacy spent by each population: the cumulative epsilon "
                          "of its privacy ledger, at the ledger's delta.",
                          {"population"}),
       f.dp_epsilon_spent, error);
  take(registry.add_gauge("fl_dp_rounds_accounted", "Rounds in each population's privacy ledger.",
                          {"population"}),
       f.dp_rounds_accounted, error);
  take(registry.add_counter("fl_federated_evaluations_inconclusive_total",
                            "Federated evaluations that could not conclude: fewer valid reports "
                            "than min_reports by the deadline, or too many refused.",
                            {"population"}),
       f.federated_evaluations_inconclusive, error);
  FL_RETURN_IF_ERROR(error);
  if (options.process_metrics) FL_RETURN_IF_ERROR(add_process_metrics(registry));
  return std::unique_ptr<CoordinatorMetrics>(new CoordinatorMetrics(f, options));
}

// Children without labels are created here so they are exported as 0 from
// the first scrape: rate() and absent() alerts need the series to exist.
CoordinatorMetrics::CoordinatorMetrics(Families families, CoordinatorMetricsOptions options)
    : families_(families),
      options_(options),
      rounds_started_(families.rounds_started->with({})),
      rounds_completed_(families.rounds_completed->with({})),
      aggregation_duration_(families.aggregation_duration->with({})),
      http_received_bytes_(families.http_received_bytes->with({})),
      http_sent_bytes_(families.http_sent_bytes->with({})) {}

void CoordinatorMetrics::round_started() { rounds_started_.inc(); }
void CoordinatorMetrics::round_completed() { rounds_completed_.inc(); }
void CoordinatorMetrics::round_failed(std::string_view reason) {
  families_.rounds_failed->with({reason}).inc();
}
void CoordinatorMetrics::set_round_clients(std::string_view stage, double clients) {
  families_.round_clients->with({stage}).set(clients);
}
void CoordinatorMetrics::clients_dropped(std::string_view stage, uint64_t clients) {
  families_.client_dropouts->with({stage}).inc(static_cast<double>(clients));
}
void CoordinatorMetrics::observe_stage_duration(std::string_view stage, double seconds) {
  families_.round_stage_duration->with({stage}).observe(seconds);
}
void CoordinatorMetrics::observe_aggregation(double seconds) {
  aggregation_duration_.observe(seconds);
}

void CoordinatorMetrics::observe_request(std::string_view route, std::string_view method, int code,
                                         uint64_t bytes_in, uint64_t bytes_out, double seconds) {
  const std::string code_text = std::to_string(code);
  families_.http_requests->with({route, method, code_text}).inc();
  families_.http_request_duration->with({route}).observe(seconds);
  http_received_bytes_.inc(static_cast<double>(bytes_in));
  http_sent_bytes_.inc(static_cast<double>(bytes_out));
}

void CoordinatorMetrics::set_published_version(std::string_view model, uint64_t version) {
  families_.model_published_version->with({model}).set(static_cast<double>(version));
}

Status CoordinatorMetrics::publish_version_from(std::string_view model,
                                                std::function<uint64_t()> read) {
  if (!read) return InvalidArgument("the published-version callback is empty");
  return families_.model_published_version->set_callback(
      {model}, [read = std::move(read)] { return static_cast<double>(read()); });
}

void CoordinatorMetrics::set_evaluation(std::string_view model, uint64_t version,
                                        std::string_view metric, double value) {
  const size_t keep = std::max<size_t>(1, options_.evaluation_versions_per_model);
  const std::string version_text = std::to_string(version);
  std::lock_guard lock(evaluation_mu_);
  auto model_it = evaluation_series_.find(model);
  if (model_it == evaluation_series_.end()) {
    model_it =
        evaluation_series_.emplace(std::string(model), std::map<uint64_t, std::set<std::string>>{})
            .first;
  }
  auto& versions = model_it->second;
  if (versions.size() >= keep && !versions.contains(version) && version < versions.begin()->first) {
    return;  // older than every version kept: it would be removed at once
  }
  families_.model_evaluation->with({model, version_text, metric}).set(value);
  versions[version].insert(std::string(metric));
  while (versions.size() > keep) {
    const auto oldest = versions.begin();
    const std::string oldest_text = std::to_string(oldest->first);
    for (const std::string& old_metric : oldest->second) {
      families_.model_evaluation->remove({model, oldest_text, old_metric});
    }
    versions.erase(oldest);
  }
}

void CoordinatorMetrics::registry_alert(std::string_view model, std::string_view kind) {
  families_.registry_alerts->with({model, kind}).inc();
}
void CoordinatorMetrics::registry_rollback(std::string_view model) {
  families_.registry_rollbacks->with({model}).inc();
}

void CoordinatorMetrics::observe_prediction(std::string_view api, std::string_view model, int code,
                                            double seconds) {
  const std::string code_text = std::to_string(code);
  families_.prediction_requests->with({api, model, code_text}).inc();
  families_.prediction_duration->with({api}).observe(seconds);
}
void CoordinatorMetrics::prediction_error(std::string_view api, std::string_view reason) {
  families_.prediction_errors->with({api, reason}).inc();
}

void CoordinatorMetrics::set_privacy_spent(std::string_view population, double epsilon,
                                           uint64_t rounds) {
  families_.dp_epsilon_spent->with({population}).set(epsilon);
  families_.dp_rounds_accounted->with({population}).set(static_cast<double>(rounds));
}

void CoordinatorMetrics::federated_evaluations_inconclusive(std::string_view population,
                                                            uint64_t evaluations) {
  families_.federated_evaluations_inconclusive->with({population})
      .inc(static_cast<double>(evaluations));
}

}  // namespace fl::metrics
