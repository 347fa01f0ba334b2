// bench_client_rss: what one device pays in memory and traffic for a secure
// round of a large model (issue 13, "Figures").
//
//   bench_client_rss [--dim 1000000] [--clients 3] [--coordinator-bin PATH]
//
// Starts a real fl-coordinator (child process, loopback) with an app-defined
// model of --dim float parameters (kind custom, one layout entry) and runs
// --clients device processes, each this program re-executed in client mode:
// a process holding nothing but libfl_client.so (linked as an app links it)
// and a Trainer that returns the global weights plus a small deterministic
// offset (no data, no training: what is measured is the SDK's own cost).
// Secure aggregation over the complete graph, the coordinator's default
// quantisation (64-bit ring: 8 bytes per parameter up), every client in the
// round.
//
// Each client process reports, and the summary line prints:
// - idle_rss_mib: its VmRSS after enrolment, before participate() (the
//   libraries, TLS and the SDK at rest);
// - peak_rss_mib: its VmHWM after the round, the whole process's peak;
// - round_extra_mib = peak - idle: what the round itself added;
// - bytes_up / bytes_down: request and response bodies of the round
//   (RoundReport), beside model_bytes = dim x 4.
// They are compared with the goal, measured on the same model:
//   goal_mib = 3 x model bytes + 16 MiB, for the peak.
// Prints one JSON line; exits 1 if a client failed its round.
// FL_BENCH_CLIENT_WRAP="heaptrack -o /tmp/client" runs client 0 under a
// profiler (its figures then include the profiler's own memory).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/coordinator_process.h"
#include "fl/client.h"
#include "fl/trainer.h"

#ifndef FL_COORDINATOR_BIN
#define FL_COORDINATOR_BIN "fl-coordinator"
#endif

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
constexpr char kPopulation[] = "rss";
constexpr char kAdminToken[] = "bench-client-rss-admin-token";

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM").
double self_status_mib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0)
      return std::strtod(line.c_str() + prefix.size(), nullptr) / 1024;
  return -1;
}

// The global weights plus a fixed offset per weight: a deterministic update of
// the model's full length, no allocation but the result the SDK asks for.
class OffsetTrainer final : public fl::Trainer {
 public:
  explicit OffsetTrainer(int index) : offset_(0.001f * static_cast<float>(index + 1)) {}
  fl::Result<fl::LocalTrainingResult> train(std::span<const float> global, const fl::TrainingPlan&,
                                            const fl::CancellationToken&) override {
    fl::LocalTrainingResult r;
    r.weights.assign(global.begin(), global.end());
    for (float& w : r.weights) w += offset_;
    r.examples = 100;
    return r;
  }
  uint64_t num_examples() const override { return 100; }

 private:
  float offset_;
};

