// fl-client: one federated learning client on the command line, training the
// coordinator's model with the built-in trainer on a shard of a local dataset.
//
//   fl-client --coordinator http://127.0.0.1:8080 --identity key.bin
//             --population fmnist --data fashion-mnist --shard 3/10 --rounds 5
//
// The data: --shard I/N is an IID shard (client_sdk/shard.h); --partition
// SPEC --clients N --index I takes client I's part of one of fl-sim's
// partitions (iid, dirichlet:ALPHA, shards:K, quantity:power_law:EXPONENT,
// quantity:dirichlet:BETA; model/partition.h), with --partition-seed the
// scenario's seed and --data-limit its data.train_limit, so the process trains
// on exactly the examples the in-process simulation gives its client I.
//
// Prints one line per round and exits 0 when the requested rounds completed
// or the population finished.
//
// Testing hooks (for integration tests, not production):
//   --dump-updates DIR  writes each round's clear update to
//                       DIR/round-<R>-client-<ID>.bin: the aggregation weight
//                       as a little-endian float64, then the update (new minus
//                       global weights) as little-endian float32s, so a test
//                       can compute the federated average in the clear.
//   --stall-after STAGE stops responding (sleeps forever, process alive) right
//                       after the coordinator accepted this client's
//                       share_keys or masked_input message, so a test can
//                       SIGKILL it at a known protocol point.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <thread>

#include "client_sdk/shard.h"
#include "fl/client.h"
#include "fl/model_trainer.h"
#ifdef FL_SDK_TESTING
#include "fl/testing.h"
#endif
#include "model/csv_reader.h"
#include "model/fashion_mnist.h"
#include "model/metrics.h"
#include "model/model.h"
#include "model/serialization.h"
#include "model/train.h"
#include "model/train_config.h"

namespace {

bool parse_shard(const std::string& text, uint32_t& index, uint32_t& count) {
  unsigned i = 0, n = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n) return false;
  index = i;
  count = n;
  return true;
}

template <typename T>
void put_le(std::ostream& out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  if constexpr (std::endian::native == std::endian::big) std::reverse(bytes, bytes + sizeof(T));
  out.write(reinterpret_cast<const char*>(bytes), sizeof(T));
}

#ifdef FL_SDK_TESTING
bool dump_update(const std::string& dir, const fl::testing::UpdateRecord& record) {
  const std::string path = dir + "/round-" + std::to_string(record.round_id) + "-client-" +
                           std::to_string(record.client_id) + ".bin";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  put_le(out, record.weight);
  for (float v : record.update) put_le(out, v);
  out.close();
  if (!out) std::cerr << "fl-client: cannot write " << path << "\n";
  return static_cast<bool>(out);
}
#endif

// SIGINT and SIGTERM cancel the client (it tells the coordinator it left the
// round, so the round goes on without waiting for it) instead of killing it
// mid-request. They are blocked in every thread and taken by one waiter, which
// outlives this guard: it reaches the client only through `state`, which the
// guard's destructor empties under the same mutex the waiter holds while it
// cancels. So a signal that arrives while main() is destroying the client
// waits for nothing freed; it ends the process, as one with no client to
// cancel.
class CancelOnSignals {
 public:
  explicit CancelOnSignals(fl::Client& client) : state_(std::make_shared<State>()) {
    state_->client = &client;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::thread([signals, state = state_] {
      int received = 0;
      if (sigwait(&signals, &received) != 0) return;
      {
        std::lock_guard<std::mutex> lock(state->mu);
        if (state->client == nullptr) std::_Exit(128 + received);
        std::cerr << "fl-client: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
                  << ": leaving the round" << std::endl;
        state->client->cancel();
      }
      // A second signal ends the process at once.
      sigwait(&signals, &received);
      std::_Exit(128 + received);
    }).detach();
  }
  ~CancelOnSignals() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->client = nullptr;
  }
  CancelOnSignals(const CancelOnSignals&) = delete;
  CancelOnSignals& operator=(const CancelOnSignals&) = delete;

 private:
  struct State {
    std::mutex mu;
    fl::Client* client = nullptr;  // null once the guard is gone
  };
  std::shared_ptr<State> state_;
};

