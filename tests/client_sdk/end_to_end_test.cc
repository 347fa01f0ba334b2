// Five fl::Clients with the built-in trainer and a real CoordinatorService on
// loopback: whole rounds of check-in, task, download, background training and
// secure aggregation, and the averaged model the coordinator publishes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "aggregation/quantization.h"
#include "coordinator/service/config.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/service/device_certificate.h"
#include "coordinator/service/enrollment.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"
#include "fl/c_api.h"
#include "fl/client.h"
#include "fl/model_trainer.h"
#include "fl/testing.h"
#include "model/model.h"
#include "model/predict.h"
#include "model/serialization.h"
#include "proto/secagg.pb.h"

namespace fl {
namespace {

namespace fs = std::filesystem;
constexpr int kClients = 5;

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "fl-sdk-e2e-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Three separable classes over four features.
void write_synthetic_csv(const std::string& path) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.5f);
  std::ofstream out(path);
  out << "x0,x1,x2,x3,label\n";
  for (int i = 0; i < 600; ++i) {
    const int label = i % 3;
    out << (label == 0 ? 2.0f : 0.0f) + noise(rng) << "," << (label == 1 ? 2.0f : 0.0f) + noise(rng)
        << "," << (label == 2 ? 2.0f : 0.0f) + noise(rng) << "," << noise(rng) << "," << label
        << "\n";
  }
}

// long_deadlines: stages wait 10 minutes for a silent client, so a round that
// completes within a test's minute did not wait for one.
constexpr char kSoftmaxModel[] =
    "{name: e2e-softmax, kind: softmax, input_dim: 4, classes: 3, seed: 1}";
// An app-defined model: 40 weights and a bias, a flat vector to the coordinator.
constexpr char kCustomModel[] =
    "{name: e2e-app, kind: custom, parameters: 41, layout: [{name: w, size: 40}, "
    "{name: b, size: 1}], seed: 1}";

coordinator::CoordinatorConfig service_config(uint32_t rounds, double l2_clip = 0,
                                              bool long_deadlines = false,
                                              const std::string& model = kSoftmaxModel) {
  const std::string deadlines =
      long_deadlines ? "{selection: 3000, advertise_keys: 600000, share_keys: 600000, "
                       "masked_input: 600000, unmasking: 600000}"
                     : "{selection: 3000, advertise_keys: 20000, share_keys: 20000, "
                       "masked_input: 60000, unmasking: 20000}";
  const std::string yaml = R"(
listen: {address: 127.0.0.1, port: 0, io_threads: 2}
store: {path: ":memory:"}
admin_token: "an-admin-token-for-tests"
limits: {requests_per_second: 10000, burst: 10000}
population:
  name: e2e
  model: )" + model + R"(
  rounds: )" + std::to_string(rounds) +
                           R"(
  cohort_size: 5
  over_selection: 1.0
  min_cohort: 3
  allow_small_cohorts: true
  retry_after_ms: 100
  # selection: long enough that all five clients check in before the window
  # closes, also while ctest runs heavier tests beside this one (at 1 s one
  # client once missed round 1 and found the population finished after round 2)
  deadlines_ms: )" + deadlines +
                           R"(
  training: {epochs: 2, batch_size: 16, learning_rate: 0.1, optimizer: sgd, seed: 1}
  quantization: {clip: 1.0, bits: 20, ring_bits: 64, max_weight: 1000, l2_clip: )" +
                           std::to_string(l2_clip) + R"(}
  secure_aggregation: {graph: complete, signed_keys: true}
  server_optimizer: {kind: fedavg, server_lr: 1.0}
)";
  auto config = coordinator::parse_config(yaml, "end_to_end_test");
  EXPECT_TRUE(config.ok()) << config.status().to_string();
  return *config;
}

struct Fleet {
  std::mutex mutex;
  std::map<uint64_t, std::vector<testing::UpdateRecord>> updates;  // by round, spans copied below
  std::map<uint64_t, std::vector<std::vector<float>>> update_values;
};

// One device token per client, issued into the coordinator's store as an
// operator would with `fl-coordinator devices issue`.
std::vector<std::string> issue_tokens(coordinator::CoordinatorService& service, size_t count) {
  crypto::SeededRng rng(count, "end-to-end-tokens");
  auto tokens = coordinator::issue_device_tokens(service.store(), rng, count, 0, "e2e");
  EXPECT_TRUE(tokens.ok()) << tokens.status().to_string();
  return tokens.ok() ? *tokens : std::vector<std::string>(count);
}

std::unique_ptr<Client> make_client(const ScratchDir& dir, const std::string& csv, int index,
                                    uint16_t port, Fleet* fleet, const std::string& device_token,
                                    std::function<void(std::string_view)> after_stage = {},
                                    std::unique_ptr<Trainer> own_trainer = nullptr,
                                    std::function<void(std::string_view)> before_stage = {}) {
  BuiltinTrainerOptions data;
  data.dataset = "csv:" + csv;
  data.target_column = "label";
  data.shard_index = static_cast<uint32_t>(index);
  data.shard_count = kClients;
  Result<std::unique_ptr<Trainer>> trainer = std::move(own_trainer);
  if (!*trainer) trainer = make_model_trainer(data);
  EXPECT_TRUE(trainer.ok()) << trainer.status().to_string();
  ClientOptions o;
  o.coordinator = "http://127.0.0.1:" + std::to_string(port);
  o.identity_file = dir.file("client-" + std::to_string(index) + ".key");
  o.population = "e2e";
  o.label = "test client " + std::to_string(index);
  o.device_token = device_token;
  testing::Hooks hooks;
  hooks.rng_seed = static_cast<uint64_t>(index) + 1;
  o.retry.base_delay = std::chrono::milliseconds(20);
  o.retry.max_delay = std::chrono::milliseconds(200);
  o.retry.round_failure_base_delay = std::chrono::milliseconds(50);
  o.retry.round_failure_max_delay = std::chrono::milliseconds(500);
  o.round_timeout = std::chrono::seconds(120);
  hooks.after_stage = std::move(after_stage);
  hooks.before_stage = std::move(before_stage);
  if (fleet) {
    hooks.inspect_update = [fleet](const testing::UpdateRecord& r) {
      std::lock_guard<std::mutex> lock(fleet->mutex);
      fleet->updates[r.round_id].push_back(r);
      fleet->update_values[r.round_id].emplace_back(r.update.begin(), r.update.end());
    };
  }
  auto client = testing::create_client(o, std::move(*trainer), std::move(hooks));
  EXPECT_TRUE(client.ok()) << client.status().to_string();
  return std::move(*client);
}

