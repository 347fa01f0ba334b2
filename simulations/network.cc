#include "simulations/network.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "coordinator/service/config.h"
#include "coordinator/store/sqlite_store.h"
#include "model/partition.h"
#include "model/serialization.h"
#include "simulations/child_process.h"
#include "simulations/run_common.h"
#include "simulations/scenario_data.h"

#ifndef FL_COORDINATOR_BIN
#define FL_COORDINATOR_BIN "fl-coordinator"
#endif
#ifndef FL_CLIENT_BIN
#define FL_CLIENT_BIN "fl-client"
#endif

namespace fl::sim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr const char* kPopulation = "sim";

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int sig) { g_interrupted = sig; }

// SIGINT and SIGTERM set a flag the run loop polls, so an interrupted fl-sim
// still stops its children; the previous handlers come back afterwards.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Stops every child on every way out of run_network.
struct Children {
  std::unique_ptr<ChildProcess> coordinator;
  std::vector<std::unique_ptr<ChildProcess>> clients;
  ~Children() { stop(); }
  void stop() {
    std::vector<ChildProcess*> all;
    for (auto& c : clients) all.push_back(c.get());
    all.push_back(coordinator.get());
    stop_all(all, std::chrono::seconds(10));
  }
  int64_t clients_running() {
    int64_t n = 0;
    for (auto& c : clients) n += c->running();
    return n;
  }
  // Running, or exited 0 because the population finished (after the last round).
  int64_t clients_online() {
    int64_t n = 0;
    for (auto& c : clients) n += c->running() || c->exit_code() == 0;
    return n;
  }
};

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A YAML single-quoted scalar.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Unavailable("cannot write '" + path + "'");
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok ? Status::Ok() : Unavailable("cannot write '" + path + "'");
}

std::string random_token() {
  std::random_device rd;
  std::string hex;
  for (int i = 0; i < 24; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", rd() & 0xff);
    hex += b;
  }
  return hex;
}

// The port in "fl-coordinator listening on http://127.0.0.1:PORT (...".
std::optional<int> listening_port(const std::string& log) {
  const auto at = log.find("listening on ");
  if (at == std::string::npos) return std::nullopt;
  const auto eol = log.find('\n', at);
  if (eol == std::string::npos) return std::nullopt;
  const std::string line = log.substr(at, eol - at);
  const auto scheme = line.find("://");
  const auto colon = line.find(':', scheme == std::string::npos ? 0 : scheme + 3);
  if (colon == std::string::npos) return std::nullopt;
  const int port = std::atoi(line.c_str() + colon + 1);
  return port > 0 ? std::optional<int>(port) : std::nullopt;
}

std::string model_name(const Scenario& sc) { return "sim-" + sc.model.kind; }

}  // namespace

NetworkBinaries default_network_binaries() {
  NetworkBinaries b{FL_COORDINATOR_BIN, FL_CLIENT_BIN};
  if (const char* c = std::getenv("FL_COORDINATOR_BIN"); c && *c) b.coordinator = c;
  if (const char* c = std::getenv("FL_CLIENT_BIN"); c && *c) b.client = c;
  return b;
}