std::string kib(uint64_t bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << static_cast<double>(bytes) / 1024.0 << " KiB";
  return s.str();
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fl-client: a federated learning client using the built-in trainer"};
  fl::ClientOptions options;
  fl::BuiltinTrainerOptions data;
  std::string shard = "0/1";
  int rounds = 0;
  int max_failures = 20;
  double max_wait_s = 600;
  bool verbose = false;
  std::string dump_dir;
  std::string stall_after;

  app.add_option("--coordinator", options.coordinator, "http(s)://host:port")->required();
  app.add_option("--ca", options.ca_file, "PEM trust anchors for an https coordinator");
  app.add_flag("--insecure-skip-verify", options.insecure_skip_verify,
               "do not verify the coordinator's certificate (development only)");
  app.add_flag("--allow-insecure-http", options.allow_insecure_http,
               "allow a plain http:// coordinator other than loopback (development only)");
  app.add_option("--client-cert", options.client_certificate_file,
                 "mutual TLS: this device's certificate chain (PEM)");
  app.add_option("--client-key", options.client_key_file,
                 "mutual TLS: this device's private key (PEM)");
  app.add_option("--identity", options.identity_file,
                 "this device's key file (32-byte seed; created with mode 0600 if absent)")
      ->required();
  app.add_option("--population", options.population, "population to join")->required();
  std::string device_token_file;
  auto* token_opt = app.add_option("--device-token", options.device_token,
                                   "one-time enrolment token (fl-coordinator devices issue)");
  auto* token_file_opt =
      app.add_option("--device-token-file", device_token_file,
                     "file whose first line is the device token (keeps it out of `ps`)")
          ->excludes(token_opt);
  app.add_option("--device-certificate", options.device_certificate_file,
                 "device certificate file (fl-coordinator devices certify)")
      ->excludes(token_opt)
      ->excludes(token_file_opt);
  app.add_option("--label", options.label, "free text shown to operators");
  app.add_option("--data", data.dataset, "fashion-mnist, fashion-mnist:DIR or csv:PATH")
      ->required();
  app.add_option("--target", data.target_column, "CSV target column");
  app.add_flag("--regression", data.regression, "CSV target is real-valued");
  std::string partition;
  int64_t partition_clients = 0, partition_index = -1, data_limit = 0, min_examples = 1;
  auto* shard_opt = app.add_option("--shard", shard, "I/N: this client's IID shard of the dataset");
  auto* partition_opt =
      app.add_option("--partition", partition,
                     "non-IID data as fl-sim deals it: iid | dirichlet:ALPHA | shards:K | "
                     "quantity:power_law:EXPONENT | quantity:dirichlet:BETA (with --clients, "
                     "--index)")
          ->excludes(shard_opt);
  app.add_option("--clients", partition_clients, "--partition: the number of clients N")
      ->needs(partition_opt);
  app.add_option("--index", partition_index, "--partition: this client's index I, 0 <= I < N")
      ->needs(partition_opt);
  app.add_option("--data-limit", data_limit,
                 "--partition: partition a seeded subset of this many examples (fl-sim's "
                 "data.train_limit; 0: all)")
      ->needs(partition_opt);
  app.add_option("--min-examples", min_examples,
                 "--partition: examples every client gets at least (fl-sim's "
                 "partition.min_examples)")
      ->needs(partition_opt);
  app.add_option("--evaluation-fraction", data.evaluation_fraction,
                 "share of this client's examples held out for federated evaluation")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--partition-seed", data.partition_seed,
                 "seed shared by all clients: the --shard shuffle, or fl-sim's scenario seed");
  app.add_option("--threads", data.num_threads, "training threads (0: one per core)");
  app.add_option("--rounds", rounds, "rounds to complete (0: until the population finishes)");
  app.add_option("--max-failures", max_failures, "consecutive failed attempts before giving up");
  app.add_option("--max-wait", max_wait_s, "seconds to wait for selection per attempt");
  app.add_flag("-v,--verbose", verbose, "log every event");
#ifdef FL_SDK_TESTING
  fl::testing::Hooks hooks;
  app.add_option("--seed", hooks.rng_seed, "TESTING: deterministic randomness; 0: OS CSPRNG");
  app.add_option("--dump-updates", dump_dir, "TESTING: write each round's clear update here");
  app.add_option("--stall-after", stall_after, "TESTING: stop responding after this stage")
      ->check(CLI::IsMember({"share_keys", "masked_input"}));