TEST(ClientEndToEnd, FiveClientsCompleteTwoRoundsAndTheCoordinatorPublishesTheirAverage) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  write_synthetic_csv(csv);
  // Clients clip their updates to the task's L2 bound; the published average
  // is of the clipped updates.
  const double l2_clip = 0.05;
  auto service = coordinator::CoordinatorService::create(service_config(2, l2_clip));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const uint16_t port = (*service)->port();

  Fleet fleet;
  const auto tokens = issue_tokens(**service, kClients);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(make_client(dir, csv, i, port, &fleet, tokens[i]));

  std::vector<std::vector<Result<RoundReport>>> reports(kClients);
  std::vector<Status> after_finish(kClients);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        for (int r = 0; r < 2; ++r)
          reports[i].push_back(clients[i]->participate(std::chrono::seconds(60)));
        after_finish[i] = clients[i]->participate(std::chrono::seconds(10)).status();
      });
    }
    for (auto& t : threads) t.join();
  }

  std::map<uint64_t, int64_t> version_of_round;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(reports[i].size(), 2u);
    for (const auto& report : reports[i]) {
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      EXPECT_TRUE(report->completed) << "client " << i << ": " << report->failure_reason;
      EXPECT_GT(report->new_version, report->model_version);
      EXPECT_GT(report->examples, 0u);
      EXPECT_GT(report->bytes_up, 0u);
      EXPECT_GT(report->bytes_down, 0u);
      EXPECT_EQ(report->stages.back(), "completed");
      auto [it, inserted] = version_of_round.emplace(report->round_id, report->new_version);
      EXPECT_EQ(it->second, report->new_version)
          << "clients disagree on round " << report->round_id;
    }
    EXPECT_GT(reports[i][1]->round_id, reports[i][0]->round_id);
    EXPECT_EQ(after_finish[i].code(), ErrorCode::kFailedPrecondition)
        << after_finish[i].to_string();
    EXPECT_NE(after_finish[i].message().find("population finished"), std::string::npos);
  }
  ASSERT_EQ(version_of_round.size(), 2u);

  // The published version is global + the weighted mean of the clear updates
  // (FedAvg with server_lr 1), up to quantisation error.
  const RoundReport& first = *reports[0][0];
  auto before = clients[0]->fetch_model(first.model_version);
  auto after = clients[0]->fetch_model(first.new_version);
  ASSERT_TRUE(before.ok() && after.ok());
  auto global = model::load_model(*before, "before");
  auto updated = model::load_model(*after, "after");
  ASSERT_TRUE(global.ok() && updated.ok());
  const auto& records = fleet.updates[first.round_id];
  const auto& values = fleet.update_values[first.round_id];
  ASSERT_EQ(records.size(), static_cast<size_t>(kClients));
  double total_weight = 0;
  int clipped = 0;
  for (size_t c = 0; c < records.size(); ++c) {
    total_weight += records[c].weight;
    double norm = 0;
    for (float x : values[c]) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    EXPECT_LE(norm, l2_clip) << "client " << c;
    clipped += norm > l2_clip * (1 - 1e-5);
  }
  EXPECT_GT(clipped, 0) << "no update was long enough to be clipped; lower l2_clip";
  aggregation::QuantizationConfig q;
  q.clip = 1.0;
  q.bits = 20;
  q.ring = crypto::RingBits::k64;
  q.max_weight = 1000;
  const double tolerance = 4 * aggregation::quantization_step(q) + 1e-5;
  for (Eigen::Index j = 0; j < global->params.size(); ++j) {
    double mean = 0;
    for (size_t c = 0; c < records.size(); ++c) mean += records[c].weight * values[c][j];
    mean /= total_weight;
    EXPECT_NEAR(updated->params[j], global->params[j] + mean, tolerance) << "weight " << j;
  }
  (*service)->stop();
}

TEST(ClientEndToEnd, ARoundCutShortByACoordinatorRestartIsReportedAndTheNextOneCompletes) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  write_synthetic_csv(csv);
  coordinator::CoordinatorConfig config = service_config(1);
  config.store_path = dir.file("coordinator.db");
  auto service = coordinator::CoordinatorService::create(config);
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const uint16_t port = (*service)->port();

  // Every client pauses right after its shares were accepted (protocol round
  // 1) until the coordinator has crashed and come back on the same port.
  std::mutex mutex;
  std::condition_variable changed;
  int paused = 0;
  bool restarted = false;
  auto pause_until_restarted = [&](std::string_view stage) {
    std::unique_lock<std::mutex> lock(mutex);
    if (stage != "share_keys" || restarted) return;
    ++paused;
    changed.notify_all();
    changed.wait(lock, [&] { return restarted; });
  };
  const auto tokens = issue_tokens(**service, kClients);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(make_client(dir, csv, i, port, nullptr, tokens[i], pause_until_restarted));
  std::vector<std::vector<Result<RoundReport>>> reports(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 2; ++r)
        reports[i].push_back(clients[i]->participate(std::chrono::seconds(30)));
    });
  }
  {
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(
        changed.wait_for(lock, std::chrono::seconds(60), [&] { return paused == kClients; }));
  }
  (*service)->stop();
  service->reset();
  config.port = port;
  auto again = coordinator::CoordinatorService::create(config);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  ASSERT_TRUE((*again)->start().ok());
  {
    std::lock_guard<std::mutex> lock(mutex);
    restarted = true;
  }
  changed.notify_all();
  for (auto& t : threads) t.join();

  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(reports[i].size(), 2u);
    ASSERT_TRUE(reports[i][0].ok()) << reports[i][0].status().to_string();
    const RoundReport& cut = *reports[i][0];
    EXPECT_FALSE(cut.completed);
    EXPECT_NE(cut.failure_reason.find("not running"), std::string::npos) << cut.failure_reason;
    EXPECT_EQ(cut.stages.back(), "failed");
    ASSERT_TRUE(reports[i][1].ok()) << reports[i][1].status().to_string();
    EXPECT_TRUE(reports[i][1]->completed) << reports[i][1]->failure_reason;
    EXPECT_GT(reports[i][1]->round_id, cut.round_id);
  }
  (*again)->stop();
}

// A Trainer that fails every round (a full disk, a model it cannot load).
class FailingTrainer final : public Trainer {
 public:
  Result<LocalTrainingResult> train(std::span<const float>, const TrainingPlan&,
                                    const CancellationToken&) override {
    return ResourceExhausted("disk full");
  }
};

// A Trainer that trains until it is cancelled, and says when it started.
class UntilCancelledTrainer final : public Trainer {
 public:
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
  Result<LocalTrainingResult> train(std::span<const float>, const TrainingPlan&,
                                    const CancellationToken& cancel) override {
    started = true;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!cancel.cancelled() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    saw_cancel = cancel.cancelled();
    return Cancelled("training stopped");
  }
};

