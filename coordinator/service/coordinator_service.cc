#include "coordinator/service/coordinator_service.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "coordinator/http/auth/admin_credential.h"
#include "coordinator/http/auth/request_authenticator.h"
#include "coordinator/http/auth_hook.h"
#include "coordinator/http/response.h"
#include "coordinator/metrics/text_exposition.h"
#include "coordinator/service/enrollment.h"
#include "coordinator/service/privacy_ledger_view.h"
#include "coordinator/service/store_version_source.h"
#include "coordinator/serving/serving_routes.h"
#include "coordinator/store/sqlite_store.h"
#include "crypto/kdf.h"
#include "model/fashion_mnist.h"
#include "model/serialization.h"
#include "proto/coordinator.pb.h"
#include "protocol/published_model.h"
#include "protocol/secagg_exchange_reader.h"

namespace fl::coordinator {
namespace {

using http::Request;
using http::Response;

int64_t parse_id(std::string_view text) {
  auto v = auth::parse_decimal_u64(text);
  return v && *v <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(*v) : -1;
}

template <typename Message>
bool parse_body(const Request& r, Message& m) {
  return m.ParseFromString(r.body);
}

Response from_status(const Status& s) {
  Response r = http::json_error(s);
  if (s.code() == ErrorCode::kUnavailable) r.headers.set("Retry-After", "1");
  return r;
}

Response malformed(std::string_view what) {
  return http::json_error(400,
                          std::string("malformed protobuf body: expected ") + std::string(what));
}

// Round progress into Prometheus metrics and the event log.
class MetricsRoundListener final : public RoundListener {
 public:
  // `after_completion` runs once a round's commit is done (the privacy
  // gauges read the ledger row it wrote).
  MetricsRoundListener(metrics::CoordinatorMetrics& metrics, EventLog& log, std::string model,
                       std::string population, std::function<void()> after_completion)
      : metrics_(metrics),
        log_(log),
        model_(std::move(model)),
        population_(std::move(population)),
        after_completion_(std::move(after_completion)) {}
  void round_started(int64_t round_id, uint32_t selected) override {
    metrics_.round_started();
    metrics_.set_round_clients("selected", selected);
    log_.write("info", "round_started",
               "round " + std::to_string(round_id) + ": started with " + std::to_string(selected) +
                   " clients",
               {.round = round_id, .version = std::nullopt, .model = model_});
  }
  void stage_closed(int64_t, std::string_view stage, double seconds, uint32_t clients,
                    uint32_t dropped) override {
    metrics_.observe_stage_duration(stage, seconds);
    metrics_.set_round_clients(stage, clients);
    if (dropped > 0) metrics_.clients_dropped(stage, dropped);
  }
  void round_completed(int64_t round_id, int64_t version, double aggregation_seconds) override {
    metrics_.round_completed();
    metrics_.observe_aggregation(aggregation_seconds);
    log_.write(
        "info", "round_completed",
        "round " + std::to_string(round_id) + ": completed; new version " + std::to_string(version),
        {.round = round_id, .version = version, .model = model_});
    if (after_completion_) after_completion_();
  }
  void round_failed(int64_t round_id, std::string_view kind, std::string_view reason) override {
    metrics_.round_failed(kind);
    log_.write("warning", "round_failed",
               "round " + std::to_string(round_id) + ": failed (" + std::string(kind) +
                   "): " + std::string(reason),
               {.round = round_id, .version = std::nullopt, .model = model_});
  }
  void training_halted(std::string_view reason) override {
    log_.write("warning", "training_halted", "training halted: " + std::string(reason),
               {.round = std::nullopt, .version = std::nullopt, .model = model_});
  }
  void evaluation_inconclusive(int64_t round_id, int64_t version,
                               std::string_view reason) override {
    metrics_.federated_evaluations_inconclusive(population_);
    log_.write("warning", "evaluation_inconclusive", std::string(reason),
               {.round = round_id, .version = version, .model = model_});
  }

