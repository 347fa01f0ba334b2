#include "coordinator/service/admin_commands.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "coordinator/http/http_server.h"
#include "coordinator/metrics/coordinator_metrics.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/metrics/text_exposition.h"
#include "coordinator/registry/registry.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/service/event_log.h"
#include "coordinator/service/store_version_source.h"
#include "coordinator/serving/csv_prediction.h"
#include "coordinator/serving/serving_routes.h"
#include "coordinator/store/sqlite_store.h"
#include "model/serialization.h"

namespace fl::coordinator {
namespace {

volatile std::sig_atomic_t g_serve_stop = 0;
void on_serve_signal(int) { g_serve_stop = 1; }

int fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "fl-coordinator %s: %s\n", command.c_str(), status.to_string().c_str());
  return 1;
}

std::string metrics_line(const VersionMetrics& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%s=%.4g", name.c_str(), value);
    if (!out.empty()) out += ' ';
    out += buffer;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

int run_models_command(const ModelsCommand& c) {
  const std::string name = "models " + c.action;
  auto store = SqliteStore::open(c.db);
  if (!store.ok()) return fail(name, store.status());
  RegistryOptions options;
  options.actor = "cli";
  auto registry = Registry::create(**store, options);
  if (!registry.ok()) return fail(name, registry.status());
  Registry& r = **registry;
  if (c.action == "list") {
    auto versions = r.list_versions(c.model);
    if (!versions.ok()) return fail(name, versions.status());
    std::printf("%-8s %-10s %-8s %-8s %s\n", "version", "stage", "parent", "round", "metrics");
    for (const ModelVersion& v : *versions)
      std::printf("%-8lld %-10s %-8s %-8s %s\n", static_cast<long long>(v.id),
                  std::string(version_stage_name(v.stage)).c_str(),
                  v.parent_id ? std::to_string(*v.parent_id).c_str() : "-",
                  v.round_id ? std::to_string(*v.round_id).c_str() : "-",
                  metrics_line(v.metrics).c_str());
    return 0;
  }
  if (c.action == "show") {
    auto v = r.show_version(c.version);
    if (!v.ok()) return fail(name, v.status());
    auto m = model::load_model(v->model_bytes, "version " + std::to_string(v->id));
    std::printf(
        "version %lld of %s\n  stage: %s\n  parent: %s\n  round: %s\n  created_at_ms: %lld\n"
        "  metrics: %s\n  model bytes: %zu\n",
        static_cast<long long>(v->id), v->model.c_str(),
        std::string(version_stage_name(v->stage)).c_str(),
        v->parent_id ? std::to_string(*v->parent_id).c_str() : "-",
        v->round_id ? std::to_string(*v->round_id).c_str() : "-",
        static_cast<long long>(v->created_at_ms), metrics_line(v->metrics).c_str(),
        v->model_bytes.size());
    if (m.ok()) std::printf("  parameters: %lld\n", static_cast<long long>(m->params.size()));
    return 0;
  }
  if (c.action == "history") {
    auto history = r.publications(c.model, 50);
    if (!history.ok()) return fail(name, history.status());
    for (const Publication& p : *history)
      std::printf("at_ms %lld: version %lld published (%s by %s), previous %s\n",
                  static_cast<long long>(p.at_ms), static_cast<long long>(p.version_id),
                  p.reason.c_str(), p.actor.c_str(),
                  p.previous_version_id ? std::to_string(*p.previous_version_id).c_str() : "-");
    return 0;
  }
  if (c.action == "publish") {
    if (Status s = r.publish(c.model, c.version, publish_reason::kManual, unix_millis_now());
        !s.ok())
      return fail(name, s);
    std::printf("published %s version %lld\n", c.model.c_str(), static_cast<long long>(c.version));
    return 0;
  }
  if (c.action == "rollback") {
    auto now = r.rollback(c.model, c.to, unix_millis_now());
    if (!now.ok()) return fail(name, now.status());
    std::printf("rolled %s back to version %lld\n", c.model.c_str(), static_cast<long long>(*now));
    return 0;
  }
  return fail(name, InvalidArgument("unknown action (list, show, history, publish, rollback)"));
}

int run_predict_command(const PredictCommand& c) {
  auto store = SqliteStore::open(c.db);
  if (!store.ok()) return fail("predict", store.status());
  auto v = c.version > 0 ? (*store)->get_version(c.version)
                         : (*store)->latest_version(c.model, VersionStage::kPublished);
  if (!v.ok()) return fail("predict", v.status());
  if (v->model != c.model)
    return fail("predict",
                NotFound("version " + std::to_string(v->id) + " is not a version of " + c.model));
  auto m = model::load_model(v->model_bytes, "version " + std::to_string(v->id));
  if (!m.ok()) return fail("predict", m.status());
  if (Status s = serving::predict_csv(*m, c.input, c.output); !s.ok()) return fail("predict", s);
  std::printf("predicted %s with %s version %lld into %s\n", c.input.c_str(), c.model.c_str(),
              static_cast<long long>(v->id), c.output.c_str());
  return 0;
}

int run_serve_command(const ServeCommand& c) {
  auto store = SqliteStore::open(c.db);
  if (!store.ok()) return fail("serve", store.status());
  EventLog log(c.json_logs);
  metrics::Registry metrics_registry;
  auto metrics = metrics::CoordinatorMetrics::create(metrics_registry);
  if (!metrics.ok()) return fail("serve", metrics.status());
  auto served = std::make_shared<serving::ServedModels>(
      c.models, std::make_shared<StoreVersionSource>(**store));

  // Serves what the registry publishes, now and whenever it changes.
  auto sync = [&] {
    for (const std::string& name : c.models) {
      auto published = (*store)->latest_version(name, VersionStage::kPublished);
      if (!published.ok()) continue;
      auto current = served->published(name);
      if (current && current->version == published->id) continue;
      auto m =
          model::load_model(published->model_bytes, "version " + std::to_string(published->id));
      if (!m.ok() || !served->publish(name, published->id, std::move(*m)).ok()) continue;
      (*metrics)->set_published_version(name, static_cast<uint64_t>(published->id));
      log.write("info", "model_published",
                "serving " + name + " version " + std::to_string(published->id),
                {.round = std::nullopt, .version = published->id, .model = name});
    }
  };
  sync();

  http::Router router;
  serving::ServingRouteOptions options;
  options.max_batch_rows = c.max_batch_rows;
  metrics::CoordinatorMetrics* m = metrics->get();
  options.observer = [m](std::string_view api, std::string_view model, int status, double seconds) {
    m->observe_prediction(api, model, status, seconds);
  };
  if (Status s = serving::add_serving_routes(router, served, options); !s.ok())
    return fail("serve", s);
  const http::RouteOptions probe{.max_body_bytes = 0, .auth_class = "", .rate_limited = false};
  router
      .add(
          "GET", "/healthz", [](const http::Request&) { return http::text_response("ok\n"); },
          probe)
      .ok();
  router
      .add(
          "GET", "/readyz",
          [served](const http::Request&) {
            return served->ready() ? http::text_response("ready\n")
                                   : http::text_response("no published version yet\n", 503);
          },
          probe)
      .ok();
  router
      .add(
          "GET", "/metrics",
          [&metrics_registry](const http::Request&) {
            http::Response r =
                http::text_response(metrics::render_text(metrics_registry.collect()));
            r.content_type = std::string(metrics::kPrometheusContentType);
            return r;
          },
          probe)
      .ok();
  http::HttpServerOptions server_options;
  server_options.address = c.address;
  server_options.port = c.port;
  server_options.io_threads = c.io_threads;
  server_options.on_request = [m](const http::RequestMetrics& r) {
    m->observe_request(r.route, r.method, r.status, r.bytes_in, r.bytes_out,
                       std::chrono::duration<double>(r.duration).count());
  };
  http::HttpServer server(std::move(router), std::move(server_options));
  if (Status s = server.start(); !s.ok()) return fail("serve", s);
  std::signal(SIGINT, on_serve_signal);
  std::signal(SIGTERM, on_serve_signal);
  std::printf("fl-coordinator serve listening on http://%s:%u\n", c.address.c_str(), server.port());
  std::fflush(stdout);
  while (!g_serve_stop) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    sync();
  }
  server.stop();
  return 0;
}

}  // namespace fl::coordinator