// Runs one round: four built-in clients on their own threads, the fifth driven by
// `drive_odd` on this one; returns the four reports. Stage deadlines are 10 minutes, so the
// round can complete within the clients' minute only if the coordinator
// learnt at once that the fifth left.
std::vector<Result<RoundReport>> four_clients_and(coordinator::CoordinatorService& service,
                                                  const ScratchDir& dir,
                                                  const std::function<void()>& drive_odd) {
  const std::string csv = dir.file("data.csv");
  const auto tokens = issue_tokens(service, kClients);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients - 1; ++i)
    clients.push_back(make_client(dir, csv, i, service.port(), nullptr, tokens[i]));
  std::vector<Result<RoundReport>> reports(kClients - 1, Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients - 1; ++i)
    threads.emplace_back(
        [&, i] { reports[i] = clients[i]->participate(std::chrono::seconds(60)); });
  drive_odd();
  for (auto& t : threads) t.join();
  return reports;
}

TEST(ClientEndToEnd, AFailingTrainerLeavesTheRoundAtOnceAndBacksOffInsteadOfSpinning) {
  ScratchDir dir;
  write_synthetic_csv(dir.file("data.csv"));
  auto service =
      coordinator::CoordinatorService::create(service_config(1, 0, /*long_deadlines=*/true));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  auto failing = make_client(dir, dir.file("data.csv"), kClients - 1, (*service)->port(), nullptr,
                             issue_tokens(**service, 1)[0], {}, std::make_unique<FailingTrainer>());
  std::vector<Result<RoundReport>> failing_reports;
  std::vector<std::chrono::steady_clock::time_point> returned_at;
  std::vector<std::chrono::steady_clock::time_point> called_at;
  auto reports = four_clients_and(**service, dir, [&] {
    // The app's loop, as device_app writes it: call again after a failure.
    for (int attempt = 0; attempt < 4; ++attempt) {
      called_at.push_back(std::chrono::steady_clock::now());
      failing_reports.push_back(failing->participate(std::chrono::seconds(60)));
      returned_at.push_back(std::chrono::steady_clock::now());
      if (!failing_reports.back().ok()) break;  // population finished
    }
  });
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status().to_string();
    EXPECT_TRUE(reports[i]->completed) << "client " << i << ": " << reports[i]->failure_reason;
  }
  ASSERT_GE(failing_reports.size(), 2u);
  ASSERT_TRUE(failing_reports[0].ok()) << failing_reports[0].status().to_string();
  const RoundReport& first = *failing_reports[0];
  EXPECT_FALSE(first.completed);
  EXPECT_NE(first.failure_reason.find("disk full"), std::string::npos) << first.failure_reason;
  EXPECT_GT(first.retry_after.count(), 0);
  // It was not taken back into the round it left: the next call ends with
  // the population (one round) finished, after waiting out the backoff.
  const Result<RoundReport>& next = failing_reports[1];
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), ErrorCode::kFailedPrecondition) << next.status().to_string();
  EXPECT_GE(returned_at[1] - called_at[1], first.retry_after);
  (*service)->stop();
}

TEST(ClientEndToEnd, CancelStopsTheTrainerAndTheRoundGoesOnWithoutTheClient) {
  ScratchDir dir;
  write_synthetic_csv(dir.file("data.csv"));
  auto service =
      coordinator::CoordinatorService::create(service_config(1, 0, /*long_deadlines=*/true));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  auto trainer = std::make_unique<UntilCancelledTrainer>();
  UntilCancelledTrainer* watched = trainer.get();
  auto cancelled = make_client(dir, dir.file("data.csv"), kClients - 1, (*service)->port(), nullptr,
                               issue_tokens(**service, 1)[0], {}, std::move(trainer));
  Result<RoundReport> result = Internal("not run");
  Result<RoundReport> afterwards = Internal("not run");
  auto reports = four_clients_and(**service, dir, [&] {
    std::thread app([&] {
      // The app goes to the background while its Trainer works.
      while (!watched->started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      cancelled->cancel();
    });
    result = cancelled->participate(std::chrono::seconds(60));
    app.join();
  });
  EXPECT_EQ(result.status().code(), ErrorCode::kCancelled) << result.status().to_string();
  EXPECT_TRUE(watched->saw_cancel);
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status().to_string();
    EXPECT_TRUE(reports[i]->completed) << "client " << i << ": " << reports[i]->failure_reason;
  }
  // A cancel applies to one call: the next one runs (and finds the one-round
  // population finished).
  afterwards = cancelled->participate(std::chrono::seconds(30));
  EXPECT_EQ(afterwards.status().code(), ErrorCode::kFailedPrecondition)
      << afterwards.status().to_string();
  (*service)->stop();
}

// The built-in trainer, counting the train() calls still running.
class CountingTrainer final : public Trainer {
 public:
  explicit CountingTrainer(std::unique_ptr<Trainer> inner) : inner_(std::move(inner)) {}
  std::atomic<int> running{0};
  Result<LocalTrainingResult> train(std::span<const float> global, const TrainingPlan& plan,
                                    const CancellationToken& cancel) override {
    ++running;
    auto result = inner_->train(global, plan, cancel);
    --running;
    return result;
  }
  uint64_t num_examples() const override { return inner_->num_examples(); }
  Status on_global_model(std::string_view model_file, int64_t version) override {
    return inner_->on_global_model(model_file, version);
  }

 private:
  std::unique_ptr<Trainer> inner_;
};

// Threads of this process (Linux: /proc/self/task).
size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& t : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The app cancels while the client is about to send its message for one
// protocol stage. Each time: participate() returns kCancelled with the
// client's Trainer finished, the coordinator records exactly one drop-out at
// that stage and completes the round with the other four without waiting for
// a deadline (10 minutes), and once every client is gone no thread is left.
class ClientCancelAtStage : public ::testing::TestWithParam<const char*> {};