// Client mode: one device. Writes one JSON object to `out`.
int run_client(uint16_t port, int index, const std::string& dir, const std::string& out) {
  fl::ClientOptions o;
  o.coordinator = "http://127.0.0.1:" + std::to_string(port);
  o.identity_file = dir + "/client-" + std::to_string(index) + ".key";
  o.population = kPopulation;
  o.label = "bench_client_rss " + std::to_string(index);
  o.round_timeout = std::chrono::seconds(600);
  auto client = fl::Client::create(o, std::make_unique<OffsetTrainer>(index));
  if (!client.ok()) {
    std::cerr << "client " << index << ": " << client.status().to_string() << "\n";
    return 1;
  }
  if (auto s = (*client)->enroll(); !s.ok()) {
    std::cerr << "client " << index << ": " << s.to_string() << "\n";
    return 1;
  }
  const double idle = self_status_mib("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  fl::Result<fl::RoundReport> report = fl::Internal("not run");
  for (int attempt = 0; attempt < 5; ++attempt) {
    report = (*client)->participate(std::chrono::seconds(60));
    if (report.ok() || report.status().code() != fl::ErrorCode::kDeadlineExceeded) break;
  }
  const double round_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double peak = self_status_mib("VmHWM");
  if (!report.ok() || !report->completed) {
    std::cerr << "client " << index << ": "
              << (report.ok() ? report->failure_reason : report.status().to_string()) << "\n";
    return 1;
  }
  std::ofstream(out) << json{{"idle_rss_mib", idle},
                             {"peak_rss_mib", peak},
                             {"bytes_up", report->bytes_up},
                             {"bytes_down", report->bytes_down},
                             {"round_s", round_s}}
                            .dump()
                     << "\n";
  return 0;
}

void write_config(const fs::path& dir, uint64_t dim, int clients) {
  std::ofstream cfg(dir / "coordinator.yaml");
  cfg << "listen: {address: 127.0.0.1, port: 0, io_threads: 2}\n"
      << "store: {path: " << (dir / "fl.db").string() << "}\n"
      << "admin_token: " << kAdminToken
      << "\n"
      // Open enrolment: the benchmark measures rounds, not provisioning.
      << "enrollment: {mode: open}\n"
      << "limits: {max_update_bytes: " << (dim * 8 + (1 << 20)) << "}\n"
      << "population:\n"
      << "  name: " << kPopulation << "\n"
      << "  model: {name: rss-app, kind: custom, parameters: " << dim
      << ", layout: [{name: w, size: " << dim << "}]}\n"
      << "  rounds: 1\n"
      << "  cohort_size: " << clients << "\n"
      << "  over_selection: 1.0\n"
      << "  min_cohort: " << clients << "\n"
      << "  allow_small_cohorts: true\n"
      << "  retry_after_ms: 200\n"
      << "  deadlines_ms: {selection: 3000, advertise_keys: 600000, share_keys: 600000,\n"
      << "                 masked_input: 600000, unmasking: 600000}\n"
      << "  training: {epochs: 1, batch_size: 32, learning_rate: 0.1}\n"
      << "  quantization: {clip: 1.0}\n"
      << "  secure_aggregation: {graph: complete}\n";
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

int main(int argc, char** argv) {
  uint64_t dim = 1'000'000;
  int clients = 3;
  std::string coordinator_bin = FL_COORDINATOR_BIN;
  // Client mode (internal): --client PORT INDEX DIR OUT.
  if (argc == 6 && std::strcmp(argv[1], "--client") == 0)
    return run_client(static_cast<uint16_t>(std::atoi(argv[2])), std::atoi(argv[3]), argv[4],
                      argv[5]);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--dim" && has_value) {
      dim = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--clients" && has_value) {
      clients = std::atoi(argv[++i]);
    } else if (a == "--coordinator-bin" && has_value) {
      coordinator_bin = argv[++i];
    } else {
      std::cerr << "usage: bench_client_rss [--dim N] [--clients N] [--coordinator-bin PATH]\n";
      return 2;
    }
  }
  if (dim == 0 || clients < 3) {
    std::cerr << "bench_client_rss: --dim must be > 0 and --clients >= 3\n";
    return 2;
  }
  const fs::path dir =
      fs::temp_directory_path() / ("fl-bench-client-rss-" + std::to_string(getpid()));
  fs::create_directories(dir);
  write_config(dir, dim, clients);
  fl::bench::CoordinatorProcess coordinator(coordinator_bin,
                                            {"--config", (dir / "coordinator.yaml").string()},
                                            (dir / "coordinator.log").string());
  const auto port = coordinator.wait_until_listening(std::chrono::seconds(60));
  if (!port) {
    std::cerr << "bench_client_rss: " << coordinator_bin << " did not start:\n"
              << coordinator.log();
    return 1;
  }

  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<pid_t> pids;
  for (int i = 0; i < clients; ++i) {
    const std::string port_s = std::to_string(*port), index = std::to_string(i),
                      out = (dir / ("client-" + index + ".json")).string(), d = dir.string();
    std::vector<std::string> args;
    // FL_BENCH_CLIENT_WRAP="heaptrack -o /tmp/client": client 0 runs under
    // that command (a profiler), words split on spaces.
    const char* wrap = std::getenv("FL_BENCH_CLIENT_WRAP");
    if (i == 0 && wrap != nullptr) {
      std::istringstream words(wrap);
      for (std::string w; words >> w;) args.push_back(w);
    }
    for (const std::string& a : {self, std::string("--client"), port_s, index, d, out})
      args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      execvp(argv[0], argv.data());
      _exit(127);
    }
    pids.push_back(pid);
  }
  bool failed = false;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  coordinator.stop(std::chrono::seconds(10));
  if (failed) {
    std::cerr << "bench_client_rss: a client failed; coordinator log:\n" << coordinator.log();
    return 1;
  }

  const uint64_t model_bytes = dim * sizeof(float);
  const double goal = 3 * mib(model_bytes) + 16;
  json per_client = json::array();
  double peak = 0, extra = 0, idle = 0;
  uint64_t up = 0, down = 0;
  for (int i = 0; i < clients; ++i) {
    std::ifstream in(dir / ("client-" + std::to_string(i) + ".json"));
    json c = json::parse(in);
    peak = std::max(peak, c["peak_rss_mib"].get<double>());
    extra = std::max(extra, c["peak_rss_mib"].get<double>() - c["idle_rss_mib"].get<double>());
    idle = std::max(idle, c["idle_rss_mib"].get<double>());
    up = std::max(up, c["bytes_up"].get<uint64_t>());
    down = std::max(down, c["bytes_down"].get<uint64_t>());
    per_client.push_back(std::move(c));
  }
  fs::remove_all(dir);
  auto r1 = [](double x) { return std::round(x * 10) / 10; };
  json summary = {{"dim", dim},
                  {"clients", clients},
                  {"model_bytes", model_bytes},
                  {"model_mib", r1(mib(model_bytes))},
                  {"peak_rss_mib", r1(peak)},
                  {"goal_mib", r1(goal)},
                  {"within_goal", peak <= goal},
                  {"idle_rss_mib", r1(idle)},
                  {"round_extra_mib", r1(extra)},
                  {"round_extra_per_model", r1(extra / mib(model_bytes))},
                  {"bytes_up", up},
                  {"bytes_down", down},
                  {"up_per_model_byte", std::round(100.0 * up / model_bytes) / 100},
                  {"down_per_model_byte", std::round(100.0 * down / model_bytes) / 100},
                  {"per_client", per_client}};
  std::cout << summary.dump() << std::endl;
  return 0;
}