 private:
  metrics::CoordinatorMetrics& metrics_;
  EventLog& log_;
  std::string model_;
  std::string population_;
  std::function<void()> after_completion_;
};

// ?limit= of the privacy route: the ledger grows by a row a round, so a reply
// is bounded; the newest rows are the ones an operator asks about.
constexpr size_t kPrivacyRowsDefault = 1000;
constexpr size_t kPrivacyRowsMax = 10000;

}  // namespace

std::string coordinator_audience(const CoordinatorConfig& config) {
  if (!config.audience.empty()) return config.audience;
  std::string message = "fl-audience-v1";
  message.push_back('\0');
  message += config.admin_token;
  const crypto::Key32 digest =
      crypto::blake2b_256({reinterpret_cast<const uint8_t*>(message.data()), message.size()});
  sodium_memzero(message.data(), message.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "fl-";
  for (size_t i = 0; i < 8; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 15]);
  }
  return id;
}

constexpr int kAggregationNice = 10;

int64_t unix_millis_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<CoordinatorService>> CoordinatorService::create(CoordinatorConfig config) {
  FL_RETURN_IF_ERROR(validate_config(config));
  std::unique_ptr<CoordinatorService> s(new CoordinatorService());
  s->config_ = std::move(config);
  CoordinatorService* self = s.get();
  const std::string& model_name = s->config_.population.model_name;
  s->log_ = std::make_unique<EventLog>(s->config_.json_logs);
  auto metrics = metrics::CoordinatorMetrics::create(s->metrics_registry_);
  if (!metrics.ok()) return metrics.status();
  s->metrics_ = std::move(*metrics);
  s->round_listener_ = std::make_unique<MetricsRoundListener>(
      *s->metrics_, *s->log_, model_name, s->config_.population.population,
      [self] { self->refresh_privacy_metrics(); });
  if (s->config_.population.federated_evaluation.enabled)
    s->metrics_->federated_evaluations_inconclusive(s->config_.population.population, 0);
  if (s->config_.enrollment.mode == EnrollmentMode::kOpen)
    s->log_->write("warning", "enrollment_open",
                   "enrollment.mode is open: anyone who can reach this coordinator can enrol any"
                   " number of identities and stuff cohorts with them; use token or certificate"
                   " mode outside a lab");

  auto store = SqliteStore::open(s->config_.store_path);
  if (!store.ok()) return store.status();
  s->store_ = std::move(*store);
  s->refresh_privacy_metrics();

  if (!s->config_.holdout.empty()) {
    const std::string dir = s->config_.holdout == "fashion-mnist"
                                ? std::string(model::kDefaultFashionMnistDir)
                                : s->config_.holdout.substr(std::string("fashion-mnist:").size());
    auto test = model::load_fashion_mnist(dir, model::Split::kTest);
    if (!test.ok())
      return Status(test.status().code(), "registry.holdout: " + test.status().message());
    s->holdout_ = s->config_.holdout_limit > 0
                      ? model::head(*test, static_cast<int64_t>(s->config_.holdout_limit))
                      : std::move(*test);
  }

  s->served_ = std::make_shared<serving::ServedModels>(
      std::vector<std::string>{model_name}, std::make_shared<StoreVersionSource>(*s->store_));
  RegistryOptions registry_options;
  registry_options.gate = s->config_.gate;
  registry_options.monitor = s->config_.monitor;
  registry_options.callbacks.on_published = [self](std::string_view model, int64_t version,
                                                   std::string_view reason) {
    self->on_published(model, version, reason);
  };
  registry_options.callbacks.on_alert = [self](std::string_view model, std::string_view kind,
                                               std::string_view message) {
    self->metrics_->registry_alert(model, kind);
    self->log_->write(
        "warning", "registry_alert",
        "registry alert (" + std::string(kind) + "): " + std::string(message),
        {.round = std::nullopt, .version = std::nullopt, .model = std::string(model)});
  };
  auto registry = Registry::create(*s->store_, std::move(registry_options));
  if (!registry.ok()) return registry.status();
  s->registry_ = std::move(*registry);

  EngineHooks hooks;
  hooks.registry = s->registry_.get();
  hooks.holdout = s->holdout_ ? &*s->holdout_ : nullptr;
  hooks.listener = s->round_listener_.get();
  hooks.gate_waits_for_federated_evaluation = s->config_.population.federated_evaluation.enabled &&
                                              s->config_.gate.metric.rfind("fed_", 0) == 0;
  // Nice 10: the unmasking is CPU-bound batch work; the io threads answering
  // probes, check-ins and predictions meanwhile take the cores first.
  s->aggregation_pool_ = std::make_unique<ThreadPool>(
      std::max<unsigned>(1, s->config_.population.unmask_threads), kAggregationNice);
  s->unmask_executor_ = std::make_unique<aggregation::ThreadPoolExecutor>(*s->aggregation_pool_);
  hooks.executor = s->aggregation_pool_.get();
  hooks.parallel = s->unmask_executor_.get();
  auto engine =
      RoundEngine::create(s->config_.population, *s->store_, s->rng_, unix_millis_now(), hooks);
  if (!engine.ok()) return engine.status();
  s->engine_ = std::move(*engine);
  s->sync_published();  // serve what is published now

  auto admin = auth::AdminCredential::from_token(s->config_.admin_token);
  if (!admin.ok()) return admin.status();
  Store* st = s->store_.get();
  s->audience_ = coordinator_audience(s->config_);
  auth::AuthenticatorOptions auth_options;
  auth_options.audience = s->audience_;
  auto clients = std::make_shared<const auth::RequestAuthenticator>(
      [st](uint64_t id) -> std::optional<crypto::Key32> {
        auto c = st->find_client(id);
        // A revoked client is unknown from now on: its signed requests get 401.
        if (!c.ok() || c->revoked_at_ms) return std::nullopt;
        crypto::Key32 k;
        std::copy(c->public_key.begin(), c->public_key.end(), k.begin());
        return k;
      },
      [] { return unix_millis_now(); }, auth_options);
  http::HttpServerOptions options;
  options.address = s->config_.address;
  options.port = s->config_.port;
  options.io_threads = s->config_.io_threads;
  if (!s->config_.tls_certificate.empty())
    options.tls = http::TlsOptions{s->config_.tls_certificate, s->config_.tls_private_key,
                                   s->config_.tls_client_ca};
  // Per peer address before authentication (a NAT's devices share it), per
  // authenticated client after it.
  options.rate_limit = http::RateLimit{s->config_.ip_requests_per_second, s->config_.ip_burst};
  options.client_rate_limit = http::RateLimit{s->config_.requests_per_second, s->config_.burst};
  options.max_concurrent_large_bodies = s->config_.max_concurrent_uploads;
  options.on_request = [self](const http::RequestMetrics& m) {
    self->metrics_->observe_request(m.route, m.method, m.status, m.bytes_in, m.bytes_out,
                                    std::chrono::duration<double>(m.duration).count());
  };
  options.authorize = http::make_authorizer(
      clients, std::make_shared<const auth::AdminCredential>(std::move(*admin)));
  s->server_ = std::make_unique<http::HttpServer>(s->routes(), std::move(options));
  return s;
}

