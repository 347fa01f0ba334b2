// Acceptance of federated rounds over the network (issue 4): a real
// fl-coordinator process and real fl-client processes on disjoint
// Fashion-MNIST shards, over loopback HTTP, with secure aggregation.
//
// - 20 clients, 3 rounds: after each round the new global model equals, within
//   the quantisation tolerance, the weighted FedAvg of the same clients'
//   updates computed in the clear (clients dump their clear updates for this).
// - 4 clients SIGKILLed after sharing keys: the round completes with the sum of
//   the survivors.
// - The coordinator SIGKILLed mid-round and restarted: no persisted version is
//   lost, the interrupted round is failed, and the next round completes.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "coordinator/store/sqlite_store.h"
#include "model/serialization.h"
#include "tests/integration/process.h"

namespace fl {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Process;

constexpr char kAdminToken[] = "integration-admin-token-0123456789";

bool have_dataset() {
  return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

struct RoundPlan {
  int rounds = 3;
  int cohort_size = 20;
  double over_selection = 1.0;
  int min_cohort = 20;
};

class FederatedRounds : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_dataset()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    dir = fs::temp_directory_path() /
          ("fl-integration-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "updates");
    port = free_port();
  }
  void TearDown() override {
    clients.clear();
    coordinator.reset();
    if (!HasFailure()) fs::remove_all(dir);
  }

  void write_config(const RoundPlan& s) {
    std::ofstream(dir / "admin.token") << kAdminToken << "\n";
    std::ofstream cfg(dir / "coordinator.yaml");
    cfg << "listen: {address: 127.0.0.1, port: " << port << ", io_threads: 2}\n"
        << "store: {path: " << (dir / "fl.db").string() << "}\n"
        << "admin_token_file: " << (dir / "admin.token").string() << "\n"
        << "limits: {requests_per_second: 1000, burst: 2000, ip_requests_per_second: 5000, "
           "ip_burst: 10000}\n"
        << "population:\n"
        << "  name: fmnist\n"
        << "  model: {name: fmnist-softmax, kind: softmax, input_dim: 784, classes: 10, seed: 1}\n"
        << "  rounds: " << s.rounds << "\n"
        << "  cohort_size: " << s.cohort_size << "\n"
        << "  over_selection: " << s.over_selection << "\n"
        << "  min_cohort: " << s.min_cohort << "\n"
        << "  allow_small_cohorts: " << (s.min_cohort < 10 ? "true" : "false") << "\n"
        << "  retry_after_ms: 500\n"
        << "  deadlines_ms: {selection: 2000, advertise_keys: 60000, share_keys: 60000,\n"
        << "                 masked_input: 120000, unmasking: 60000}\n"
        << "  training: {epochs: 1, batch_size: 32, learning_rate: 0.05, optimizer: sgd}\n"
        << "  quantization: {clip: 4.0, bits: 24, ring_bits: 64, max_weight: 100000}\n"
        << "  secure_aggregation: {graph: complete, expected_dropout: 0.2}\n"
        << "  server_optimizer: {kind: fedavg}\n";
  }

  void start_coordinator(const std::string& log_name = "coordinator.log") {
    coordinator = std::make_unique<Process>(
        FL_COORDINATOR_BIN,
        std::vector<std::string>{"--config", (dir / "coordinator.yaml").string()},
        (dir / log_name).string());
    ASSERT_TRUE(coordinator->wait_for("listening on", seconds(60))) << coordinator->log();
  }

  // One-time device tokens, issued as an operator does (the coordinator
  // enrols in token mode by default).
  std::vector<std::string> issue_device_tokens(int n) {
    const std::string out = (dir / ("tokens-" + std::to_string(token_batches++) + ".txt")).string();
    Process issue(FL_COORDINATOR_BIN,
                  {"devices", "issue", "--db", (dir / "fl.db").string(), "--count",
                   std::to_string(n), "--out", out},
                  out + ".log");
    EXPECT_EQ(issue.wait_exit(seconds(30)).value_or(-1), 0) << issue.log();
    std::vector<std::string> tokens;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) tokens.push_back(line);
    EXPECT_EQ(tokens.size(), static_cast<size_t>(n));
    tokens.resize(n);
    return tokens;
  }