TEST_P(ClientCancelAtStage, LeavesNoThreadAndOnlyADropOutAtThatStage) {
  const std::string stage = GetParam();
  const size_t threads_before = thread_count();
  {
    ScratchDir dir;
    write_synthetic_csv(dir.file("data.csv"));
    auto service =
        coordinator::CoordinatorService::create(service_config(1, 0, /*long_deadlines=*/true));
    ASSERT_TRUE(service.ok()) << service.status().to_string();
    ASSERT_TRUE((*service)->start().ok());
    BuiltinTrainerOptions data;
    data.dataset = "csv:" + dir.file("data.csv");
    data.target_column = "label";
    data.shard_index = kClients - 1;
    data.shard_count = kClients;
    auto builtin = make_model_trainer(data);
    ASSERT_TRUE(builtin.ok()) << builtin.status().to_string();
    auto trainer = std::make_unique<CountingTrainer>(std::move(*builtin));
    CountingTrainer* counted = trainer.get();
    Client* self = nullptr;
    std::atomic<int> cancels{0};
    auto odd =
        make_client(dir, dir.file("data.csv"), kClients - 1, (*service)->port(), nullptr,
                    issue_tokens(**service, 1)[0], {}, std::move(trainer), [&](std::string_view s) {
                      if (s == stage) {
                        ++cancels;
                        self->cancel();
                      }
                    });
    self = odd.get();
    Result<RoundReport> result = Internal("not run");
    int running_on_return = -1;
    auto reports = four_clients_and(**service, dir, [&] {
      result = odd->participate(std::chrono::seconds(60));
      running_on_return = counted->running.load();
    });
    EXPECT_EQ(cancels.load(), 1);
    EXPECT_EQ(result.status().code(), ErrorCode::kCancelled) << result.status().to_string();
    EXPECT_EQ(running_on_return, 0) << "participate() returned with its Trainer still running";
    for (size_t i = 0; i < reports.size(); ++i) {
      ASSERT_TRUE(reports[i].ok()) << reports[i].status().to_string();
      EXPECT_TRUE(reports[i]->completed) << "client " << i << ": " << reports[i]->failure_reason;
    }
    auto rounds = (*service)->store().list_rounds(10);
    ASSERT_TRUE(rounds.ok()) << rounds.status().to_string();
    ASSERT_EQ(rounds->size(), 1u);
    const auto& round = rounds->front();
    EXPECT_EQ(round.state, coordinator::RoundState::kCompleted) << round.failure_reason;
    // Five were selected; the odd one sent every stage before `stage` and
    // none from it on.
    const std::vector<std::string> stages = {"advertise_keys", "share_keys", "masked_input",
                                             "unmasking"};
    const std::vector<uint64_t> counts = {round.counts.advertised, round.counts.shared_keys,
                                          round.counts.masked_input, round.counts.unmasked};
    EXPECT_EQ(round.counts.selected, static_cast<uint64_t>(kClients));
    bool reached = false;
    for (size_t i = 0; i < stages.size(); ++i) {
      reached = reached || stages[i] == stage;
      EXPECT_EQ(counts[i], static_cast<uint64_t>(reached ? kClients - 1 : kClients))
          << stages[i] << " after a cancel before " << stage;
    }
    odd.reset();
    (*service)->stop();
  }
  EXPECT_EQ(thread_count(), threads_before) << "a thread outlived the clients and the service";
}

INSTANTIATE_TEST_SUITE_P(EveryStage, ClientCancelAtStage,
                         ::testing::Values("advertise_keys", "share_keys", "masked_input",
                                           "unmasking"),
                         [](const auto& info) { return std::string(info.param); });

// ---- the C ABI (fl/c_api.h) -----------------------------------------------

// A C trainer: moves every weight by +0.01 and reports 10 examples; counts
// its calls through `user`.
int c_train(void* user, const float* global, size_t n, const fl_training_plan* plan,
            const fl_cancel_token* cancel, float* out, uint64_t* examples, char* error,
            size_t error_size) {
  (void)error;
  (void)error_size;
  ++*static_cast<std::atomic<int>*>(user);
  if (fl_cancel_requested(cancel)) return FL_CANCELLED;
  if (fl_training_plan_epochs(plan) == 0) return FL_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; ++i) out[i] = global[i] + 0.01f;
  *examples = 10;
  return FL_OK;
}