std::string coordinator_yaml(const Scenario& sc, const std::string& dir, uint64_t max_weight,
                             int input_dim, int classes) {
  const NetworkSpec& n = sc.network;
  const auto ms = [](double s) { return std::to_string(static_cast<int64_t>(s * 1000)); };
  std::ostringstream y;
  y << "# Written by fl-sim for scenario " << sc.name << " (" << sc.file << "), network mode.\n";
  y << "store: {path: " << quoted(dir + "/fl.db") << "}\n";
  y << "admin_token_file: " << quoted(dir + "/admin.token") << "\n";
  // Every client shares 127.0.0.1, so the per-address limits must allow all.
  y << "limits: {requests_per_second: 5000, burst: 10000, ip_requests_per_second: 5000, "
       "ip_burst: 10000}\n";
  y << "population:\n";
  y << "  name: " << kPopulation << "\n";
  y << "  model: {name: " << model_name(sc) << ", kind: " << sc.model.kind
    << ", input_dim: " << input_dim << ", classes: " << classes;
  if (sc.model.kind == "mlp") {
    y << ", hidden: [";
    for (size_t i = 0; i < sc.model.hidden.size(); ++i) y << (i ? ", " : "") << sc.model.hidden[i];
    y << "], activation: " << sc.model.activation;
  }
  y << ", seed: " << sc.seed << "}\n";
  y << "  rounds: " << sc.rounds << "\n";
  y << "  cohort_size: " << sc.clients_per_round << "\n";
  y << "  over_selection: " << number(n.over_selection) << "\n";
  const int64_t min_cohort = n.min_cohort > 0 ? n.min_cohort : sc.clients_per_round;
  y << "  min_cohort: " << min_cohort << "\n";
  // A scenario of a handful of clients asks for what production refuses.
  if (min_cohort < 10) y << "  allow_small_cohorts: true\n";
  y << "  retry_after_ms: 500\n";
  // The selection window: every client that checks in during it joins the
  // pool the cohort is drawn from (extended until min_cohort came).
  y << "  deadlines_ms: {selection: 2000"
    << ", advertise_keys: " << ms(n.stage_timeout_s) << ", share_keys: " << ms(n.stage_timeout_s)
    << ", masked_input: " << ms(n.masked_input_timeout_s)
    << ", unmasking: " << ms(n.stage_timeout_s) << "}\n";
  const LocalTrainingSpec& l = sc.local;
  y << "  training: {epochs: " << l.epochs << ", batch_size: " << l.batch_size
    << ", learning_rate: " << number(l.lr) << ", optimizer: " << l.optimizer
    << ", momentum: " << number(l.momentum) << ", weight_decay: " << number(l.weight_decay)
    << ", fedprox_mu: " << number(l.fedprox_mu) << ", seed: " << sc.seed;
  if (l.lr_schedule != "constant")
    y << ", lr_schedule: " << l.lr_schedule << ", lr_decay: " << number(l.lr_decay)
      << ", lr_min: " << number(l.lr_min);
  y << "}\n";
  const SecAggSpec& a = sc.secagg;
  y << "  quantization: {clip: " << number(a.clip) << ", bits: " << a.bits
    << ", ring_bits: " << a.ring << ", max_weight: " << max_weight
    << ", l2_clip: " << number(a.l2_clip) << "}\n";
  y << "  secure_aggregation: {graph: " << a.graph
    << ", expected_dropout: " << number(expected_dropout(sc))
    << ", corrupt_fraction: " << number(a.corrupt_fraction)
    << ", prg: " << crypto::mask_prg_name(a.prg);
  if (a.threshold > 0) y << ", threshold: " << a.threshold;
  y << "}\n";
  const ServerSpec& s = sc.server;
  y << "  server_optimizer: {kind: " << s.optimizer;
  for (const auto& [key, v] :
       {std::pair{"server_lr", s.server_lr}, std::pair{"momentum", s.momentum},
        std::pair{"beta1", s.beta1}, std::pair{"beta2", s.beta2}, std::pair{"tau", s.tau}})
    if (v) y << ", " << key << ": " << number(*v);
  y << "}\n";
  if (sc.dp.enabled()) {
    const aggregation::dp::DpConfig& d = sc.dp;
    y << "  dp: {mode: " << aggregation::dp::dp_mode_name(d.mode)
      << ", noise_multiplier: " << number(d.noise_multiplier);
    if (!d.adaptive) y << ", clip: " << number(d.clip);
    y << ", population_size: " << d.population_size
      << ", sampling_rate: " << number(d.sampling_rate)
      << ", target_delta: " << number(d.target_delta) << ", bits: " << d.bits;
    if (d.max_epsilon > 0) y << ", max_epsilon: " << number(d.max_epsilon);
    if (d.adaptive)
      y << ", adaptive_clipping: {initial_clip: " << number(d.adaptive->initial_clip)
        << ", target_quantile: " << number(d.adaptive->target_quantile)
        << ", learning_rate: " << number(d.adaptive->learning_rate)
        << ", count_stddev: " << number(d.adaptive->count_stddev) << "}";
    y << "}\n";
  }
  y << "serving: {enabled: false}\n";
  return y.str();
}