  void start_clients(int n, const std::map<int, std::string>& stall = {}) {
    const std::vector<std::string> tokens = issue_device_tokens(n);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args = {
          "--coordinator",  "http://127.0.0.1:" + std::to_string(port),
          "--device-token", tokens[i],
          "--identity",     (dir / ("client-" + std::to_string(i) + ".key")).string(),
          "--population",   "fmnist",
          "--data",         "fashion-mnist",
          "--shard",        std::to_string(i) + "/" + std::to_string(n),
          "--seed",         std::to_string(100 + i),
          "--dump-updates", (dir / "updates").string()};
      if (stall.count(i)) {
        args.push_back("--stall-after");
        args.push_back(stall.at(i));
      }
      clients.push_back(std::make_unique<Process>(
          FL_CLIENT_BIN, args, (dir / ("client-" + std::to_string(i) + ".log")).string()));
    }
  }

  std::unique_ptr<coordinator::SqliteStore> open_store() {
    auto s = coordinator::SqliteStore::open((dir / "fl.db").string());
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::vector<float> weights(coordinator::Store& store, int64_t version) {
    auto v = store.get_version(version);
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    if (!v.ok()) return {};
    auto m = model::load_model(v->model_bytes, "version " + std::to_string(version));
    EXPECT_TRUE(m.ok());
    if (!m.ok()) return {};
    return std::vector<float>(m->params.data(), m->params.data() + m->params.size());
  }

  struct Update {
    std::vector<float> delta;
    double weight = 0;
  };
  // Clear updates the clients dumped for `round`: file round-R-client-ID.bin,
  // a little-endian float64 weight followed by float32 coordinates.
  std::map<uint64_t, Update> dumped_updates(int64_t round) {
    std::map<uint64_t, Update> out;
    const std::string prefix = "round-" + std::to_string(round) + "-client-";
    for (const auto& e : fs::directory_iterator(dir / "updates")) {
      const std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      const uint64_t id = std::stoull(name.substr(prefix.size()));
      std::ifstream in(e.path(), std::ios::binary);
      Update u;
      in.read(reinterpret_cast<char*>(&u.weight), sizeof(double));
      float x;
      while (in.read(reinterpret_cast<char*>(&x), sizeof(float))) u.delta.push_back(x);
      out[id] = std::move(u);
    }
    return out;
  }

  // The new version of a completed round minus its base, against the weighted
  // mean of the clear updates of the clients whose inputs were summed.
  void expect_fedavg(coordinator::Store& store, const coordinator::RoundRecord& r,
                     const std::map<uint64_t, Update>& updates) {
    ASSERT_TRUE(r.result_version_id.has_value());
    auto before = weights(store, r.base_version_id);
    auto after = weights(store, *r.result_version_id);
    ASSERT_EQ(before.size(), after.size());
    ASSERT_EQ(updates.size(), r.counts.masked_input) << "round " << r.id;
    double total = 0;
    std::vector<double> mean(before.size(), 0);
    for (const auto& [id, u] : updates) {
      ASSERT_EQ(u.delta.size(), before.size());
      total += u.weight;
      for (size_t j = 0; j < mean.size(); ++j) mean[j] += u.weight * u.delta[j];
    }
    // Each client's coordinate carries at most one quantisation step (clip /
    // (2^23 - 1)) of rounding, scaled by its weight share; and float32 storage.
    const double step = 4.0 / ((1 << 23) - 1);
    double worst = 0, norm = 0;
    for (size_t j = 0; j < mean.size(); ++j) {
      mean[j] /= total;
      worst = std::max(worst, std::abs((after[j] - before[j]) - mean[j]));
      norm = std::max(norm, std::abs(mean[j]));
    }
    EXPECT_LT(worst, 100000.0 * step * updates.size() / total + 1e-5)
        << "round " << r.id << ": the new model is not the FedAvg of the clients' updates";
    EXPECT_GT(norm, 1e-3) << "updates too small for the comparison to mean anything";
  }

  fs::path dir;
  uint16_t port = 0;
  int token_batches = 0;
  std::unique_ptr<Process> coordinator;
  std::vector<std::unique_ptr<Process>> clients;
};

TEST_F(FederatedRounds, TwentyClientsCompleteThreeSecureRoundsEqualToFedAvg) {
  write_config({.rounds = 3, .cohort_size = 20, .over_selection = 1.0, .min_cohort = 20});
  start_coordinator();
  start_clients(20);
  for (auto& c : clients) {
    auto code = c->wait_exit(seconds(600));
    ASSERT_TRUE(code.has_value()) << "client did not finish:\n" << c->log();
    EXPECT_EQ(*code, 0) << c->log();
  }
  coordinator->signal(SIGTERM);
  ASSERT_TRUE(coordinator->wait_exit(seconds(30)).has_value());
  auto store = open_store();
  ASSERT_TRUE(store);
  auto rounds = store->list_rounds(100);
  ASSERT_TRUE(rounds.ok());
  int completed = 0;
  for (const auto& r : *rounds) {
    if (r.state != coordinator::RoundState::kCompleted) continue;
    ++completed;
    EXPECT_EQ(r.counts.masked_input, 20u);
    expect_fedavg(*store, r, dumped_updates(r.id));
  }
  EXPECT_EQ(completed, 3);
  auto published = store->latest_version("fmnist-softmax", coordinator::VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->round_id, rounds->front().id);
}