CoordinatorService::~CoordinatorService() { stop(); }

std::string CoordinatorService::metrics_text() const {
  return metrics::render_text(metrics_registry_.collect());
}

// Runs after every commit that changed what is published (the registry's
// callback; possibly inside a round's completion, so no engine lock here).
void CoordinatorService::on_published(std::string_view model, int64_t version,
                                      std::string_view reason) {
  std::lock_guard lock(publication_mu_);
  apply_publication(model, version, reason);
}

// Under publication_mu_: the registry's callback and the once-a-second sync
// may both learn of one publication; it is applied (swapped, counted, logged)
// once.
void CoordinatorService::apply_publication(std::string_view model, int64_t version,
                                           std::string_view reason) {
  if (auto served = served_->published(model); served && served->version == version) return;
  auto v = store_->get_version(version);
  if (!v.ok()) {
    log_->write(
        "error", "serving_swap_failed",
        "cannot load published version " + std::to_string(version) + ": " + v.status().message(),
        {.round = std::nullopt, .version = version, .model = std::string(model)});
    return;
  }
  auto m = model::load_model(v->model_bytes, "registry version " + std::to_string(version));
  // Devices get the file only once the coordinator can load it itself.
  if (m.ok() && model == config_.population.model_name) {
    auto bytes = std::make_shared<const std::string>(v->model_bytes);
    std::lock_guard file_lock(published_file_mu_);
    published_file_version_ = version;
    published_file_ = std::move(bytes);
  }
  if (m.ok()) {
    if (Status st = served_->publish(model, version, std::move(*m)); !st.ok())
      log_->write("error", "serving_swap_failed", st.message(),
                  {.round = std::nullopt, .version = version, .model = std::string(model)});
  }
  metrics_->set_published_version(model, static_cast<uint64_t>(version));
  for (const auto& [name, value] : v->metrics)
    metrics_->set_evaluation(model, static_cast<uint64_t>(version), name, value);
  if (reason == publish_reason::kRollback || reason == publish_reason::kAutoRollback) {
    metrics_->registry_rollback(model);
    if (model == config_.population.model_name) engine_->rebase_on(version);
  }
  std::string line = "published " + std::string(model) + " version " + std::to_string(version) +
                     " (" + std::string(reason) + ")";
  char figures[96] = "";
  if (auto it = v->metrics.find("fed_accuracy"); it != v->metrics.end())
    std::snprintf(figures, sizeof(figures), "; federated accuracy %.4f", it->second);
  else if (auto mse = v->metrics.find("fed_mse"); mse != v->metrics.end())
    std::snprintf(figures, sizeof(figures), "; federated mse %.6g", mse->second);
  line += figures;
  if (auto it = v->metrics.find("accuracy"); it != v->metrics.end()) {
    std::snprintf(figures, sizeof(figures), "; holdout accuracy %.4f", it->second);
    line += figures;
  }
  log_->write("info", "model_published", line,
              {.round = v->round_id, .version = version, .model = std::string(model)});
}