Result<RunResult> run_network(const Scenario& sc, const NetworkBinaries& binaries,
                              std::FILE* progress) {
  const auto run_start = Clock::now();
  RunResult out;
  out.mode = RunMode::kNetwork;
  out.scenario_name = sc.name;
  auto data_or = FederatedData::load(sc.data, sc.seed);
  if (!data_or.ok()) return data_or.status();
  const FederatedData& data = *data_or;
  out.data_name = data.name();
  // The partition the client processes will take their parts of: for the
  // summary line and the weight cap.
  auto partition = model::make_partition(data.train_labels(), data.num_classes(), sc.clients,
                                         sc.partition, sc.seed);
  if (!partition.ok()) return partition.status();
  out.partition = model::summarize_partition(*partition, data.train_labels(), data.num_classes());
  auto spec = model_spec(sc.model, data.dim(), data.num_classes());
  if (!spec.ok()) return spec.status();
  out.model_description = model::describe(*spec);
  out.num_params = model::num_params(*spec);
  const std::vector<model::Dataset> test_parts =
      split_test_set(data.test(), static_cast<unsigned>(sc.threads));
  if (progress) print_run_header(progress, sc, data, out);
  FL_RETURN_IF_ERROR(resolve_baseline(sc, data, *spec, test_parts, progress, out));

  uint64_t largest = 0;
  for (const auto& p : *partition) largest = std::max<uint64_t>(largest, p.size());
  const uint64_t max_weight = sc.secagg.max_weight > 0 ? sc.secagg.max_weight : largest;

  // A fresh directory: a store left from an earlier run would resume it.
  const std::string dir = sc.output + "/network";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create '" + dir + "': " + ec.message());
  FL_RETURN_IF_ERROR(write_file(dir + "/admin.token", random_token() + "\n", 0600));
  const std::string yaml_path = dir + "/coordinator.yaml";
  const std::string yaml = coordinator_yaml(sc, dir, max_weight, data.dim(), data.num_classes());
  FL_RETURN_IF_ERROR(write_file(yaml_path, yaml, 0644));
  if (auto config = coordinator::parse_config(yaml, yaml_path); !config.ok())
    return InvalidArgument("the coordinator configuration for this scenario is refused: " +
                           config.status().message());

  InterruptGuard interrupts;
  Children children;
  const auto deadline =
      run_start + std::chrono::milliseconds(static_cast<int64_t>(sc.network.timeout_s * 1000));
  auto check_stop = [&]() -> Status {
    if (g_interrupted)
      return Aborted("interrupted by signal " + std::to_string(g_interrupted) +
                     "; stopped fl-coordinator and the fl-client processes");
    if (Clock::now() > deadline)
      return Aborted("network.timeout_s (" + number(sc.network.timeout_s) +
                     " s) passed; stopped fl-coordinator and the fl-client processes (logs in " +
                     dir + ")");
    if (!children.coordinator->running())
      return Internal("fl-coordinator exited (status " +
                      std::to_string(children.coordinator->exit_code().value_or(-1)) +
                      "); its log ends:\n" + children.coordinator->log_tail(5));
    return Status::Ok();
  };

  auto coordinator = ChildProcess::start(
      binaries.coordinator, {"--config", yaml_path, "--port", "0"}, dir + "/coordinator.log");
  if (!coordinator.ok()) return coordinator.status();
  children.coordinator = std::move(*coordinator);
  std::optional<int> port;
  while (!(port = listening_port(children.coordinator->log()))) {
    FL_RETURN_IF_ERROR(check_stop());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The coordinator enrols only devices holding a one-time token (its
  // default, token mode): issue one per client as an operator would, and hand
  // each client its own in a 0600 file.
  const std::string tokens_path = dir + "/device-tokens.txt";
  auto issue = ChildProcess::start(
      binaries.coordinator,
      {"devices", "issue", "--db", dir + "/fl.db", "--count", std::to_string(sc.clients), "--out",
       tokens_path, "--label", "fl-sim " + sc.name},
      dir + "/devices-issue.log");
  if (!issue.ok()) return issue.status();
  while ((*issue)->running()) {
    FL_RETURN_IF_ERROR(check_stop());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if ((*issue)->exit_code() != 0)
    return Internal("fl-coordinator devices issue failed: " + (*issue)->log_tail(5));
  std::vector<std::string> tokens;
  {
    std::ifstream in(tokens_path);
    for (std::string line; std::getline(in, line);) tokens.push_back(line);
  }
  if (tokens.size() != static_cast<size_t>(sc.clients))
    return Internal("fl-coordinator devices issue wrote " + std::to_string(tokens.size()) +
                    " tokens into " + tokens_path + ", not " + std::to_string(sc.clients));

  const std::string url = "http://127.0.0.1:" + std::to_string(*port);
  const std::string partition_text = model::format_partition_spec(sc.partition);
  for (int64_t i = 0; i < sc.clients; ++i) {
    const std::string name = "client-" + std::to_string(i);
    const std::string token_file = dir + "/" + name + ".token";
    FL_RETURN_IF_ERROR(write_file(token_file, tokens[static_cast<size_t>(i)] + "\n", 0600));
    std::vector<std::string> args = {"--coordinator",    url,
                                     "--identity",       dir + "/" + name + ".key",
                                     "--population",     kPopulation,
                                     "--data",           "fashion-mnist:" + sc.data.dir,
                                     "--partition",      partition_text,
                                     "--clients",        std::to_string(sc.clients),
                                     "--index",          std::to_string(i),
                                     "--partition-seed", std::to_string(sc.seed),
                                     "--min-examples",   std::to_string(sc.partition.min_examples),
                                     "--threads",        "1",
                                     "--label",          "fl-sim " + name,
                                     "--max-failures",   "1000",
                                     "--max-wait",       number(sc.network.timeout_s)};
    args.push_back("--device-token-file");
    args.push_back(token_file);
    // Train on exactly the in-process client's examples: no federated
    // evaluation hold-out (the simulator evaluates on the test split).
    args.push_back("--evaluation-fraction");
    args.push_back("0");
    if (sc.data.train_limit > 0) {
      args.push_back("--data-limit");
      args.push_back(std::to_string(sc.data.train_limit));
    }
    auto client = ChildProcess::start(binaries.client, args, dir + "/" + name + ".log");
    if (!client.ok()) return client.status();
    children.clients.push_back(std::move(*client));
  }
  if (progress) {
    std::fprintf(progress,
                 "network: fl-coordinator on %s, %lld fl-client processes (partition %s), "
                 "%lld selected per round for %lld reports; logs in %s\n",
                 url.c_str(), static_cast<long long>(sc.clients), partition_text.c_str(),
                 static_cast<long long>(network_selection_target(sc)),
                 static_cast<long long>(sc.clients_per_round), dir.c_str());
    std::fflush(progress);
  }
  out.setup_s = seconds_since(run_start);

  // The coordinator created its store before it listened; WAL lets us read
  // while it writes.
  auto store = coordinator::SqliteStore::open(dir + "/fl.db");
  if (!store.ok()) return store.status();
  std::set<int64_t> seen;
  int completed = 0;
  while (completed < sc.rounds) {
    FL_RETURN_IF_ERROR(check_stop());
    const int64_t online = children.clients_online();
    const bool clients_gone = children.clients_running() == 0;
    auto rounds = (*store)->list_rounds(256);
    if (!rounds.ok()) return rounds.status();
    std::reverse(rounds->begin(), rounds->end());  // oldest first
    for (const coordinator::RoundRecord& r : *rounds) {
      if (r.state == coordinator::RoundState::kRunning || seen.count(r.id)) continue;
      if (completed >= sc.rounds) break;
      seen.insert(r.id);
      RoundRecord rec;
      rec.network = true;
      rec.round = static_cast<int>(out.rounds.size()) + 1;
      rec.coordinator_round = r.id;
      rec.available = online;
      const coordinator::StageCounts& c = r.counts;
      rec.cohort = static_cast<int64_t>(c.selected);
      const uint64_t reached[5] = {c.selected, c.advertised, c.shared_keys, c.masked_input,
                                   c.unmasked};
      for (int s = 0; s < 4; ++s)
        rec.dropped[s] =
            static_cast<uint32_t>(reached[s] > reached[s + 1] ? reached[s] - reached[s + 1] : 0);
      if (r.ended_at_ms) rec.wall_s = static_cast<double>(*r.ended_at_ms - r.started_at_ms) / 1e3;
      if (r.state == coordinator::RoundState::kCompleted && r.result_version_id) {
        ++completed;
        rec.status = "completed";
        rec.version = *r.result_version_id;
        auto version = (*store)->get_version(*r.result_version_id);
        if (!version.ok()) return version.status();
        const auto& m = version->metrics;
        rec.included = m.count("clients") ? static_cast<int64_t>(m.at("clients"))
                                          : static_cast<int64_t>(c.masked_input);
        if (m.count("total_weight")) rec.total_weight = m.at("total_weight");
        if (completed % sc.eval_every == 0 || completed == sc.rounds) {
          const auto t = Clock::now();
          auto global =
              model::load_model(version->model_bytes, "version " + std::to_string(version->id));
          if (!global.ok()) return global.status();
          auto e = evaluate_on_test(*global, test_parts);
          if (!e.ok()) return e.status();
          rec.accuracy = e->accuracy;
          rec.loss = e->loss;
          rec.eval_s = seconds_since(t);
        }
      } else {
        rec.status = "aborted";
        rec.abort_reason = r.failure_reason;
      }
      if (progress) {
        print_round(progress, rec, sc.rounds);
        if (!rec.abort_reason.empty())
          std::fprintf(progress, "round %d aborted: %s\n", rec.round, rec.abort_reason.c_str());
      }
      out.rounds.push_back(std::move(rec));
    }
    if (completed >= sc.rounds) break;
    // Checked after reading the store: clients exit once the last round is done.
    if (clients_gone)
      return Unavailable("every fl-client process exited; " + children.clients.front()->log_path() +
                         " ends:\n" + children.clients.front()->log_tail(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  children.stop();
  out.total_wall_s = seconds_since(run_start);
  return out;
}

}  // namespace fl::sim
