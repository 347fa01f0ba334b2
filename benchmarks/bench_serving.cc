// bench_serving: throughput and latency of the prediction-serving APIs
// (coordinator/serving/) under wrk on loopback.
//
// Starts an HttpServer with only the serving routes and the issue's
// Fashion-MNIST MLP (784 -> 100 ReLU -> 10, create_model with a fixed seed),
// then runs wrk (Debian package, --latency, POST bodies via a Lua script in a
// temporary file) against:
//   1. GET /v2/health/live        the server's ceiling: HTTP plus routing, no
//                                 model; printed as the limit, measured in this run
//   2. :predict, 1 instance       the issue's figure: >= 10,000 req/s, p99 < 10 ms
//   3. :predict, 100 instances    batch throughput (rows/s)
//   4. KServe infer, 1 instance
//   5. :predict, 1 instance while another thread publishes a new version every
//      20 ms: non-2xx responses and socket errors must be 0
// and prints a table plus one JSON line, each figure beside the limit and the
// targets. The request bodies look like a client's: Fashion-MNIST pixels
// scaled to [0, 1], half of them 0, written in float32's shortest form.
//
// wrk and the server share this machine's cores, so the figures are lower
// bounds on what the server alone would do; /proc/loadavg is printed first so
// a reader knows how busy the machine was.
//
// Exit status: 0 on a clean run (a missed target is reported, not an error),
// 1 if wrk is missing or the server fails, 2 if any scenario saw non-2xx
// responses or socket errors.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/http/http_server.h"
#include "coordinator/serving/served_models.h"
#include "coordinator/serving/serving_routes.h"
#include "model/model.h"

namespace {

using fl::serving::ServedModels;

// The issue's targets for :predict with one instance per request.
constexpr double kTargetRequestsPerSecond = 10'000;
constexpr double kTargetP99Ms = 10;
constexpr int kBatchRows = 100;
constexpr auto kSwapInterval = std::chrono::milliseconds(20);

struct WrkResult {
  bool ok = false;
  double requests_per_second = 0;
  double p99_ms = 0;
  int64_t non_2xx = 0;
  int64_t socket_errors = 0;
  std::string raw;
};

struct Scenario {
  std::string name;
  std::string target;
  std::string body;  // empty: GET
  int rows = 1;
  bool swap = false;
  bool has_target = false;  // the issue's 10k req/s / 10 ms figure applies
  WrkResult result;
  double handler_us = 0;  // mean handler time per request
};

// "1.23ms" -> 1.23; "850.00us" -> 0.85; "1.02s" -> 1020.
std::optional<double> duration_ms(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit == "us") return value / 1000;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60'000;
  return std::nullopt;
}

WrkResult parse_wrk(const std::string& output) {
  WrkResult result;
  result.raw = output;
  std::istringstream lines(output);
  std::string line;
  bool have_rps = false, have_p99 = false;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "Requests/sec:") {
      words >> result.requests_per_second;
      have_rps = true;
    } else if (first == "99%") {
      std::string value;
      words >> value;
      if (auto ms = duration_ms(value)) {
        result.p99_ms = *ms;
        have_p99 = true;
      }
    } else if (line.find("Non-2xx or 3xx responses:") != std::string::npos) {
      result.non_2xx = std::stoll(line.substr(line.find(':') + 1));
    } else if (first == "Socket") {
      // "Socket errors: connect 0, read 0, write 0, timeout 0"
      std::string word;
      while (words >> word) {
        int64_t n = 0;
        const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
        if (ec == std::errc() && end != word.data()) result.socket_errors += n;
      }
    }
  }
  result.ok = have_rps && have_p99;
  return result;
}

std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  ::pclose(pipe);
  return output;
}

// One row of Fashion-MNIST-like pixels, as a client would print them.
std::string pixel_row(std::mt19937_64& rng) {
  std::string row = "[";
  for (int j = 0; j < 784; ++j) {
    if (j) row += ',';
    const float value = rng() % 2 ? 0.0f : static_cast<float>(rng() % 256) / 255.0f;
    char buffer[32];
    row.append(buffer, std::to_chars(buffer, buffer + sizeof(buffer), value).ptr);
  }
  return row + "]";
}

