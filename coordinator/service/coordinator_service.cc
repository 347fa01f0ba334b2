#include "coordinator/service/coordinator_service.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "coordinator/http/auth/admin_credential.h"
#include "coordinator/http/auth/request_authenticator.h"
#include "coordinator/http/auth_hook.h"
#include "coordinator/http/response.h"
#include "coordinator/store/sqlite_store.h"
#include "proto/coordinator.pb.h"

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
  return http::json_error(400, std::string("malformed protobuf body: expected ") +
                                   std::string(what));
}

}  // namespace

int64_t unix_millis_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<CoordinatorService>> CoordinatorService::create(CoordinatorConfig config) {
  FL_RETURN_IF_ERROR(validate_config(config));
  std::unique_ptr<CoordinatorService> s(new CoordinatorService());
  s->config_ = std::move(config);
  auto store = SqliteStore::open(s->config_.store_path);
  if (!store.ok()) return store.status();
  s->store_ = std::move(*store);
  auto engine = RoundEngine::create(s->config_.population, *s->store_, s->rng_, unix_millis_now());
  if (!engine.ok()) return engine.status();
  s->engine_ = std::move(*engine);

  auto admin = auth::AdminCredential::from_token(s->config_.admin_token);
  if (!admin.ok()) return admin.status();
  Store* st = s->store_.get();
  auto clients = std::make_shared<const auth::RequestAuthenticator>(
      [st](uint64_t id) -> std::optional<crypto::Key32> {
        auto c = st->find_client(id);
        if (!c.ok()) return std::nullopt;
        crypto::Key32 k;
        std::copy(c->public_key.begin(), c->public_key.end(), k.begin());
        return k;
      },
      [] { return unix_millis_now(); });
  http::HttpServerOptions options;
  options.address = s->config_.address;
  options.port = s->config_.port;
  options.io_threads = s->config_.io_threads;
  if (!s->config_.tls_certificate.empty())
    options.tls = http::TlsOptions{s->config_.tls_certificate, s->config_.tls_private_key};
  options.rate_limit = http::RateLimit{s->config_.requests_per_second, s->config_.burst};
  // Rate-limit authenticated clients by their claimed id header, others by IP.
  options.rate_limit_key = [](const Request& r) {
    auto id = r.headers.get("X-FL-Client");
    return id ? "client:" + std::string(*id) : "ip:" + r.peer_address;
  };
  options.authorize = http::make_authorizer(
      clients, std::make_shared<const auth::AdminCredential>(std::move(*admin)));
  s->server_ = std::make_unique<http::HttpServer>(s->routes(), std::move(options));
  return s;
}

CoordinatorService::~CoordinatorService() { stop(); }

http::Router CoordinatorService::routes() {
  http::Router router;
  const http::RouteOptions signed_small{.max_body_bytes = 64 * 1024,
                                        .auth_class = std::string(http::kClientAuthClass)};
  const http::RouteOptions signed_large{.max_body_bytes = config_.max_update_bytes,
                                        .auth_class = std::string(http::kClientAuthClass)};
  const http::RouteOptions admin{.max_body_bytes = 64 * 1024,
                                 .auth_class = std::string(http::kAdminAuthClass)};
  const http::RouteOptions probe{.max_body_bytes = 0, .auth_class = "", .rate_limited = false};

  router
      .add("POST", "/v1/enroll",
           [this](const Request& r) {
             proto::EnrollRequest req;
             if (!parse_body(r, req)) return malformed("EnrollRequest");
             if (!config_.enrollment_token.empty() &&
                 req.enrollment_token() != config_.enrollment_token)
               return http::json_error(403, "enrollment token missing or wrong");
             if (req.identity_public_key().size() != 32)
               return http::json_error(400, "identity_public_key must be 32 bytes (Ed25519)");
             ClientPublicKey key;
             std::copy(req.identity_public_key().begin(), req.identity_public_key().end(),
                       key.begin());
             std::optional<std::string> label;
             if (!req.label().empty()) label = req.label().substr(0, 200);
             auto id = store_->enroll(key, unix_millis_now(), label);
             if (!id.ok() && id.status().code() == ErrorCode::kAlreadyExists) {
               auto existing = store_->find_client_by_key(key);
               if (!existing.ok()) return from_status(existing.status());
               id = existing->client_id;
             }
             if (!id.ok()) return from_status(id.status());
             proto::EnrollResponse resp;
             resp.set_client_id(*id);
             return http::protobuf_response(resp.SerializeAsString());
           },
           {.max_body_bytes = 4096, .auth_class = "", .rate_limited = true})
      .ok();
  router
      .add("POST", "/v1/checkin",
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
      .add("GET", "/v1/rounds/{round}/task",
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
      .add("GET", "/v1/models/{version}",
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
      .add("POST", "/v1/rounds/{round}/secagg",
           [this](const Request& r) {
             const int64_t round = parse_id(r.param("round"));
             if (round < 0) return http::json_error(400, "round must be a number");
             proto::SecAggExchange req;
             if (!parse_body(r, req)) return malformed("SecAggExchange");
             auto resp = engine_->exchange(*r.client_id, round, req, unix_millis_now());
             if (!resp.ok()) return from_status(resp.status());
             return http::protobuf_response(resp->SerializeAsString());
           },
           signed_large)
      .ok();
  router.add("GET", "/healthz", [](const Request&) { return http::text_response("ok\n"); }, probe)
      .ok();
  router
      .add("GET", "/readyz",
           [this](const Request&) {
             auto latest = store_->latest_version(config_.population.model_name,
                                                  VersionStage::kPublished);
             if (!latest.ok()) return http::text_response("store not ready\n", 503);
             return http::text_response("ready\n");
           },
           probe)
      .ok();
  router
      .add("GET", "/v1/admin/status",
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
      .add("GET", "/v1/admin/rounds",
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
    while (running_) {
      engine_->tick(unix_millis_now());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  return Status::Ok();
}

void CoordinatorService::stop() {
  if (running_.exchange(false) && ticker_.joinable()) ticker_.join();
  if (server_) server_->stop();
}

uint16_t CoordinatorService::port() const { return server_->port(); }

}  // namespace fl::coordinator
