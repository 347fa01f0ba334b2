// fl-coordinator as a library: the store, the round engine and the HTTP(S)
// API wired together, with a ticker thread that delivers stage deadlines.
//
// Routes (bodies application/x-protobuf; errors {"error": "..."}):
//   POST /v1/enroll                 unsigned; a device token or certificate (enrollment.h)
//   POST /v1/checkin                signed by an enrolled client
//   GET  /v1/rounds/{round}/task    signed
//   GET  /v1/model_versions/{version}  signed; the serialized ModelFile
//   GET  /v1/published_model?population=NAME  signed; the ModelFile published
//                                   for NAME, its id in X-FL-Model-Version
//                                   (protocol/published_model.h)
//   POST /v1/rounds/{round}/secagg  signed; body up to limits.max_update_bytes
//   POST /v1/rounds/{round}/evaluation  signed; federated evaluation counts
//   GET  /healthz, /readyz          probes
//   GET  /v1/admin/status           admin bearer token; JSON
//   GET  /v1/admin/rounds           admin bearer token; JSON
//   GET  /v1/admin/models/{name}/versions            admin; the registry, JSON
//   POST /v1/admin/models/{name}/versions/{v}:publish admin; manual publish
//   POST /v1/admin/models/{name}:rollback[?to=V]     admin; rollback
//   GET  /v1/admin/populations/{population}/privacy[?limit=N]  admin; the privacy
//                                   ledger's newest N rows (default 1000, at most 10000)
//   GET  /metrics                   Prometheus text format; fl_dp_epsilon_spent and
//                                   fl_dp_rounds_accounted from the store's ledger
//   TensorFlow Serving REST and KServe v2 prediction routes (serving/
//   serving_routes.h), answered from the published version, hot-swapped on
//   every publish or rollback.
//
// The registry decides publication (quality gate, optional holdout
// evaluation, automatic rollback). A publish or rollback made by another
// process on the same store (`fl-coordinator models ...`) is picked up within
// a second.
//
// Thread-safety: start() and stop() from one thread; handlers run on the io
// threads and the engine serialises them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "aggregation/parallel.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "coordinator/http/http_server.h"
#include "coordinator/metrics/coordinator_metrics.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/registry/registry.h"
#include "coordinator/rounds/round_engine.h"
#include "coordinator/service/config.h"
#include "coordinator/service/event_log.h"
#include "coordinator/serving/served_models.h"
#include "coordinator/store/store.h"
#include "crypto/rng.h"

namespace fl::coordinator {

class CoordinatorService {
 public:
  // Opens the store (failing interrupted rounds), creates the engine and the
  // routes. Nothing listens until start().
  static Result<std::unique_ptr<CoordinatorService>> create(CoordinatorConfig config);
  ~CoordinatorService();

  Status start();
  void stop();
  uint16_t port() const;
  // The id client signatures cover, as told to devices at enrolment.
  const std::string& audience() const { return audience_; }
  RoundEngine& engine() { return *engine_; }
  Store& store() { return *store_; }
  Registry& registry() { return *registry_; }
  serving::ServedModels& served() { return *served_; }
  // The Prometheus exposition, as GET /metrics answers it.
  std::string metrics_text() const;

 private:
  CoordinatorService() = default;
  http::Router routes();
  void on_published(std::string_view model, int64_t version, std::string_view reason);
  void apply_publication(std::string_view model, int64_t version, std::string_view reason);
  void sync_published();
  // Sets the privacy gauges from the newest ledger row (one indexed read);
  // at startup and after each completed round, so they hold across restarts.
  void refresh_privacy_metrics();
  http::Response privacy_ledger_response(const http::Request& r);
  http::Response published_model_response(const http::Request& r);

  CoordinatorConfig config_;
  std::string audience_;  // what client signatures cover (coordinator_audience)
  std::unique_ptr<EventLog> log_;
  metrics::Registry metrics_registry_;
  std::unique_ptr<metrics::CoordinatorMetrics> metrics_;
  std::unique_ptr<RoundListener> round_listener_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
  std::shared_ptr<serving::ServedModels> served_;
  std::optional<model::Dataset> holdout_;
  std::mutex publication_mu_;  // orders applying publications (on_published, sync)
  // The published model file as devices download it, set with each applied
  // publication, so a download reads no store on an io thread. Its own
  // mutex, held only to copy the pointer: requests never wait on a
  // publication being applied.
  mutable std::mutex published_file_mu_;
  int64_t published_file_version_ = 0;
  std::shared_ptr<const std::string> published_file_;
  crypto::SystemRng rng_;
  // Where each round's slow tail runs (unmasking, evaluation, the store
  // commit, the gate), so the io threads only parse, authenticate and
  // enqueue (DESIGN.md section 10). Declared before the engine is used and
  // drained in stop() before anything it touches goes away.
  std::unique_ptr<ThreadPool> aggregation_pool_;
  std::unique_ptr<aggregation::ThreadPoolExecutor> unmask_executor_;
  std::unique_ptr<RoundEngine> engine_;
  std::unique_ptr<http::HttpServer> server_;
  std::atomic<bool> running_{false};
  std::thread ticker_;
};

int64_t unix_millis_now();

// The id signed client requests are bound to (fl-request-v3's audience), so a
// request captured at one coordinator is refused by another: config.audience,
// or else "fl-" + the first 16 hex digits of a domain-separated BLAKE2b of the
// admin token, which differs between deployments (their admin tokens do), stays the
// same across restarts, and reveals nothing of the token.
std::string coordinator_audience(const CoordinatorConfig& config);

}  // namespace fl::coordinator