TEST(CApi, NullHandlesAndWrongSizesAreErrorCodesNeverCrashes) {
  char* err = nullptr;
  EXPECT_EQ(fl_options_set_coordinator(nullptr, "http://127.0.0.1:1"), FL_INVALID_ARGUMENT);
  fl_options* o = fl_options_create();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(fl_options_set_coordinator(o, nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_ca_file(nullptr, "x"), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_identity_file(o, nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_population(nullptr, nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_device_token(o, nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_device_certificate_file(o, nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_client_certificate(o, "c.pem", nullptr), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_label(nullptr, "x"), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_allow_insecure_http(nullptr, 1), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_round_timeout_ms(nullptr, 1), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_retry(nullptr, 1, 1, 1), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_round_failure_backoff(nullptr, 1, 1), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_round_failure_backoff(o, 10, 1), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_options_set_logger(nullptr, nullptr, nullptr), FL_INVALID_ARGUMENT);

  std::atomic<int> calls{0};
  fl_trainer t = {sizeof(fl_trainer), &calls, c_train, nullptr, nullptr};
  EXPECT_EQ(fl_client_create(nullptr, &t, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("options is NULL"), std::string::npos) << err;
  EXPECT_EQ(fl_client_create(o, nullptr, &err), nullptr);  // replaces the message
  EXPECT_NE(std::string(err).find("trainer is NULL"), std::string::npos) << err;
  fl_trainer wrong = t;
  wrong.struct_size = sizeof(fl_trainer) - 8;  // a table from another header version
  EXPECT_EQ(fl_client_create(o, &wrong, &err), nullptr);
  EXPECT_NE(std::string(err).find("struct_size"), std::string::npos) << err;
  fl_trainer no_train = t;
  no_train.train = nullptr;
  EXPECT_EQ(fl_client_create(o, &no_train, &err), nullptr);
  // Options that fl::Client refuses come back with the field named.
  EXPECT_EQ(fl_client_create(o, &t, &err), nullptr);
  EXPECT_NE(std::string(err).find("identity_file"), std::string::npos) << err;
  EXPECT_EQ(fl_client_create(o, &t, nullptr), nullptr);  // no errptr: just NULL
  fl_free(err);
  err = nullptr;

  fl_round_report* report = reinterpret_cast<fl_round_report*>(&calls);  // must be reset
  EXPECT_EQ(fl_client_participate(nullptr, 10, &report, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(report, nullptr);
  EXPECT_EQ(fl_client_enroll(nullptr, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_client_id(nullptr), 0u);
  fl_client_cancel(nullptr);
  fl_client_destroy(nullptr);
  fl_round_report_destroy(nullptr);
  EXPECT_EQ(fl_round_report_round_id(nullptr), 0u);
  EXPECT_EQ(fl_round_report_completed(nullptr), 0);
  EXPECT_EQ(fl_round_report_model_version(nullptr), 0);
  EXPECT_EQ(fl_round_report_new_version(nullptr), 0);
  EXPECT_STREQ(fl_round_report_failure_reason(nullptr), "");
  EXPECT_EQ(fl_round_report_examples(nullptr), 0u);
  EXPECT_EQ(fl_round_report_train_seconds(nullptr), 0.0);
  EXPECT_EQ(fl_round_report_bytes_up(nullptr), 0u);
  EXPECT_EQ(fl_round_report_bytes_down(nullptr), 0u);
  EXPECT_EQ(fl_round_report_retry_after_ms(nullptr), 0);
  EXPECT_EQ(fl_cancel_requested(nullptr), 0);
  EXPECT_EQ(fl_training_plan_epochs(nullptr), 0u);
  EXPECT_EQ(fl_training_plan_batch_size(nullptr), 0u);
  EXPECT_EQ(fl_training_plan_learning_rate(nullptr), 0.0f);
  EXPECT_STREQ(fl_training_plan_optimizer(nullptr), "");
  EXPECT_EQ(fl_training_plan_momentum(nullptr), 0.0f);
  EXPECT_EQ(fl_training_plan_weight_decay(nullptr), 0.0f);
  EXPECT_EQ(fl_training_plan_fedprox_mu(nullptr), 0.0f);
  EXPECT_EQ(fl_training_plan_seed(nullptr), 0u);
  fl_model* model = reinterpret_cast<fl_model*>(&calls);  // must be reset
  EXPECT_EQ(fl_client_fetch_published_model(nullptr, &model, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(fl_model_load(nullptr, 0, 0, &model, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_model_load("x", 1, 0, nullptr, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_model_load("x", 1, -1, &model, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_model_load("not a model", 11, 0, &model, &err), FL_DATA_LOSS);
  EXPECT_EQ(model, nullptr);
  fl_model_destroy(nullptr);
  EXPECT_EQ(fl_model_version(nullptr), 0);
  EXPECT_STREQ(fl_model_kind(nullptr), "");
  EXPECT_EQ(fl_model_input_dim(nullptr), 0u);
  EXPECT_EQ(fl_model_num_outputs(nullptr), 0u);
  size_t n_params = 99;
  EXPECT_EQ(fl_model_parameters(nullptr, &n_params), nullptr);
  EXPECT_EQ(n_params, 0u);
  EXPECT_EQ(fl_model_layout_size(nullptr), 0u);
  const char* block_name = nullptr;
  uint64_t block_size = 0;
  EXPECT_EQ(fl_model_layout_block(nullptr, 0, &block_name, &block_size, &err), FL_INVALID_ARGUMENT);
  float x[4] = {0, 0, 0, 0};
  float out[3] = {0, 0, 0};
  int cls = -1;
  EXPECT_EQ(fl_model_predict(nullptr, x, 4, out, 3, &err), FL_INVALID_ARGUMENT);
  EXPECT_EQ(fl_model_predict_class(nullptr, x, 4, &cls, &err), FL_INVALID_ARGUMENT);
  {
    // A real model, called with wrong sizes and null buffers.
    auto bytes =
        model::save_model(*model::create_model(model::ModelSpec::softmax_regression(4, 3), 1));
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(fl_model_load(bytes->data(), bytes->size(), 7, &model, &err), FL_OK);
    EXPECT_EQ(fl_model_version(model), 7);
    EXPECT_STREQ(fl_model_kind(model), "softmax");
    EXPECT_EQ(fl_model_input_dim(model), 4u);
    EXPECT_EQ(fl_model_num_outputs(model), 3u);
    EXPECT_EQ(fl_model_parameters(model, nullptr), nullptr);
    EXPECT_EQ(fl_model_parameters(model, &n_params), fl_model_parameters(model, &n_params));
    EXPECT_EQ(n_params, 15u);                    // softmax(4 -> 3): W 4x3, b 3
    EXPECT_EQ(fl_model_layout_size(model), 0u);  // built-in: the README's layout
    EXPECT_EQ(fl_model_layout_block(model, 0, &block_name, &block_size, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_layout_block(model, 0, nullptr, &block_size, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_layout_block(model, 0, &block_name, nullptr, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_predict(model, nullptr, 4, out, 3, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_predict(model, x, 4, nullptr, 3, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_predict(model, x, 3, out, 3, &err), FL_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err).find("input has 3 features"), std::string::npos) << err;
    EXPECT_EQ(fl_model_predict(model, x, 4, out, 2, &err), FL_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err).find("out_n is 2"), std::string::npos) << err;
    EXPECT_EQ(fl_model_predict_class(model, x, 4, nullptr, &err), FL_INVALID_ARGUMENT);
    EXPECT_EQ(fl_model_predict_class(model, x, 5, &cls, &err), FL_INVALID_ARGUMENT);
    ASSERT_EQ(fl_model_predict(model, x, 4, out, 3, &err), FL_OK);
    EXPECT_NEAR(out[0] + out[1] + out[2], 1.0f, 1e-6f);  // zero weights: uniform
    EXPECT_NEAR(out[0], 1.0f / 3, 1e-6f);
    ASSERT_EQ(fl_model_predict_class(model, x, 4, &cls, &err), FL_OK);
    EXPECT_EQ(cls, 0);
    fl_model_destroy(model);
  }
  fl_free(err);
  err = nullptr;
  EXPECT_STREQ(fl_code_name(FL_CANCELLED), "cancelled");
  EXPECT_STREQ(fl_code_name(-3), "unknown");
  EXPECT_STREQ(fl_code_name(99), "unknown");
  EXPECT_NE(std::string(fl_version()).find('.'), std::string::npos);
  fl_free(nullptr);
  fl_options_destroy(nullptr);
  fl_options_destroy(o);
  EXPECT_EQ(calls.load(), 0);
}

TEST(CApi, ThreeCTrainersCompleteARealRound) {
  ScratchDir dir;
  auto service = coordinator::CoordinatorService::create(service_config(1));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const auto tokens = issue_tokens(**service, 3);
  const std::string url = "http://127.0.0.1:" + std::to_string((*service)->port());
  std::atomic<int> calls{0};
  std::vector<fl_client*> clients;
  for (int i = 0; i < 3; ++i) {
    fl_options* o = fl_options_create();
    ASSERT_EQ(fl_options_set_coordinator(o, url.c_str()), FL_OK);
    const std::string key = dir.file("c-" + std::to_string(i) + ".key");
    ASSERT_EQ(fl_options_set_identity_file(o, key.c_str()), FL_OK);
    ASSERT_EQ(fl_options_set_population(o, "e2e"), FL_OK);
    ASSERT_EQ(fl_options_set_device_token(o, tokens[i].c_str()), FL_OK);
    fl_trainer t = {sizeof(fl_trainer), &calls, c_train, nullptr, nullptr};
    char* err = nullptr;
    fl_client* c = fl_client_create(o, &t, &err);
    fl_options_destroy(o);
    ASSERT_NE(c, nullptr) << err;
    clients.push_back(c);
  }
  std::vector<int> codes(3, -1);
  std::vector<fl_round_report*> reports(3, nullptr);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      char* err = nullptr;
      codes[i] = fl_client_participate(clients[i], 60000, &reports[i], &err);
      if (err) ADD_FAILURE() << "client " << i << ": " << err;
      fl_free(err);
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(codes[i], FL_OK);
    EXPECT_EQ(fl_round_report_completed(reports[i]), 1)
        << fl_round_report_failure_reason(reports[i]);
    EXPECT_GT(fl_round_report_new_version(reports[i]), fl_round_report_model_version(reports[i]));
    EXPECT_EQ(fl_round_report_examples(reports[i]), 10u);
    EXPECT_GT(fl_client_id(clients[i]), 0u);
    // The round's version is published (no gate): the device predicts with it.
    fl_model* published = nullptr;
    char* err = nullptr;
    ASSERT_EQ(fl_client_fetch_published_model(clients[i], &published, &err), FL_OK) << err;
    EXPECT_EQ(fl_model_version(published), fl_round_report_new_version(reports[i]));
    const float x[4] = {2.0f, 0.0f, 0.0f, 0.5f};
    float p[3] = {0, 0, 0};
    ASSERT_EQ(fl_model_predict(published, x, 4, p, 3, &err), FL_OK) << err;
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-5f);
    fl_model_destroy(published);
    fl_round_report_destroy(reports[i]);
    fl_client_destroy(clients[i]);
  }
  EXPECT_EQ(calls.load(), 3);
  (*service)->stop();
}

// On-device inference: the device fetches what the coordinator publishes for
// its population (its version, and the same predictions as the coordinator's
// Eigen path), follows a rollback, and a population the coordinator does not
// run is a clear NotFound.
TEST(ClientEndToEnd, TheDeviceFetchesThePublishedModelThroughARoundAndARollback) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  write_synthetic_csv(csv);
  auto service = coordinator::CoordinatorService::create(service_config(1));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const uint16_t port = (*service)->port();
  const auto tokens = issue_tokens(**service, 4);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(make_client(dir, csv, i, port, nullptr, tokens[i]));

  // Before any round: the initial version, published as the baseline.
  auto initial = clients[0]->fetch_published_model();
  ASSERT_TRUE(initial.ok()) << initial.status().to_string();
  EXPECT_GT(initial->version(), 0);
  EXPECT_EQ(initial->kind(), "softmax");
  EXPECT_EQ(initial->input_dim(), 4);
  EXPECT_EQ(initial->num_outputs(), 3);

  std::vector<Result<RoundReport>> reports(3, Status(ErrorCode::kInternal, "not run"));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
      threads.emplace_back(
          [&, i] { reports[i] = clients[i]->participate(std::chrono::seconds(60)); });
    for (auto& t : threads) t.join();
  }
  ASSERT_TRUE(reports[0].ok()) << reports[0].status().to_string();
  ASSERT_TRUE(reports[0]->completed) << reports[0]->failure_reason;
  const int64_t trained = reports[0]->new_version;
  EXPECT_EQ(reports[0]->model_version, initial->version());

  auto published = clients[1]->fetch_published_model();
  ASSERT_TRUE(published.ok()) << published.status().to_string();
  EXPECT_EQ(published->version(), trained);
  EXPECT_EQ(published->metadata().at("round"), std::to_string(reports[0]->round_id));
  // The device predicts what the coordinator's Eigen path predicts.
  auto file = clients[1]->fetch_model(trained);
  ASSERT_TRUE(file.ok());
  auto server = model::load_model(*file, "trained");
  ASSERT_TRUE(server.ok());
  model::FeatureMatrix x(3, 4);
  x << 2.1f, 0.1f, -0.2f, 0.3f, 0.0f, 1.9f, 0.2f, -0.4f, 0.2f, -0.1f, 2.2f, 0.0f;
  auto proba = model::predict_proba(*server, x);
  ASSERT_TRUE(proba.ok());
  for (int i = 0; i < 3; ++i) {
    auto p = published->predict(std::vector<float>(x.row(i).data(), x.row(i).data() + 4));
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    for (int k = 0; k < 3; ++k) EXPECT_NEAR((*p)[k], (*proba)(i, k), 1e-5f);
    EXPECT_EQ(*published->predict_class(std::vector<float>(x.row(i).data(), x.row(i).data() + 4)),
              i)
        << "the trained model separates the three synthetic classes";
  }

  // An operator rolls back: devices get the earlier version, not the newest.
  auto rolled_back = (*service)->registry().rollback("e2e-softmax", std::nullopt,
                                                     coordinator::unix_millis_now(), "test");
  ASSERT_TRUE(rolled_back.ok()) << rolled_back.status().to_string();
  EXPECT_EQ(*rolled_back, initial->version());
  auto after = clients[2]->fetch_published_model();
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(after->version(), initial->version());
  EXPECT_NE(after->version(), trained);

  // A device of a population this coordinator does not run.
  ClientOptions o;
  o.coordinator = "http://127.0.0.1:" + std::to_string(port);
  o.identity_file = dir.file("stranger.key");
  o.population = "someone else's";
  o.device_token = tokens[3];
  BuiltinTrainerOptions data;
  data.dataset = "csv:" + csv;
  data.target_column = "label";
  auto stranger = Client::create(o, *make_model_trainer(data));
  ASSERT_TRUE(stranger.ok()) << stranger.status().to_string();
  auto none = (*stranger)->fetch_published_model();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound) << none.status().to_string();
  EXPECT_NE(none.status().message().find("population 'someone else's' is not run by this"),
            std::string::npos)
      << none.status().message();
  (*service)->stop();
}

// Enrolment through the SDK: the device token or certificate options reach
// the coordinator, and a device without them is told what it lacks.
TEST(ClientEndToEnd, ADeviceEnrolsWithItsTokenAndOneWithoutIsToldWhatItLacks) {
  ScratchDir dir;
  auto service = coordinator::CoordinatorService::create(service_config(1));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const auto tokens = issue_tokens(**service, 1);
  auto options = [&](const std::string& name) {
    ClientOptions o;
    o.coordinator = "http://127.0.0.1:" + std::to_string((*service)->port());
    o.identity_file = dir.file(name + ".key");
    o.population = "e2e";
    o.retry.max_attempts = 1;
    return o;
  };
  auto make = [&](const ClientOptions& o) {
    BuiltinTrainerOptions data;
    data.dataset = "csv:" + dir.file("data.csv");
    data.target_column = "label";
    auto trainer = make_model_trainer(data);
    EXPECT_TRUE(trainer.ok());
    return Client::create(o, std::move(*trainer));
  };
  write_synthetic_csv(dir.file("data.csv"));

  auto outsider = make(options("outsider"));
  ASSERT_TRUE(outsider.ok()) << outsider.status().to_string();
  Status refused = (*outsider)->enroll();
  EXPECT_EQ(refused.code(), ErrorCode::kPermissionDenied) << refused.to_string();
  EXPECT_NE(refused.message().find("device token"), std::string::npos) << refused.to_string();

  ClientOptions with_token = options("device");
  with_token.device_token = tokens[0];
  auto device = make(with_token);
  ASSERT_TRUE(device.ok()) << device.status().to_string();
  ASSERT_TRUE((*device)->enroll().ok());
  EXPECT_GT((*device)->client_id(), 0u);

  // Bad options are refused before any request, naming the option.
  ClientOptions bad = options("bad");
  bad.device_token = "not-hex";
  auto b = make(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("device_token"), std::string::npos) << b.status().to_string();
  bad = options("bad");
  bad.device_certificate_file = dir.file("missing.cert");
  b = make(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("device_certificate_file"), std::string::npos)
      << b.status().to_string();
  (*service)->stop();
}

TEST(ClientEndToEnd, ADeviceEnrolsWithAnOperatorCertificate) {
  ScratchDir dir;
  crypto::SeededRng operator_rng(3, "end-to-end-operator");
  const auto op = crypto::ed25519_keypair(operator_rng);
  coordinator::CoordinatorConfig config = service_config(1);
  config.enrollment.mode = coordinator::EnrollmentMode::kCertificate;
  config.enrollment.operator_keys = {op.public_key};
  auto service = coordinator::CoordinatorService::create(config);
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());

  // The device's identity, made the way the SDK makes it (a 32-byte seed file).
  crypto::SeededRng device_rng(4, "end-to-end-device");
  const auto identity = crypto::ed25519_keypair(device_rng);
  const std::string key_file = dir.file("device.key");
  std::ofstream(key_file, std::ios::binary)
      .write(reinterpret_cast<const char*>(identity.seed.data()), 32);
  auto certificate = coordinator::certify_device(op, identity.public_key,
                                                 coordinator::unix_millis_now() + 3'600'000, "sn");
  ASSERT_TRUE(certificate.ok());
  const std::string cert_file = dir.file("device.cert");
  std::ofstream(cert_file, std::ios::binary) << certificate->SerializeAsString();

  write_synthetic_csv(dir.file("data.csv"));
  BuiltinTrainerOptions data;
  data.dataset = "csv:" + dir.file("data.csv");
  data.target_column = "label";
  auto trainer = make_model_trainer(data);
  ASSERT_TRUE(trainer.ok());
  ClientOptions o;
  o.coordinator = "http://127.0.0.1:" + std::to_string((*service)->port());
  o.identity_file = key_file;
  o.population = "e2e";
  o.device_certificate_file = cert_file;
  o.retry.max_attempts = 1;
  auto client = Client::create(o, std::move(*trainer));
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  ASSERT_TRUE((*client)->enroll().ok());
  EXPECT_GT((*client)->client_id(), 0u);
  (*service)->stop();
}

// An app's own model: a Trainer that moves every weight halfway toward this
// device's target vector. The coordinator knows only the length and layout.
class TowardTargetTrainer final : public Trainer {
 public:
  TowardTargetTrainer(std::vector<float> target, uint64_t examples)
      : target_(std::move(target)), examples_(examples) {}
  std::atomic<size_t> seen_length{0};

  uint64_t num_examples() const override { return examples_; }

  Result<LocalTrainingResult> train(std::span<const float> global, const TrainingPlan&,
                                    const CancellationToken&) override {
    seen_length = global.size();
    if (global.size() != target_.size())
      return InvalidArgument("expected " + std::to_string(target_.size()) + " weights");
    LocalTrainingResult out;
    for (size_t j = 0; j < global.size(); ++j)
      out.weights.push_back(global[j] + kStep * (target_[j] - global[j]));
    out.examples = examples_;
    return out;
  }

  static constexpr float kStep = 0.5f;

 private:
  std::vector<float> target_;
  uint64_t examples_;
};

TEST(ClientEndToEnd, AnAppDefinedModelIsAveragedOverCustomTrainersAndNeverInterpreted) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  write_synthetic_csv(csv);
  auto service = coordinator::CoordinatorService::create(service_config(2, 0, false, kCustomModel));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const uint16_t port = (*service)->port();

  constexpr size_t kLength = 41;
  std::vector<std::vector<float>> targets(kClients, std::vector<float>(kLength));
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (auto& t : targets)
    for (float& x : t) x = uniform(rng);

  Fleet fleet;
  const auto tokens = issue_tokens(**service, kClients);
  std::vector<TowardTargetTrainer*> trainers;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    auto trainer = std::make_unique<TowardTargetTrainer>(targets[i], 10 * (i + 1));
    trainers.push_back(trainer.get());
    clients.push_back(make_client(dir, csv, i, port, &fleet, tokens[i], {}, std::move(trainer)));
  }
  std::vector<std::vector<Result<RoundReport>>> reports(kClients);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i)
      threads.emplace_back([&, i] {
        for (int r = 0; r < 2; ++r)
          reports[i].push_back(clients[i]->participate(std::chrono::seconds(60)));
      });
    for (auto& t : threads) t.join();
  }
  for (int i = 0; i < kClients; ++i) {
    for (const auto& report : reports[i]) {
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      ASSERT_TRUE(report->completed) << "client " << i << ": " << report->failure_reason;
    }
    EXPECT_EQ(trainers[i]->seen_length.load(), kLength) << "the Trainer got the flat vector";
  }

  // Each round the global moves halfway toward the examples-weighted mean of
  // the targets, so after two it is 3/4 of that mean: the average of what the
  // custom Trainers computed, which the coordinator never interpreted.
  const RoundReport& last = *reports[0][1];
  auto published = (*service)->registry().published_version("e2e-app");
  ASSERT_TRUE(published.ok()) << published.status().to_string();
  EXPECT_EQ(published->id, last.new_version);
  auto bytes = clients[0]->fetch_model(last.new_version);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  auto model = model::load_model(*bytes, "published");
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ(model->spec, model::ModelSpec::custom({{"w", 40}, {"b", 1}}));
  std::vector<double> weight(kClients);
  double total = 0;
  for (int i = 0; i < kClients; ++i) total += weight[i] = 10.0 * (i + 1);
  // Every client was in both rounds, weighted by its examples (under max_weight).
  size_t updates = 0;
  for (const auto& [round, records] : fleet.updates)
    for (const auto& r : records) {
      EXPECT_DOUBLE_EQ(r.weight, static_cast<double>(r.examples));
      ++updates;
    }
  ASSERT_EQ(updates, 2u * kClients);
  aggregation::QuantizationConfig q;
  q.clip = 1.0;
  q.bits = 20;
  q.ring = crypto::RingBits::k64;
  q.max_weight = 1000;
  // Per round, stochastic rounding of each weighted update to the step of a
  // max_weight-scaled grid (as the round engine's tests bound it); two rounds.
  const double tolerance =
      2 * (2 * aggregation::quantization_step(q) * q.max_weight / total * kClients) + 1e-6;
  for (size_t j = 0; j < kLength; ++j) {
    double mean = 0;
    for (int i = 0; i < kClients; ++i) mean += weight[i] * targets[i][j];
    mean /= total;
    EXPECT_NEAR(model->params[static_cast<Eigen::Index>(j)], 0.75 * mean, tolerance)
        << "weight " << j;
  }

  // The device gets the published weights and their layout, to run with
  // its own code (C++ and C); nothing of the SDK interprets them: predict()
  // and the built-in trainer refuse the kind, naming it.
  auto on_device = clients[1]->fetch_published_model();
  ASSERT_TRUE(on_device.ok()) << on_device.status().to_string();
  EXPECT_EQ(on_device->kind(), "custom");
  EXPECT_EQ(on_device->version(), last.new_version);
  ASSERT_EQ(on_device->parameters().size(), kLength);
  for (size_t j = 0; j < kLength; ++j)
    EXPECT_EQ(on_device->parameters()[j], model->params[static_cast<Eigen::Index>(j)]) << j;
  ASSERT_EQ(on_device->layout().size(), 2u);
  EXPECT_EQ(on_device->layout()[0].name, "w");
  EXPECT_EQ(on_device->layout()[0].size, 40u);
  EXPECT_EQ(on_device->layout()[1].name, "b");
  EXPECT_EQ(on_device->layout()[1].size, 1u);
  EXPECT_EQ(on_device->input_dim(), 0);
  EXPECT_EQ(on_device->num_outputs(), 0);
  const std::vector<float> row(40, 1.0f);
  auto predicted = on_device->predict(row);
  ASSERT_FALSE(predicted.ok());
  EXPECT_EQ(predicted.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(predicted.status().message().find("kind custom is an app-defined model"),
            std::string::npos)
      << predicted.status().message();
  EXPECT_EQ(on_device->predict_class(row).status().code(), ErrorCode::kFailedPrecondition);
  {
    fl_model* c_model = nullptr;
    char* err = nullptr;
    ASSERT_EQ(fl_model_load(bytes->data(), bytes->size(), last.new_version, &c_model, &err), FL_OK)
        << err;
    EXPECT_STREQ(fl_model_kind(c_model), "custom");
    size_t n = 0;
    const float* p = fl_model_parameters(c_model, &n);
    ASSERT_EQ(n, kLength);
    EXPECT_EQ(std::vector<float>(p, p + n),
              std::vector<float>(on_device->parameters().begin(), on_device->parameters().end()));
    ASSERT_EQ(fl_model_layout_size(c_model), 2u);
    const char* name = nullptr;
    uint64_t size = 0;
    ASSERT_EQ(fl_model_layout_block(c_model, 1, &name, &size, &err), FL_OK) << err;
    EXPECT_STREQ(name, "b");
    EXPECT_EQ(size, 1u);
    EXPECT_EQ(fl_model_layout_block(c_model, 2, &name, &size, &err), FL_INVALID_ARGUMENT);
    EXPECT_NE(std::string(err).find("block 2 of 2"), std::string::npos) << err;
    float out[1];
    EXPECT_EQ(fl_model_predict(c_model, row.data(), 0, out, 1, &err), FL_FAILED_PRECONDITION);
    fl_free(err);
    fl_model_destroy(c_model);
  }
  BuiltinTrainerOptions data;
  data.dataset = "csv:" + csv;
  data.target_column = "label";
  auto builtin = make_model_trainer(data);
  ASSERT_TRUE(builtin.ok()) << builtin.status().to_string();
  const Status refused = (*builtin)->on_global_model(*bytes, last.new_version);
  EXPECT_EQ(refused.code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("the built-in trainer (fl::make_model_trainer)"),
            std::string::npos)
      << refused.message();
  (*service)->stop();
}

// A client sends a masked input one ring element too long for the
// app-defined model (over HTTP, through the real SDK with its message
// tampered). The coordinator answers 400 naming the expected length and
// changes nothing; the SDK, unable to make a valid one, leaves the round, and
// the round completes with the other four without waiting for a deadline
// (stages wait 10 minutes here, the clients' rounds time out after 2):
// nothing of the bad upload is summed.
TEST(ClientEndToEnd, ACustomModelUploadOfTheWrongLengthGets400AndTheRoundGoesOn) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  write_synthetic_csv(csv);
  auto service = coordinator::CoordinatorService::create(
      service_config(1, 0, /*long_deadlines=*/true, kCustomModel));
  ASSERT_TRUE(service.ok()) << service.status().to_string();
  ASSERT_TRUE((*service)->start().ok());
  const auto tokens = issue_tokens(**service, kClients);
  std::vector<std::unique_ptr<Client>> clients;
  std::atomic<int> tampered{0};
  for (int i = 0; i < kClients; ++i) {
    auto trainer = std::make_unique<TowardTargetTrainer>(std::vector<float>(41, 0.5f), 10);
    clients.push_back(
        make_client(dir, csv, i, (*service)->port(), nullptr, tokens[i], {}, std::move(trainer)));
  }
  // Client 0, rebuilt with the tampering hook (same identity file and token).
  {
    ClientOptions o;
    o.coordinator = "http://127.0.0.1:" + std::to_string((*service)->port());
    o.identity_file = dir.file("hostile.key");
    o.population = "e2e";
    o.device_token = tokens[0];
    o.round_timeout = std::chrono::seconds(120);
    testing::Hooks hooks;
    hooks.rng_seed = 77;
    hooks.tamper_message = [&](std::string_view stage, std::string& message) {
      if (stage != "masked_input") return;
      proto::ClientToServer m;
      ASSERT_TRUE(m.ParseFromString(message));
      m.mutable_masked_input()->mutable_vector()->append(8, '\0');  // one more 64-bit element
      message = m.SerializeAsString();
      ++tampered;
    };
    auto hostile = testing::create_client(
        o, std::make_unique<TowardTargetTrainer>(std::vector<float>(41, 0.5f), 10),
        std::move(hooks));
    ASSERT_TRUE(hostile.ok()) << hostile.status().to_string();
    clients[0] = std::move(*hostile);
  }
  std::vector<Result<RoundReport>> reports(kClients, Internal("not run"));
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i)
      threads.emplace_back(
          [&, i] { reports[i] = clients[i]->participate(std::chrono::seconds(60)); });
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(tampered.load(), 1);
  ASSERT_TRUE(reports[0].ok()) << reports[0].status().to_string();
  EXPECT_FALSE(reports[0]->completed);
  EXPECT_NE(reports[0]->failure_reason.find("refused this client's masked_input message"),
            std::string::npos)
      << reports[0]->failure_reason;
  EXPECT_NE(reports[0]->failure_reason.find("HTTP 400"), std::string::npos)
      << reports[0]->failure_reason;
  EXPECT_NE(reports[0]->failure_reason.find("this session expects"), std::string::npos)
      << reports[0]->failure_reason;
  for (int i = 1; i < kClients; ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status().to_string();
    EXPECT_TRUE(reports[i]->completed) << "client " << i << ": " << reports[i]->failure_reason;
    EXPECT_FALSE(reports[i]->dropped);
  }
  auto rounds = (*service)->store().list_rounds(10);
  ASSERT_TRUE(rounds.ok()) << rounds.status().to_string();
  ASSERT_EQ(rounds->size(), 1u);
  EXPECT_EQ(rounds->front().state, coordinator::RoundState::kCompleted);
  EXPECT_EQ(rounds->front().counts.masked_input, static_cast<uint64_t>(kClients - 1));
  (*service)->stop();
}

}  // namespace
}  // namespace fl