void CoordinatorService::refresh_privacy_metrics() {
  const std::string& population = config_.population.population;
  auto tail = store_->privacy_ledger_tail(population, 1);
  if (!tail.ok()) {
    log_->write("warning", "privacy_metrics_stale",
                "cannot read the privacy ledger of " + population + ": " + tail.status().message());
    return;
  }
  if (tail->rows.empty()) return;  // no DP: no series, rather than a false 0
  metrics_->set_privacy_spent(population, tail->rows.back().spend.epsilon, tail->rounds);
}

// GET /v1/admin/populations/{population}/privacy[?limit=N]. A population is
// known when this coordinator runs it or the store holds a ledger for it
// (an earlier configuration's); any other is 404, so a typo is not mistaken
// for a population that spent nothing.
http::Response CoordinatorService::privacy_ledger_response(const http::Request& r) {
  const std::string population(r.param("population"));
  size_t limit = kPrivacyRowsDefault;
  if (auto text = r.query_param("limit")) {
    auto v = auth::parse_decimal_u64(*text);
    if (!v || *v > kPrivacyRowsMax)
      return http::json_error(400, "limit must be a whole number from 0 to " +
                                       std::to_string(kPrivacyRowsMax) + ", not '" +
                                       std::string(*text) + "'");
    limit = static_cast<size_t>(*v);
  }
  // At least the newest row: the totals come from it even when limit is 0.
  auto tail = store_->privacy_ledger_tail(population, std::max<size_t>(limit, 1));
  if (!tail.ok()) return from_status(tail.status());
  if (tail->rounds == 0 && population != config_.population.population)
    return http::json_error(404, "population '" + population +
                                     "' is not run by this coordinator and has no privacy ledger");
  return http::json_response(privacy_ledger_json(population, *tail, limit).dump());
}