std::string read_loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prediction-serving throughput and latency under wrk on loopback"};
  int io_threads = 2;
  int connections = 50;
  int wrk_threads = 2;
  std::string duration = "10s";
  std::string wrk = "/usr/bin/wrk";
  bool verbose = false;
  app.add_option("--threads", io_threads, "server io threads")->check(CLI::PositiveNumber);
  app.add_option("--connections", connections, "wrk connections")->check(CLI::PositiveNumber);
  app.add_option("--wrk-threads", wrk_threads, "wrk threads")->check(CLI::PositiveNumber);
  app.add_option("--duration", duration, "wrk duration per scenario, e.g. 10s");
  app.add_option("--wrk", wrk, "path of the wrk binary");
  app.add_flag("--verbose", verbose, "print wrk's own output");
  CLI11_PARSE(app, argc, argv);

  if (::access(wrk.c_str(), X_OK) != 0) {
    std::cerr << "bench_serving: wrk not found at '" << wrk
              << "' (apt-get install wrk, or pass --wrk PATH)\n";
    return 1;
  }

  // Two versions of the model, to swap between.
  const fl::model::ModelSpec spec = fl::model::ModelSpec::mlp(784, 10, {100});
  fl::Result<fl::model::Model> first = fl::model::create_model(spec, 42);
  fl::Result<fl::model::Model> second = fl::model::create_model(spec, 43);
  if (!first.ok() || !second.ok()) {
    std::cerr << "bench_serving: cannot create the model\n";
    return 1;
  }
  auto models = std::make_shared<ServedModels>(std::vector<std::string>{"fashion"});
  if (const fl::Status s = models->publish("fashion", 1, *first); !s.ok()) {
    std::cerr << "bench_serving: " << s.to_string() << "\n";
    return 1;
  }

  fl::http::Router router;
  fl::serving::ServingRouteOptions route_options;
  route_options.max_batch_rows = 1024;
  // Handler time (parse, predict, write JSON), to set against the wall time
  // per request: the rest is HTTP, the kernel and wrk.
  std::atomic<uint64_t> handler_ns{0}, handled{0};
  route_options.observer = [&](std::string_view, std::string_view, int, double seconds) {
    handler_ns += static_cast<uint64_t>(seconds * 1e9);
    ++handled;
  };
  if (const fl::Status s = fl::serving::add_serving_routes(router, models, route_options);
      !s.ok()) {
    std::cerr << "bench_serving: " << s.to_string() << "\n";
    return 1;
  }
  fl::http::HttpServerOptions server_options;
  server_options.io_threads = io_threads;
  fl::http::HttpServer server(std::move(router), server_options);
  if (const fl::Status s = server.start(); !s.ok()) {
    std::cerr << "bench_serving: " << s.to_string() << "\n";
    return 1;
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  std::mt19937_64 rng(7);
  const std::string one_row = pixel_row(rng);
  std::string batch = "[";
  for (int i = 0; i < kBatchRows; ++i) batch += (i ? "," : "") + pixel_row(rng);
  batch += "]";
  const std::string kserve_one =
      R"({"inputs":[{"name":"inputs","shape":[1,784],"datatype":"FP32","data":)" + one_row + "}]}";

  std::vector<Scenario> scenarios = {
      {"healthz (limit)", "/v2/health/live", "", 1, false, false, {}, 0},
      {":predict 1 instance", "/v1/models/fashion:predict",
       "{\"instances\":[" + one_row + "]}", 1, false, true, {}, 0},
      {":predict 100 instances", "/v1/models/fashion:predict", "{\"instances\":" + batch + "}",
       kBatchRows, false, false, {}, 0},
      {"kserve infer 1 instance", "/v2/models/fashion/infer", kserve_one, 1, false, false, {}, 0},
      {":predict 1 + swap/20ms", "/v1/models/fashion:predict",
       "{\"instances\":[" + one_row + "]}", 1, true, true, {}, 0},
  };

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bench_serving_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);

  std::cout << "bench_serving: wrk -t" << wrk_threads << " -c" << connections << " -d" << duration
            << ", server io threads " << io_threads << ", cores "
            << std::thread::hardware_concurrency() << ", loadavg before: " << read_loadavg()
            << "\n";
  std::cout << "model: mlp(784 -> 100 relu -> 10); body bytes: 1 instance " << one_row.size() + 17
            << ", 100 instances " << batch.size() + 15 << "\n\n";

  int64_t swaps = 0;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    Scenario& scenario = scenarios[i];
    std::string script_arg;
    if (!scenario.body.empty()) {
      const auto body_path = dir / ("body" + std::to_string(i) + ".json");
      const auto script_path = dir / ("post" + std::to_string(i) + ".lua");
      std::ofstream(body_path, std::ios::binary) << scenario.body;
      std::ofstream(script_path) << "wrk.method = \"POST\"\n"
                                 << "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
                                 << "local f = io.open(\"" << body_path.string() << "\", \"rb\")\n"
                                 << "wrk.body = f:read(\"*a\")\nf:close()\n";
      script_arg = " -s " + script_path.string();
    }
    std::atomic<bool> stop_swapping{false};
    std::thread swapper;
    if (scenario.swap) {
      swapper = std::thread([&] {
        int64_t version = 1;
        while (!stop_swapping) {
          std::this_thread::sleep_for(kSwapInterval);
          ++version;
          if (models->publish("fashion", version, version % 2 ? *first : *second).ok()) ++swaps;
        }
      });
    }
    const std::string command = wrk + " -t" + std::to_string(wrk_threads) + " -c" +
                                std::to_string(connections) + " -d" + duration + " --latency" +
                                script_arg + " " + base + scenario.target + " 2>&1";
    handler_ns = 0;
    handled = 0;
    scenario.result = parse_wrk(run_command(command));
    if (handled > 0) scenario.handler_us = handler_ns / 1e3 / static_cast<double>(handled);
    stop_swapping = true;
    if (swapper.joinable()) swapper.join();
    if (verbose || !scenario.result.ok) std::cout << scenario.result.raw << "\n";
  }
  server.stop();
  std::filesystem::remove_all(dir);

  const double limit = scenarios[0].result.requests_per_second;
  bool errors = false;
  std::printf("%-26s %9s %9s %8s %10s %7s %8s %8s  %s\n", "scenario", "req/s", "rows/s",
              "p99 ms", "handler us", "non-2xx", "sock err", "of limit",
              "target (10k req/s, p99 10 ms)");
  nlohmann::json report = {{"bench", "serving"},
                           {"connections", connections},
                           {"io_threads", io_threads},
                           {"wrk_threads", wrk_threads},
                           {"duration", duration},
                           {"loadavg_after", read_loadavg()},
                           {"limit_healthz_rps", limit},
                           {"target_rps", kTargetRequestsPerSecond},
                           {"target_p99_ms", kTargetP99Ms},
                           {"swaps", swaps},
                           {"scenarios", nlohmann::json::array()}};
  for (const Scenario& s : scenarios) {
    const WrkResult& r = s.result;
    errors = errors || !r.ok || r.non_2xx != 0 || r.socket_errors != 0;
    const bool met = r.requests_per_second >= kTargetRequestsPerSecond && r.p99_ms < kTargetP99Ms;
    const double of_limit = limit > 0 ? r.requests_per_second / limit : 0;
    std::printf("%-26s %9.0f %9.0f %8.2f %10.1f %7lld %8lld %7.0f%%  %s\n", s.name.c_str(),
                r.requests_per_second, r.requests_per_second * s.rows, r.p99_ms, s.handler_us,
                static_cast<long long>(r.non_2xx), static_cast<long long>(r.socket_errors),
                100 * of_limit, s.has_target ? (met ? "met" : "MISSED") : "-");
    nlohmann::json entry = {{"name", s.name},
                            {"ok", r.ok},
                            {"rps", r.requests_per_second},
                            {"rows_per_s", r.requests_per_second * s.rows},
                            {"p99_ms", r.p99_ms},
                            {"handler_us", s.handler_us},
                            {"non_2xx", r.non_2xx},
                            {"socket_errors", r.socket_errors},
                            {"fraction_of_limit", of_limit}};
    if (s.has_target) entry["meets_target"] = met;
    report["scenarios"].push_back(entry);
  }
  std::printf("hot swaps during the swap scenario: %lld (every %lld ms)\n",
              static_cast<long long>(swaps), static_cast<long long>(kSwapInterval.count()));
  std::cout << report.dump() << "\n";
  return errors ? 2 : 0;
}
