// fl-coordinator: runs federated rounds with secure aggregation and keeps the
// model registry. `fl-coordinator --config coordinator.yaml`; flags override
// the file's settings.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <thread>

#include "aggregation/dp/privacy_command.h"
#include "coordinator/service/admin_commands.h"
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
  auto v = version > 0
               ? (*store)->get_version(version)
               : (*store)->latest_version(model_name, fl::coordinator::VersionStage::kPublished);
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
  std::printf(
      "model %s version %lld (%s, round %s): test accuracy %.4f, log loss %.4f on %lld "
      "examples\n",
      v->model.c_str(), static_cast<long long>(v->id),
      std::string(fl::coordinator::version_stage_name(v->stage)).c_str(),
      v->round_id ? std::to_string(*v->round_id).c_str() : "-", metrics->classification->accuracy,
      metrics->loss, static_cast<long long>(metrics->count));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fl-coordinator: federated rounds with secure aggregation"};
  std::string config_path, address, db, cert, key, admin_token_file;
  int port = -1, rounds = -1, cohort = -1, io_threads = -1;
  app.add_option("--config", config_path, "YAML configuration file (required to run rounds)");
  auto* eval =
      app.add_subcommand("evaluate", "score a registry version on Fashion-MNIST's test split");
  std::string eval_db, eval_model, eval_data = fl::model::kDefaultFashionMnistDir;
  int64_t eval_version = 0;
  eval->add_option("--db", eval_db, "SQLite store")->required();
  eval->add_option("--model", eval_model, "model name")->required();
  eval->add_option("--version", eval_version, "version id (default: the published one)");
  eval->add_option("--data-dir", eval_data, "Fashion-MNIST directory");
  fl::coordinator::ModelsCommand models_cmd;
  auto* models =
      app.add_subcommand("models", "the model registry: list, show, history, publish, rollback");
  models->require_subcommand(1);
  auto add_models_action = [&](const std::string& action, const std::string& help) {
    auto* sub = models->add_subcommand(action, help);
    sub->add_option("--db", models_cmd.db, "SQLite store")->required();
    sub->callback([&models_cmd, action] { models_cmd.action = action; });
    return sub;
  };
  add_models_action("list", "every version of a model")
      ->add_option("--model", models_cmd.model, "model name")
      ->required();
  add_models_action("show", "one version")
      ->add_option("--version", models_cmd.version, "version id")
      ->required();
  add_models_action("history", "publications, newest first")
      ->add_option("--model", models_cmd.model, "model name")
      ->required();
  auto* publish = add_models_action("publish", "publish a version (bypasses the quality gate)");
  publish->add_option("--model", models_cmd.model, "model name")->required();
  publish->add_option("--version", models_cmd.version, "version id")->required();
  auto* rollback = add_models_action("rollback", "republish the previous (or --to) version");
  rollback->add_option("--model", models_cmd.model, "model name")->required();
  int64_t rollback_to = 0;
  rollback->add_option("--to", rollback_to, "the version to go back to");

  fl::coordinator::PredictCommand predict_cmd;
  auto* predict = app.add_subcommand("predict", "batch prediction over a CSV file of feature rows");
  predict->add_option("--db", predict_cmd.db, "SQLite store")->required();
  predict->add_option("--model", predict_cmd.model, "model name")->required();
  predict->add_option("--version", predict_cmd.version, "version id (default: the published one)");
  predict->add_option("--input", predict_cmd.input, "CSV of feature rows")->required();
  predict->add_option("--output", predict_cmd.output, "predictions CSV to write")->required();

  fl::coordinator::ServeCommand serve_cmd;
  std::string serve_log_format = "text";
  auto* serve = app.add_subcommand("serve", "serve published models without running rounds");
  serve->add_option("--db", serve_cmd.db, "SQLite store")->required();
  serve->add_option("--model", serve_cmd.models, "model name (repeatable)")->required();
  serve->add_option("--address", serve_cmd.address, "listen address");
  serve->add_option("--port", serve_cmd.port, "listen port (default 8501, 0: any free port)");
  serve->add_option("--io-threads", serve_cmd.io_threads, "HTTP io threads");
  serve->add_option("--max-batch-rows", serve_cmd.max_batch_rows, "rows per request at most");
  serve->add_flag("--allow-insecure-http", serve_cmd.allow_insecure_http,
                  "listen on a non-loopback address in plain HTTP");
  serve->add_option("--log-format", serve_log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));

  fl::coordinator::DevicesCommand devices_cmd;
  auto* devices = app.add_subcommand(
      "devices", "who may enrol: one-time device tokens, operator keys, device certificates");
  devices->require_subcommand(1);
  auto add_devices_action = [&](const std::string& action, const std::string& help) {
    auto* sub = devices->add_subcommand(action, help);
    sub->callback([&devices_cmd, action] { devices_cmd.action = action; });
    return sub;
  };
  std::string device_label;
  auto* issue = add_devices_action("issue", "write N fresh one-time enrolment tokens to a file");
  issue->add_option("--db", devices_cmd.db, "SQLite store")->required();
  issue->add_option("--count", devices_cmd.count, "how many tokens")->required();
  issue->add_option("--out", devices_cmd.out, "file for the tokens, one per line (mode 0600)")
      ->required();
  issue->add_option("--label", device_label, "a note kept with the tokens (batch, site)");
  add_devices_action("list", "every token: hash prefix, state, client, times")
      ->add_option("--db", devices_cmd.db, "SQLite store")
      ->required();
  auto* revoke = add_devices_action("revoke", "revoke a client or a token (and its client)");
  revoke->add_option("--db", devices_cmd.db, "SQLite store")->required();
  uint64_t revoke_client = 0;
  auto* revoke_client_opt = revoke->add_option("--client", revoke_client, "client id");
  revoke->add_option("--token-hash", devices_cmd.token_hash, "token hash prefix (devices list)")
      ->excludes(revoke_client_opt);
  add_devices_action("operator-key", "create an operator signing key (KEYFILE and KEYFILE.pub)")
      ->add_option("--out", devices_cmd.out, "the operator key file (mode 0600)")
      ->required();
  auto* certify = add_devices_action("certify", "sign a device's identity key");
  certify->add_option("--operator-key", devices_cmd.operator_key, "operator key file")->required();
  auto* certify_hex = certify->add_option("--identity-public-key", devices_cmd.identity_public_key,
                                          "the device's Ed25519 public key, 64 hex digits");
  certify
      ->add_option("--identity-file", devices_cmd.identity_file,
                   "the device's identity file (fl-client --identity) or its public key hex")
      ->excludes(certify_hex);
  certify->add_option("--valid-days", devices_cmd.valid_days, "validity (default 365)");
  certify->add_option("--label", device_label, "e.g. the device's serial number");
  certify->add_option("--out", devices_cmd.out, "certificate file to write")->required();

  // `privacy epsilon|noise`: the accountant as an operator's calculator.
  fl::aggregation::dp::PrivacyQuery privacy_query;
  auto* privacy = app.add_subcommand("privacy", "the privacy accountant: epsilon or noise");
  privacy->require_subcommand(1);
  auto* privacy_epsilon = privacy->add_subcommand("epsilon", "epsilon spent after T rounds");
  auto* privacy_noise = privacy->add_subcommand("noise", "smallest noise multiplier for epsilon");
  for (auto* sub : {privacy_epsilon, privacy_noise}) {
    sub->add_option("--sampling-rate", privacy_query.sampling_rate, "q, in (0, 1]")->required();
    sub->add_option("--rounds", privacy_query.rounds, "T, rounds")->required();
    sub->add_option("--delta", privacy_query.delta, "delta, in (0, 1)")->required();
    sub->add_option("--population", privacy_query.population,
                    "N: fixed-size cohorts of round(q N) drawn uniformly (default: Poisson)");
  }
  privacy_epsilon->add_option("--noise-multiplier", privacy_query.noise_multiplier, "z")
      ->required();
  privacy_noise->add_option("--epsilon", privacy_query.epsilon, "target epsilon")->required();

  app.add_option("--address", address, "listen address (overrides listen.address)");
  app.add_option("--port", port, "listen port, 0 for any free port (overrides listen.port)");
  app.add_option("--io-threads", io_threads, "HTTP io threads (overrides listen.io_threads)");
  app.add_option("--db", db, "SQLite store path (overrides store.path)");
  app.add_option("--tls-cert", cert, "PEM certificate chain (overrides tls.certificate)");
  app.add_option("--tls-key", key, "PEM private key (overrides tls.private_key)");
  std::string client_ca;
  bool allow_insecure_http = false;
  app.add_option("--tls-client-ca", client_ca,
                 "PEM CA of client certificates: mutual TLS (overrides tls.client_ca)");
  app.add_flag("--allow-insecure-http", allow_insecure_http,
               "plain HTTP on a non-loopback address (overrides allow_insecure_http)");
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
  if (models->parsed()) {
    if (rollback->parsed() && rollback->count("--to") > 0) models_cmd.to = rollback_to;
    return fl::coordinator::run_models_command(models_cmd);
  }
  if (predict->parsed()) return fl::coordinator::run_predict_command(predict_cmd);
  if (devices->parsed()) {
    if (revoke->parsed() && revoke->count("--client") > 0) devices_cmd.client = revoke_client;
    if (!device_label.empty()) devices_cmd.label = device_label;
    return fl::coordinator::run_devices_command(devices_cmd);
  }
  if (privacy->parsed()) {
    auto line = privacy_epsilon->parsed() ? fl::aggregation::dp::privacy_epsilon_json(privacy_query)
                                          : fl::aggregation::dp::privacy_noise_json(privacy_query);
    if (!line.ok()) {
      std::fprintf(stderr, "fl-coordinator privacy: error: %s\n", line.status().message().c_str());
      return 2;
    }
    std::printf("%s\n", line->c_str());
    return 0;
  }
  if (serve->parsed()) {
    serve_cmd.json_logs = serve_log_format == "json";
    return fl::coordinator::run_serve_command(serve_cmd);
  }
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
  if (!client_ca.empty()) config->tls_client_ca = client_ca;
  if (allow_insecure_http) config->allow_insecure_http = true;
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
              scheme.c_str(), address.empty() ? "127.0.0.1" : address.c_str(), (*service)->port(),
              population.c_str(), static_cast<long long>(snap.global_version));
  std::fflush(stdout);
  int64_t last_round = -1;
  uint32_t last_completed = snap.rounds_completed;
  auto last_phase = snap.phase;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto s = (*service)->engine().snapshot();
    if (s.rounds_completed != last_completed || s.round_id != last_round || s.phase != last_phase) {
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