// GET /v1/published_model?population=NAME: what devices run on-device
// inference with. The population's, not a model name: a device knows what it
// joined. Answered from memory (published_file_), never from the store.
http::Response CoordinatorService::published_model_response(const http::Request& r) {
  const auto population = r.query_param(protocol::kPublishedModelPopulationParam);
  if (!population || population->empty())
    return http::json_error(400,
                            "population: name the population whose published model to "
                            "fetch (?population=NAME)");
  if (*population != config_.population.population)
    return http::json_error(404, "population '" + *population +
                                     "' is not run by this coordinator (it runs '" +
                                     config_.population.population + "')");
  int64_t version = 0;
  std::shared_ptr<const std::string> bytes;
  {
    std::lock_guard lock(published_file_mu_);
    version = published_file_version_;
    bytes = published_file_;
  }
  if (!bytes)
    return http::json_error(404, "population '" + *population + "' has no published model yet");
  http::Response response = http::protobuf_response(std::move(bytes));
  response.headers.set(protocol::kModelVersionHeader, std::to_string(version));
  return response;
}

// Picks up publications made by another process on the same store.
void CoordinatorService::sync_published() {
  // Read and apply under the lock, so a stale read cannot undo a newer
  // publication the callback applied meanwhile.
  std::lock_guard lock(publication_mu_);
  const std::string& model = config_.population.model_name;
  auto published = registry_->published_version(model);
  if (!published.ok()) return;
  auto served = served_->published(model);
  if (served && served->version == published->id) return;
  // Another process (fl-coordinator models ...) changed it: act on its reason.
  std::string reason = "sync";
  if (auto history = registry_->publications(model, 1);
      history.ok() && !history->empty() && history->front().version_id == published->id)
    reason = history->front().reason;
  apply_publication(model, published->id, reason);
}

