// Every metric the coordinator exposes, registered in one place so the names,
// label sets and buckets are reviewed together, with one helper per event the
// service reports (a round failed, a request was served, a version was
// published). Names follow Prometheus conventions: base units (seconds,
// bytes), `_total` on counters, `fl_` prefix.
//
//   fl_rounds_started_total                      fl_http_requests_total{route,method,code}
//   fl_rounds_completed_total                    fl_http_request_duration_seconds{route}
//   fl_rounds_failed_total{reason}               fl_http_received_bytes_total
//   fl_round_clients{stage}                      fl_http_sent_bytes_total
//   fl_client_dropouts_total{stage}              fl_model_published_version{model}
//   fl_round_stage_duration_seconds{stage}       fl_model_evaluation{model,version,metric}
//   fl_aggregation_duration_seconds              fl_registry_alerts_total{model,kind}
//   fl_prediction_requests_total{api,model,code} fl_registry_rollbacks_total{model}
//   fl_prediction_duration_seconds{api}          fl_prediction_errors_total{api,reason}
//   fl_dp_epsilon_spent{population}              fl_dp_rounds_accounted{population}
//   fl_federated_evaluations_inconclusive_total{population}
//   process_* (process_metrics.h), unless disabled
//
// Label values must come from small sets: route *patterns* not raw paths,
// failure reasons and stages from enums, models from the registry. Each
// family caps its series (RegistryOptions) as a backstop.
//
// Not for: per-client or per-request detail (logs), or the simulator's
// per-round CSV.
//
// Thread-safety: every member is thread-safe. Helpers without labels are one
// atomic add; helpers with labels add a shared-lock map lookup.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/metrics/family.h"
#include "coordinator/metrics/registry.h"

namespace fl::metrics {

struct CoordinatorMetricsOptions {
  // fl_model_evaluation keeps the series of this many highest versions per
  // model and removes older ones: dashboards compare the last few versions,
  // and without a bound a long-lived coordinator would export one more series
  // per metric for every version it ever trained.
  size_t evaluation_versions_per_model = 5;
  bool process_metrics = true;  // also register process_* (process_metrics.h)
};

class CoordinatorMetrics {
 public:
  // The families, for tests and for callers that cache children themselves.
  // Do not cache children of model_evaluation: old versions are removed.
  struct Families {
    CounterFamily* rounds_started;
    CounterFamily* rounds_completed;
    CounterFamily* rounds_failed;
    GaugeFamily* round_clients;
    CounterFamily* client_dropouts;
    HistogramFamily* round_stage_duration;
    HistogramFamily* aggregation_duration;
    CounterFamily* http_requests;
    HistogramFamily* http_request_duration;
    CounterFamily* http_received_bytes;
    CounterFamily* http_sent_bytes;
    GaugeFamily* model_published_version;
    GaugeFamily* model_evaluation;
    CounterFamily* prediction_requests;
    HistogramFamily* prediction_duration;
    CounterFamily* prediction_errors;
    CounterFamily* registry_alerts;
    CounterFamily* registry_rollbacks;
    GaugeFamily* dp_epsilon_spent;
    GaugeFamily* dp_rounds_accounted;
    CounterFamily* federated_evaluations_inconclusive;
  };

  // Registers everything in `registry`, which must outlive the result. Fails
  // only if a name is already taken by something different.
  static Result<std::unique_ptr<CoordinatorMetrics>> create(Registry& registry,
                                                            CoordinatorMetricsOptions options = {});

  const Families& families() const { return families_; }

  // Rounds. `stage` is a protocol stage (e.g. "selection", "masking",
  // "unmasking"); `reason` a short fixed token (e.g. "too_few_clients").
  void round_started();
  void round_completed();
  void round_failed(std::string_view reason);
  void set_round_clients(std::string_view stage, double clients);
  void clients_dropped(std::string_view stage, uint64_t clients = 1);
  void observe_stage_duration(std::string_view stage, double seconds);
  // Server-side aggregation of one round: unmasking, de-quantisation and the
  // server optimiser step.
  void observe_aggregation(double seconds);

  // HTTP: one call per response. `route` is the matched pattern.
  void observe_request(std::string_view route, std::string_view method, int code, uint64_t bytes_in,
                       uint64_t bytes_out, double seconds);

  // Model registry. A model's published version is either set here on every
  // publish or rollback, or read at scrape time from `read`, not both.
  void set_published_version(std::string_view model, uint64_t version);
  Status publish_version_from(std::string_view model, std::function<uint64_t()> read);
  // Keeps only the last evaluation_versions_per_model versions of `model`;
  // a value for a version older than all of those is dropped.
  void set_evaluation(std::string_view model, uint64_t version, std::string_view metric,
                      double value);
  void registry_alert(std::string_view model, std::string_view kind);
  void registry_rollback(std::string_view model);

  // Serving. `api` is "tfserving" or "v2" (Open Inference Protocol), say.
  void observe_prediction(std::string_view api, std::string_view model, int code, double seconds);
  void prediction_error(std::string_view api, std::string_view reason);

  // Differential privacy: the cumulative epsilon of a population's privacy
  // ledger (at the ledger's delta) and the rounds it accounts. Populations
  // trained without DP never get these series, so absent() tells them apart.
  void set_privacy_spent(std::string_view population, double epsilon, uint64_t rounds);

  // Federated evaluations of `population` that could not conclude (too few
  // valid reports). Call with 0 once at start so the series exists from the
  // first scrape.
  void federated_evaluations_inconclusive(std::string_view population, uint64_t evaluations = 1);

 private:
  CoordinatorMetrics(Families families, CoordinatorMetricsOptions options);

  const Families families_;
  const CoordinatorMetricsOptions options_;
  // Children without labels, looked up once.
  Counter& rounds_started_;
  Counter& rounds_completed_;
  Histogram& aggregation_duration_;
  Counter& http_received_bytes_;
  Counter& http_sent_bytes_;

  std::mutex evaluation_mu_;
  // model -> version -> metric names with a series, for removal.
  std::map<std::string, std::map<uint64_t, std::set<std::string>>, std::less<>> evaluation_series_;
};

}  // namespace fl::metrics
