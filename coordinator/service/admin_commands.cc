#include "coordinator/service/admin_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/loopback.h"
#include "coordinator/http/http_server.h"
#include "coordinator/metrics/coordinator_metrics.h"
#include "coordinator/metrics/registry.h"
#include "coordinator/metrics/text_exposition.h"
#include "coordinator/registry/registry.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/service/device_certificate.h"
#include "coordinator/service/enrollment.h"
#include "coordinator/service/event_log.h"
#include "coordinator/service/privacy_ledger_view.h"
#include "coordinator/service/store_version_source.h"
#include "coordinator/serving/csv_prediction.h"
#include "coordinator/serving/serving_routes.h"
#include "coordinator/store/sqlite_store.h"
#include "crypto/kdf.h"
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

// The privacy ledger of the population that trained `round`, up to that
// round: what had been spent when the version was made. Prints nothing for a
// population trained without differential privacy.
Status print_privacy_of_version(Store& store, int64_t round) {
  auto record = store.get_round(round);
  if (!record.ok()) return record.status();
  auto ledger = store.privacy_ledger(record->population);
  if (!ledger.ok()) return ledger.status();
  if (ledger->empty()) return Status::Ok();
  std::vector<PrivacyLedgerEntry> up_to;
  for (const PrivacyLedgerEntry& row : *ledger)
    if (row.round_id <= round) up_to.push_back(row);
  std::printf("  population: %s\n", record->population.c_str());
  if (up_to.empty()) {
    std::printf("  privacy: no ledger rows up to round %lld\n", static_cast<long long>(round));
  } else {
    std::printf("  privacy ledger up to this version:\n%s",
                privacy_ledger_table(up_to, "    ").c_str());
    std::printf("  privacy: %s\n", privacy_total_line(up_to.back(), up_to.size()).c_str());
  }
  if (up_to.size() < ledger->size())
    std::printf("  privacy of the population since: %s\n",
                privacy_total_line(ledger->back(), ledger->size()).c_str());
  return Status::Ok();
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
    if (v->round_id) {
      if (Status s = print_privacy_of_version(**store, *v->round_id); !s.ok()) return fail(name, s);
    }
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
  if (!c.allow_insecure_http && !is_loopback_host(c.address)) {
    std::fprintf(stderr,
                 "fl-coordinator serve: --address %s is not loopback and serve speaks plain HTTP; "
                 "put a TLS proxy in front and pass --allow-insecure-http knowingly\n",
                 c.address.c_str());
    return 2;
  }
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

// --- devices ------------------------------------------------------------------

namespace {

// Creates `path` with mode 0600 and writes `bytes`; refuses an existing file
// (a token or key file is the only copy of its secret: never overwrite one).
Status write_new_private_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(path + " already exists; refusing to overwrite it");
    return Unavailable("cannot create " + path + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Unavailable("cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Unavailable("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

Result<crypto::Key32> parse_key_hex(const std::string& text, const std::string& what) {
  crypto::Bytes bytes;
  if (text.size() != 64 || !crypto::from_hex(text, bytes))
    return InvalidArgument(what + ": expected an Ed25519 public key as 64 hex digits");
  crypto::Key32 key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::string time_text(std::optional<int64_t> ms) {
  if (!ms) return "-";
  const std::time_t seconds = static_cast<std::time_t>(*ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

int devices_issue(const DevicesCommand& c, Store& store) {
  if (c.count == 0 || c.count > 100000)
    return fail("devices issue", InvalidArgument("--count must be in [1, 100000]"));
  // Create the file first: if it cannot be written, no token is recorded.
  if (Status st = write_new_private_file(c.out, ""); !st.ok()) return fail("devices issue", st);
  crypto::SystemRng rng;
  auto tokens = issue_device_tokens(store, rng, c.count, unix_millis_now(), c.label);
  if (!tokens.ok()) {
    ::unlink(c.out.c_str());
    return fail("devices issue", tokens.status());
  }
  std::string text;
  for (std::string& t : *tokens) {
    text += t + "\n";
    crypto::wipe(t.data(), t.size());
  }
  std::ofstream out(c.out, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  crypto::wipe(text.data(), text.size());
  if (!out) return fail("devices issue", Unavailable("cannot write " + c.out));
  std::printf("issued %zu device tokens into %s (mode 0600; the store keeps only their hashes)\n",
              c.count, c.out.c_str());
  return 0;
}

int devices_list(Store& store) {
  auto tokens = store.list_device_tokens();
  if (!tokens.ok()) return fail("devices list", tokens.status());
  std::printf("%-18s %-8s %-8s %-20s %-20s %-20s %s\n", "token-hash", "state", "client", "issued",
              "spent", "revoked", "label");
  for (const DeviceToken& t : *tokens) {
    std::printf("%-18s %-8s %-8s %-20s %-20s %-20s %s\n",
                crypto::to_hex(t.hash).substr(0, 16).c_str(),
                std::string(device_token_state_name(t.state())).c_str(),
                t.client_id ? std::to_string(*t.client_id).c_str() : "-",
                time_text(t.issued_at_ms).c_str(), time_text(t.spent_at_ms).c_str(),
                time_text(t.revoked_at_ms).c_str(), t.label ? t.label->c_str() : "-");
  }
  return 0;
}

int devices_revoke(const DevicesCommand& c, Store& store) {
  if (c.client.has_value() == !c.token_hash.empty())
    return fail("devices revoke", InvalidArgument("give exactly one of --client or --token-hash"));
  if (c.client) {
    if (Status st = store.revoke_client(*c.client, unix_millis_now()); !st.ok())
      return fail("devices revoke", st);
    std::printf("revoked client %llu: its requests are refused from now on\n",
                static_cast<unsigned long long>(*c.client));
    return 0;
  }
  auto token = store.revoke_device_token(c.token_hash, unix_millis_now());
  if (!token.ok()) return fail("devices revoke", token.status());
  std::printf("revoked device token %s", crypto::to_hex(token->hash).substr(0, 16).c_str());
  if (token->client_id)
    std::printf(" and client %llu", static_cast<unsigned long long>(*token->client_id));
  std::printf("\n");
  return 0;
}

int devices_operator_key(const DevicesCommand& c) {
  if (c.out.empty()) return fail("devices operator-key", InvalidArgument("--out is required"));
  crypto::SystemRng rng;
  const crypto::Ed25519KeyPair key = crypto::ed25519_keypair(rng);
  std::string seed(key.seed.bytes().begin(), key.seed.bytes().end());
  Status st = write_new_private_file(c.out, seed);
  crypto::wipe(seed.data(), seed.size());
  if (!st.ok()) return fail("devices operator-key", st);
  const std::string public_hex = crypto::to_hex(key.public_key);
  std::ofstream pub(c.out + ".pub", std::ios::trunc);
  pub << public_hex << "\n";
  if (!pub) return fail("devices operator-key", Unavailable("cannot write " + c.out + ".pub"));
  std::printf("%s\n", public_hex.c_str());
  std::fprintf(stderr,
               "operator key in %s (keep it offline); public key in %s.pub for "
               "enrollment.operator_keys\n",
               c.out.c_str(), c.out.c_str());
  return 0;
}

// The identity to certify: --identity-public-key HEX, or --identity-file
// holding the device's 32-byte seed (fl-client's --identity file) or the
// public key as hex.
Result<crypto::Key32> identity_to_certify(const DevicesCommand& c) {
  if (c.identity_public_key.empty() == c.identity_file.empty())
    return InvalidArgument("give exactly one of --identity-public-key or --identity-file");
  if (!c.identity_public_key.empty())
    return parse_key_hex(trimmed(c.identity_public_key), "--identity-public-key");
  auto bytes = read_whole_file(c.identity_file);
  if (!bytes.ok())
    return Status(bytes.status().code(), "--identity-file: " + bytes.status().message());
  if (bytes->size() == crypto::Secret32::size()) {
    crypto::Secret32 seed;
    std::copy(bytes->begin(), bytes->end(), seed.mutable_bytes().begin());
    crypto::wipe(bytes->data(), bytes->size());
    return crypto::ed25519_keypair_from_seed(seed).public_key;
  }
  return parse_key_hex(trimmed(*bytes), "--identity-file " + c.identity_file);
}

int devices_certify(const DevicesCommand& c) {
  const std::string name = "devices certify";
  if (c.out.empty()) return fail(name, InvalidArgument("--out is required"));
  if (c.valid_days < 1 || c.valid_days > 36500)
    return fail(name, InvalidArgument("--valid-days must be in [1, 36500]"));
  auto identity = identity_to_certify(c);
  if (!identity.ok()) return fail(name, identity.status());
  auto seed_bytes = read_whole_file(c.operator_key);
  if (!seed_bytes.ok())
    return fail(name, Status(seed_bytes.status().code(),
                             "--operator-key: " + seed_bytes.status().message()));
  if (seed_bytes->size() != crypto::Secret32::size()) {
    crypto::wipe(seed_bytes->data(), seed_bytes->size());
    return fail(name, InvalidArgument("--operator-key: " + c.operator_key +
                                      " is not a 32-byte operator key (devices operator-key)"));
  }
  crypto::Secret32 seed;
  std::copy(seed_bytes->begin(), seed_bytes->end(), seed.mutable_bytes().begin());
  crypto::wipe(seed_bytes->data(), seed_bytes->size());
  const int64_t not_after = unix_millis_now() + int64_t{c.valid_days} * 24 * 3600 * 1000;
  auto certificate = certify_device(crypto::ed25519_keypair_from_seed(seed), *identity, not_after,
                                    c.label.value_or(""));
  if (!certificate.ok()) return fail(name, certificate.status());
  std::ofstream out(c.out, std::ios::binary | std::ios::trunc);
  out << certificate->SerializeAsString();
  if (!out) return fail(name, Unavailable("cannot write " + c.out));
  std::printf(
      "certified %s until %s (operator %s) into %s\n", crypto::to_hex(*identity).c_str(),
      time_text(not_after).c_str(),
      crypto::to_hex(crypto::ed25519_keypair_from_seed(seed).public_key).substr(0, 16).c_str(),
      c.out.c_str());
  return 0;
}

}  // namespace

int run_devices_command(const DevicesCommand& c) {
  if (c.action == "operator-key") return devices_operator_key(c);
  if (c.action == "certify") return devices_certify(c);
  const std::string name = "devices " + c.action;
  auto store = SqliteStore::open(c.db);
  if (!store.ok()) return fail(name, store.status());
  if (c.action == "issue") return devices_issue(c, **store);
  if (c.action == "list") return devices_list(**store);
  if (c.action == "revoke") return devices_revoke(c, **store);
  return fail(name, InvalidArgument("unknown devices action"));
}

}  // namespace fl::coordinator