http::Router CoordinatorService::routes() {
  http::Router router;
  const http::RouteOptions signed_small{.max_body_bytes = 64 * 1024,
                                        .auth_class = std::string(http::kClientAuthClass)};
  const http::RouteOptions signed_large{.max_body_bytes = config_.max_update_bytes,
                                        .auth_class = std::string(http::kClientAuthClass)};
  const http::RouteOptions admin{.max_body_bytes = 64 * 1024,
                                 .auth_class = std::string(http::kAdminAuthClass)};
  const http::RouteOptions probe{.max_body_bytes = 0, .auth_class = "", .rate_limited = false};

  add_enroll_route(
      router, config_.enrollment, *store_, [] { return unix_millis_now(); }, audience_)
      .ok();
  router
      .add(
          "POST", "/v1/checkin",
          [this](const Request& r) {
            proto::CheckinRequest req;
            if (!parse_body(r, req)) return malformed("CheckinRequest");
            auto resp = engine_->checkin(*r.client_id, req, unix_millis_now());
            if (!resp.ok()) return from_status(resp.status());
            return http::protobuf_response(resp->SerializeAsString());
          },
          signed_small)
      .ok();
  router
      .add(
          "GET", "/v1/rounds/{round}/task",
          [this](const Request& r) {
            const int64_t round = parse_id(r.param("round"));
            if (round < 0) return http::json_error(400, "round must be a number");
            auto task = engine_->task(*r.client_id, round, unix_millis_now());
            if (!task.ok()) return from_status(task.status());
            return http::protobuf_response(task->SerializeAsString());
          },
          signed_small)
      .ok();
  router
      .add(
          "GET", "/v1/model_versions/{version}",
          [this](const Request& r) {
            const int64_t version = parse_id(r.param("version"));
            if (version < 0) return http::json_error(400, "version must be a number");
            auto bytes = engine_->model_bytes(version);
            if (!bytes.ok()) return from_status(bytes.status());
            return http::protobuf_response(std::move(*bytes));
          },
          signed_small)
      .ok();
  router
      .add(
          "GET", std::string(protocol::kPublishedModelPath),
          [this](const Request& r) { return published_model_response(r); }, signed_small)
      .ok();
  router
      .add(
          "POST", "/v1/rounds/{round}/secagg",
          [this](const Request& r) {
            const int64_t round = parse_id(r.param("round"));
            if (round < 0) return http::json_error(400, "round must be a number");
            // The masked input's vector stays in the body: the session adds
            // it to the running sum from there (no protobuf copy).
            auto req = protocol::read_secagg_exchange(r.body);
            if (!req.ok()) return malformed("SecAggExchange");
            auto resp = engine_->exchange(*r.client_id, round, req->exchange, unix_millis_now(),
                                          req->masked_vector);
            if (!resp.ok()) return from_status(resp.status());
            return http::protobuf_response(resp->SerializeAsString());
          },
          signed_large)
      .ok();
  router
      .add(
          "POST", "/v1/rounds/{round}/evaluation",
          [this](const Request& r) {
            const int64_t round = parse_id(r.param("round"));
            if (round < 0) return http::json_error(400, "round must be a number");
            proto::EvaluationReport req;
            if (!parse_body(r, req)) return malformed("EvaluationReport");
            Status st = engine_->report_evaluation(*r.client_id, round, req, unix_millis_now());
            if (!st.ok()) return from_status(st);
            return http::json_response("{}");
          },
          signed_small)
      .ok();
  router
      .add(
          "GET", "/healthz", [](const Request&) { return http::text_response("ok\n"); }, probe)
      .ok();
  router
      .add(
          "GET", "/metrics",
          [this](const Request&) {
            http::Response r = http::text_response(metrics_text());
            r.content_type = std::string(metrics::kPrometheusContentType);
            return r;
          },
          probe)
      .ok();
  if (config_.serving_enabled) {
    serving::ServingRouteOptions serving_options;
    serving_options.max_batch_rows = config_.max_batch_rows;
    serving_options.observer = [this](std::string_view api, std::string_view model, int status,
                                      double seconds) {
      metrics_->observe_prediction(api, model, status, seconds);
      if (status >= 400)
        metrics_->prediction_error(api, status == 404  ? "not_found"
                                        : status < 500 ? "bad_request"
                                                       : "internal");
    };
    if (Status st = serving::add_serving_routes(router, served_, serving_options); !st.ok())
      log_->write("error", "serving_disabled", "serving routes: " + st.message());
  }
  router
      .add(
          "GET", "/v1/admin/models/{name}/versions",
          [this](const Request& r) {
            auto versions = registry_->list_versions(r.param("name"));
            if (!versions.ok()) return from_status(versions.status());
            nlohmann::json list = nlohmann::json::array();
            for (const ModelVersion& v : *versions) {
              nlohmann::json j = {{"id", v.id},
                                  {"stage", std::string(version_stage_name(v.stage))},
                                  {"created_at_ms", v.created_at_ms},
                                  {"metrics", v.metrics}};
              if (v.parent_id) j["parent"] = *v.parent_id;
              if (v.round_id) j["round"] = *v.round_id;
              list.push_back(j);
            }
            return http::json_response(nlohmann::json{{"versions", list}}.dump());
          },
          admin)
      .ok();
  router
      .add(
          "POST", "/v1/admin/models/{name}/versions/{version}:publish",
          [this](const Request& r) {
            const int64_t version = parse_id(r.param("version"));
            if (version < 0) return http::json_error(400, "version must be a number");
            Status st = registry_->publish(r.param("name"), version, publish_reason::kManual,
                                           unix_millis_now(), "admin-api");
            if (!st.ok()) return from_status(st);
            return http::json_response(nlohmann::json{{"published", version}}.dump());
          },
          admin)
      .ok();
  router
      .add(
          "POST", "/v1/admin/models/{name}:rollback",
          [this](const Request& r) {
            std::optional<int64_t> to;
            if (auto text = r.query_param("to")) {
              const int64_t v = parse_id(*text);
              if (v < 0) return http::json_error(400, "to must be a version number");
              to = v;
            }
            auto now_published =
                registry_->rollback(r.param("name"), to, unix_millis_now(), "admin-api");
            if (!now_published.ok()) return from_status(now_published.status());
            return http::json_response(nlohmann::json{{"published", *now_published}}.dump());
          },
          admin)
      .ok();
  router
      .add(
          "GET", "/v1/admin/populations/{population}/privacy",
          [this](const Request& r) { return privacy_ledger_response(r); }, admin)
      .ok();
  router
      .add(
          "GET", "/readyz",
          [this](const Request&) {
            auto latest =
                store_->latest_version(config_.population.model_name, VersionStage::kPublished);
            if (!latest.ok()) return http::text_response("store not ready\n", 503);
            return http::text_response("ready\n");
          },
          probe)
      .ok();
  router
      .add(
          "GET", "/v1/admin/status",
          [this](const Request&) {
            const auto s = engine_->snapshot();
            nlohmann::json j = {{"population", config_.population.population},
                                {"model", config_.population.model_name},
                                {"phase", std::string(phase_name(s.phase))},
                                {"round", s.round_id},
                                {"global_version", s.global_version},
                                {"rounds_completed", s.rounds_completed},
                                {"rounds_failed", s.rounds_failed},
                                {"selected", s.selected},
                                {"pool", s.pool},
                                {"secagg_stage", s.secagg_stage},
                                {"advertised", s.counts.advertised},
                                {"shared_keys", s.counts.shared_keys},
                                {"masked_input", s.counts.masked_input},
                                {"unmasked", s.counts.unmasked}};
            return http::json_response(j.dump());
          },
          admin)
      .ok();
  router
      .add(
          "GET", "/v1/admin/rounds",
          [this](const Request&) {
            auto rounds = store_->list_rounds(100);
            if (!rounds.ok()) return from_status(rounds.status());
            nlohmann::json list = nlohmann::json::array();
            for (const auto& r : *rounds) {
              nlohmann::json j = {{"id", r.id},
                                  {"population", r.population},
                                  {"base_version", r.base_version_id},
                                  {"state", std::string(round_state_name(r.state))},
                                  {"failure_reason", r.failure_reason},
                                  {"selected", r.counts.selected},
                                  {"advertised", r.counts.advertised},
                                  {"shared_keys", r.counts.shared_keys},
                                  {"masked_input", r.counts.masked_input},
                                  {"unmasked", r.counts.unmasked},
                                  {"started_at_ms", r.started_at_ms}};
              if (r.result_version_id) j["result_version"] = *r.result_version_id;
              list.push_back(j);
            }
            return http::json_response(nlohmann::json{{"rounds", list}}.dump());
          },
          admin)
      .ok();
  return router;
}

Status CoordinatorService::start() {
  FL_RETURN_IF_ERROR(server_->start());
  running_ = true;
  ticker_ = std::thread([this] {
    int ticks = 0;
    while (running_) {
      engine_->tick(unix_millis_now());
      if (++ticks % 20 == 0) sync_published();  // once a second
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  return Status::Ok();
}

void CoordinatorService::stop() {
  if (running_.exchange(false) && ticker_.joinable()) ticker_.join();
  if (server_) server_->stop();
  // Runs a round's aggregation still queued to its end (a commit is never cut
  // short by a stop), then joins the workers.
  aggregation_pool_.reset();
  unmask_executor_.reset();
}

uint16_t CoordinatorService::port() const { return server_->port(); }

}  // namespace fl::coordinator
