// fl-coordinator: runs federated rounds with secure aggregation and keeps the
// model registry. `fl-coordinator --config coordinator.yaml`; flags override
// the file's settings.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <thread>

#include "coordinator/service/coordinator_service.h"
#include "coordinator/store/sqlite_store.h"
#include "model/fashion_mnist.h"
#include "model/metrics.h"
#include "model/serialization.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// `fl-coordinator evaluate`: scores a registry version (the published one by
// default) on the Fashion-MNIST test split.
int evaluate(const std::string& db, const std::string& model_name, int64_t version,
             const std::string& data_dir) {
  auto store = fl::coordinator::SqliteStore::open(db);
  if (!store.ok()) {
    std::fprintf(stderr, "fl-coordinator evaluate: %s\n", store.status().to_string().c_str());
    return 1;
  }
  auto v = version > 0 ? (*store)->get_version(version)
                       : (*store)->latest_version(model_name,
                                                  fl::coordinator::VersionStage::kPublished);
  if (!v.ok()) {
    std::fprintf(stderr, "fl-coordinator evaluate: %s\n", v.status().to_string().c_str());
    return 1;
  }
  auto m = fl::model::load_model(v->model_bytes, "registry version " + std::to_string(v->id));
  auto test = fl::model::load_fashion_mnist(data_dir, fl::model::Split::kTest);
  if (!m.ok() || !test.ok()) {
    std::fprintf(stderr, "fl-coordinator evaluate: %s%s\n", m.status().to_string().c_str(),
                 test.status().to_string().c_str());
    return 1;
  }
  auto metrics = fl::model::evaluate(*m, *test);
  if (!metrics.ok() || !metrics->classification) {
    std::fprintf(stderr, "fl-coordinator evaluate: %s\n", metrics.status().to_string().c_str());
    return 1;
  }
  std::printf("model %s version %lld (%s, round %s): test accuracy %.4f, log loss %.4f on %lld "
              "examples\n",
              v->model.c_str(), static_cast<long long>(v->id),
              std::string(fl::coordinator::version_stage_name(v->stage)).c_str(),
              v->round_id ? std::to_string(*v->round_id).c_str() : "-",
              metrics->classification->accuracy, metrics->loss,
              static_cast<long long>(metrics->count));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fl-coordinator: federated rounds with secure aggregation"};
  std::string config_path, address, db, cert, key, admin_token_file;
  int port = -1, rounds = -1, cohort = -1, io_threads = -1;
  app.add_option("--config", config_path, "YAML configuration file (required to run rounds)");
  auto* eval = app.add_subcommand("evaluate", "score a registry version on Fashion-MNIST's test split");
  std::string eval_db, eval_model, eval_data = fl::model::kDefaultFashionMnistDir;
  int64_t eval_version = 0;
  eval->add_option("--db", eval_db, "SQLite store")->required();
  eval->add_option("--model", eval_model, "model name")->required();
  eval->add_option("--version", eval_version, "version id (default: the published one)");
  eval->add_option("--data-dir", eval_data, "Fashion-MNIST directory");
  app.add_option("--address", address, "listen address (overrides listen.address)");
  app.add_option("--port", port, "listen port, 0 for any free port (overrides listen.port)");
  app.add_option("--io-threads", io_threads, "HTTP io threads (overrides listen.io_threads)");
  app.add_option("--db", db, "SQLite store path (overrides store.path)");
  app.add_option("--tls-cert", cert, "PEM certificate chain (overrides tls.certificate)");
  app.add_option("--tls-key", key, "PEM private key (overrides tls.private_key)");
  app.add_option("--admin-token-file", admin_token_file, "file holding the admin bearer token");
  app.add_option("--rounds", rounds, "rounds to run (overrides population.rounds)");
  app.add_option("--cohort-size", cohort, "reports per round (overrides population.cohort_size)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fl-coordinator: error: %s\n", e.what());
    return 2;
  }

  if (eval->parsed()) return evaluate(eval_db, eval_model, eval_version, eval_data);
  if (config_path.empty()) {
    std::fprintf(stderr, "fl-coordinator: error: --config is required\n");
    return 2;
  }
  auto config = fl::coordinator::load_config_file(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", config.status().message().c_str());
    return 2;
  }
  if (!address.empty()) config->address = address;
  if (port >= 0) config->port = static_cast<uint16_t>(port);
  if (io_threads > 0) config->io_threads = io_threads;
  if (!db.empty()) config->store_path = db;
  if (!cert.empty()) config->tls_certificate = cert;
  if (!key.empty()) config->tls_private_key = key;
  if (rounds >= 0) config->population.rounds = static_cast<uint32_t>(rounds);
  if (cohort > 0) config->population.cohort_size = static_cast<uint32_t>(cohort);
  if (!admin_token_file.empty()) {
    FILE* f = std::fopen(admin_token_file.c_str(), "r");
    if (!f) {
      std::fprintf(stderr, "fl-coordinator: cannot read %s\n", admin_token_file.c_str());
      return 2;
    }
    char buf[512] = {};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    std::string token(buf, n);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    config->admin_token = token;
  }
  if (auto s = fl::coordinator::validate_config(*config); !s.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", s.message().c_str());
    return 2;
  }

  const std::string scheme = config->tls_certificate.empty() ? "http" : "https";
  const std::string population = config->population.population;
  auto service = fl::coordinator::CoordinatorService::create(std::move(*config));
  if (!service.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", service.status().to_string().c_str());
    return 1;
  }
  if (auto s = (*service)->start(); !s.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", s.to_string().c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto snap = (*service)->engine().snapshot();
  std::printf("fl-coordinator listening on %s://%s:%u (population %s, global version %lld)\n",
              scheme.c_str(), address.empty() ? "127.0.0.1" : address.c_str(),
              (*service)->port(), population.c_str(), static_cast<long long>(snap.global_version));
  std::fflush(stdout);
  int64_t last_round = -1;
  uint32_t last_completed = snap.rounds_completed;
  auto last_phase = snap.phase;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto s = (*service)->engine().snapshot();
    if (s.rounds_completed != last_completed || s.round_id != last_round ||
        s.phase != last_phase) {
      std::printf("round %lld: %s; completed %u, failed %u; global version %lld\n",
                  static_cast<long long>(s.round_id),
                  std::string(fl::coordinator::phase_name(s.phase)).c_str(), s.rounds_completed,
                  s.rounds_failed, static_cast<long long>(s.global_version));
      std::fflush(stdout);
      last_round = s.round_id;
      last_completed = s.rounds_completed;
      last_phase = s.phase;
    }
  }
  std::printf("fl-coordinator: stopping\n");
  (*service)->stop();
  return 0;
}