#endif
  CLI11_PARSE(app, argc, argv);

  if (!device_token_file.empty()) {
    std::ifstream in(device_token_file);
    if (!in || !std::getline(in, options.device_token)) {
      std::cerr << "fl-client: --device-token-file: cannot read a token from " << device_token_file
                << "\n";
      return 2;
    }
    while (!options.device_token.empty() &&
           (options.device_token.back() == '\r' || options.device_token.back() == ' '))
      options.device_token.pop_back();
  }
  if (!parse_shard(shard, data.shard_index, data.shard_count)) {
    std::cerr << "fl-client: --shard must be I/N with 0 <= I < N, got '" << shard << "'\n";
    return 2;
  }
  fl::client_sdk::PartitionedShard partitioned;
  if (!partition.empty()) {
    auto spec = fl::model::parse_partition_spec(partition);
    if (!spec.ok()) {
      std::cerr << "fl-client: --partition: " << spec.status().message() << "\n";
      return 2;
    }
    partitioned.spec = *spec;
    partitioned.spec.min_examples = min_examples;
    if (partition_clients < 1) {
      std::cerr << "fl-client: --clients: --partition needs the number of clients N >= 1\n";
      return 2;
    }
    if (partition_index < 0 || partition_index >= partition_clients) {
      std::cerr << "fl-client: --index: --partition needs 0 <= I < " << partition_clients
                << ", got " << partition_index << "\n";
      return 2;
    }
    if (data_limit < 0 || min_examples < 0) {
      std::cerr << "fl-client: " << (data_limit < 0 ? "--data-limit" : "--min-examples")
                << ": must be >= 0\n";
      return 2;
    }
    partitioned.clients = partition_clients;
    partitioned.index = partition_index;
    partitioned.seed = data.partition_seed;
    partitioned.data_limit = data_limit;
    shard =
        std::to_string(partition_index) + "/" + std::to_string(partition_clients) + " " + partition;
  }
  if (verbose)
    options.logger = [](std::string_view line) { std::cerr << "fl-client: " << line << "\n"; };
#ifdef FL_SDK_TESTING
  if (!dump_dir.empty())
    hooks.inspect_update = [dump_dir](const fl::testing::UpdateRecord& r) {
      dump_update(dump_dir, r);
    };
  if (!stall_after.empty()) {
    hooks.after_stage = [stall_after](std::string_view stage) {
      if (stage != stall_after) return;
      std::cout << "stalling after " << stage << " (testing hook)" << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    };
  }
#endif

  if (!partition.empty()) {
    data.partition = partition;
    data.partition_clients = partition_clients;
    data.partition_index = partition_index;
    data.data_limit = data_limit;
    data.min_examples = min_examples;
  }
  fl::Result<std::unique_ptr<fl::Trainer>> trainer = fl::make_model_trainer(data);
  if (!trainer.ok()) {
    std::cerr << "fl-client: " << trainer.status().to_string() << "\n";
    return 1;
  }
  const uint64_t examples = (*trainer)->num_examples();
#ifdef FL_SDK_TESTING
  auto client = fl::testing::create_client(options, std::move(*trainer), std::move(hooks));
#else
  auto client = fl::Client::create(options, std::move(*trainer));
#endif
  if (!client.ok()) {
    std::cerr << "fl-client: " << client.status().to_string() << "\n";
    return 1;
  }
  const CancelOnSignals cancel_on_signals(**client);  // destroyed before the client
  if (auto s = (*client)->enroll(); !s.ok()) {
    std::cerr << "fl-client: " << s.to_string() << "\n";
    return 1;
  }
  const std::string piece =
      data.partition.empty() ? "shard " + shard
                             : "client " + std::to_string(data.partition_index) + "/" +
                                   std::to_string(data.partition_clients) + " of " + data.partition;
  std::cout << "client " << (*client)->client_id() << " (" << data.dataset << " " << piece << ", "
            << examples << " examples)" << std::endl;

  const auto max_wait = std::chrono::milliseconds(static_cast<int64_t>(max_wait_s * 1000));
  int completed = 0;
  int failures = 0;
  while (rounds == 0 || completed < rounds) {
    auto report = (*client)->participate(max_wait);
    if (!report.ok()) {
      const fl::Status& s = report.status();
      if (s.code() == fl::ErrorCode::kFailedPrecondition &&
          s.message().starts_with("population finished")) {
        std::cout << "population finished after " << completed << " rounds" << std::endl;
        return 0;
      }
      std::cerr << "fl-client: " << s.to_string() << "\n";
      if (s.code() == fl::ErrorCode::kCancelled) return 130;
      // Not selected within --max-wait (or backing off): try again.
      const bool transient =
          s.code() == fl::ErrorCode::kUnavailable || s.code() == fl::ErrorCode::kDeadlineExceeded;
      if (!transient || ++failures >= max_failures) return 1;
      continue;
    }
    const fl::RoundReport& r = *report;
    std::cout << "round " << r.round_id << ": " << (r.completed ? "completed" : "failed")
              << (r.completed ? " new_version=" + std::to_string(r.new_version) : "")
              << " examples=" << r.examples << " train=" << r.train_seconds << "s"
              << " up=" << kib(r.bytes_up) << " down=" << kib(r.bytes_down)
              << " stages=" << join(r.stages)
              << (r.failure_reason.empty() ? "" : " reason=\"" + r.failure_reason + "\"")
              << (r.retry_after.count() > 0
                      ? " retry_after=" + std::to_string(r.retry_after.count()) + "ms"
                      : "")
              << std::endl;
    if (r.completed) {
      ++completed;
      failures = 0;
    } else if (++failures >= max_failures) {
      std::cerr << "fl-client: " << failures << " failed rounds in a row; giving up\n";
      return 1;
    }
  }
  return 0;
}