TEST_F(FederatedRounds, RoundCompletesWithSurvivorsWhenFourClientsAreKilledAfterSharingKeys) {
  // 20 selected; the masked-input stage closes once 16 inputs arrived.
  write_config({.rounds = 1, .cohort_size = 16, .over_selection = 1.25, .min_cohort = 20});
  start_coordinator();
  std::map<int, std::string> stall;
  for (int i : {3, 7, 11, 15}) stall[i] = "share_keys";
  start_clients(20, stall);
  std::set<uint64_t> killed;
  for (int i : {3, 7, 11, 15}) {
    ASSERT_TRUE(clients[i]->wait_for("stalling after", seconds(300))) << clients[i]->log();
    // fl-client's first line: "client <id> (...)".
    auto first = clients[i]->wait_for("client ", seconds(10));
    ASSERT_TRUE(first);
    killed.insert(std::stoull(first->substr(7)));
    clients[i]->signal(SIGKILL);
    EXPECT_EQ(clients[i]->wait_exit(seconds(10)), 128 + SIGKILL);
  }
  for (int i = 0; i < 20; ++i) {
    if (stall.count(i)) continue;
    auto code = clients[i]->wait_exit(seconds(600));
    ASSERT_TRUE(code.has_value()) << clients[i]->log();
    EXPECT_EQ(*code, 0) << clients[i]->log();
  }
  coordinator->signal(SIGTERM);
  coordinator->wait_exit(seconds(30));
  auto store = open_store();
  ASSERT_TRUE(store);
  auto rounds = store->list_rounds(10);
  ASSERT_TRUE(rounds.ok());
  ASSERT_FALSE(rounds->empty());
  const auto& r = rounds->front();
  ASSERT_EQ(r.state, coordinator::RoundState::kCompleted) << r.failure_reason;
  EXPECT_EQ(r.counts.shared_keys, 20u);
  EXPECT_EQ(r.counts.masked_input, 16u);
  // The killed clients trained (in the background) but never sent their input:
  // the sum must be the survivors' alone.
  auto updates = dumped_updates(r.id);
  for (uint64_t id : killed) updates.erase(id);
  EXPECT_EQ(killed.size(), 4u);
  expect_fedavg(*store, r, updates);
}

TEST_F(FederatedRounds, CoordinatorKilledMidRoundLosesNoVersionAndCarriesOn) {
  write_config({.rounds = 2, .cohort_size = 8, .over_selection = 1.0, .min_cohort = 8});
  start_coordinator();
  start_clients(8);
  // Wait until round 1 completed and the next round is running, then kill.
  ASSERT_TRUE(coordinator->wait_for("running; completed 1,", seconds(300))) << coordinator->log();
  coordinator->signal(SIGKILL);
  ASSERT_EQ(coordinator->wait_exit(seconds(10)), 128 + SIGKILL);
  int64_t v1 = 0;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    auto published = store->latest_version("fmnist-softmax", coordinator::VersionStage::kPublished);
    ASSERT_TRUE(published.ok());
    v1 = published->id;
    ASSERT_TRUE(published->round_id.has_value());
  }
  start_coordinator("coordinator-restarted.log");
  for (auto& c : clients) {
    auto code = c->wait_exit(seconds(600));
    ASSERT_TRUE(code.has_value()) << c->log();
    EXPECT_EQ(*code, 0) << c->log();
  }
  coordinator->signal(SIGTERM);
  coordinator->wait_exit(seconds(30));
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->get_version(v1).ok()) << "a persisted version was lost";
  auto rounds = store->list_rounds(100);
  ASSERT_TRUE(rounds.ok());
  int completed = 0, failed = 0;
  for (const auto& r : *rounds) {
    completed += r.state == coordinator::RoundState::kCompleted;
    failed += r.state == coordinator::RoundState::kFailed;
  }
  EXPECT_EQ(completed, 2);
  EXPECT_GE(failed, 1);  // the interrupted round
  auto published = store->latest_version("fmnist-softmax", coordinator::VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_GT(published->id, v1);
}

}  // namespace
}  // namespace fl
