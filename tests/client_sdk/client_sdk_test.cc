// The client SDK without a coordinator: identity files, option checks, the
// built-in trainer's data shards, and failing cleanly when nobody answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "client_sdk/coordinator_url.h"
#include "client_sdk/identity_file.h"
#include "client_sdk/shard.h"
#include "crypto/rng.h"
#include "fl/client.h"
#include "fl/model_trainer.h"
#include "model/model.h"
#include "model/serialization.h"

namespace fl {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "fl-client-sdk-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

class ConstantTrainer final : public Trainer {
 public:
  Result<LocalTrainingResult> train(std::span<const float> global, const TrainingPlan&,
                                    const CancellationToken&) override {
    LocalTrainingResult out;
    out.weights.assign(global.begin(), global.end());
    out.examples = 1;
    return out;
  }
};

ClientOptions options_for(const ScratchDir& dir, std::string url) {
  ClientOptions o;
  o.coordinator = std::move(url);
  o.identity_file = dir.file("identity.key");
  o.population = "test";
  return o;
}

// A port on which nothing listens: bound, then closed.
uint16_t dead_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(IdentityFile, IsCreatedOwnerOnlyAndReusedAcrossRestarts) {
  ScratchDir dir;
  const std::string path = dir.file("device.key");
  crypto::SeededRng rng(1);
  auto first = client_sdk::load_or_create_identity(path, rng);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_TRUE(first->created);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  crypto::SeededRng other_rng(2);
  auto second = client_sdk::load_or_create_identity(path, other_rng);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->key.public_key, first->key.public_key);
  EXPECT_TRUE(second->warning.empty());
}

TEST(IdentityFile, RefusesAFileThatIsNotASeedAndLeavesItAlone) {
  ScratchDir dir;
  const std::string path = dir.file("device.key");
  { std::ofstream(path) << "not a key"; }
  crypto::SeededRng rng(1);
  auto loaded = client_sdk::load_or_create_identity(path, rng);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  EXPECT_EQ(fs::file_size(path), 9u);
}

TEST(IdentityFile, WarnsWhenOthersCanReadIt) {
  ScratchDir dir;
  const std::string path = dir.file("device.key");
  crypto::SeededRng rng(1);
  ASSERT_TRUE(client_sdk::load_or_create_identity(path, rng).ok());
  ::chmod(path.c_str(), 0644);
  auto again = client_sdk::load_or_create_identity(path, rng);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->warning.find("chmod 600"), std::string::npos);
}

TEST(ClientIdentity, SurvivesARestartOfTheApp) {
  ScratchDir dir;
  auto a =
      Client::create(options_for(dir, "http://127.0.0.1:9"), std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  const std::string key = (*a)->identity_public_key_hex();
  a->reset();
  auto b =
      Client::create(options_for(dir, "http://127.0.0.1:9"), std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->identity_public_key_hex(), key);
  EXPECT_EQ(key.size(), 64u);
}

TEST(CoordinatorUrl, AcceptsSchemeHostAndPort) {
  auto plain = client_sdk::parse_coordinator_url("http://127.0.0.1:8080");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8080);
  auto tls = client_sdk::parse_coordinator_url("https://fl.example.org/");
  ASSERT_TRUE(tls.ok());
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->port, 443);
  auto v6 = client_sdk::parse_coordinator_url("http://[::1]:9000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
}

TEST(CoordinatorUrl, RecognisesLoopbackHostsOnly) {
  for (const char* host : {"127.0.0.1", "127.255.3.9", "localhost", "LocalHost", "localhost.",
                           "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(client_sdk::is_loopback_host(host)) << host;
  for (const char* host : {"10.0.0.1", "128.0.0.1", "0.0.0.0", "127.1", "localhost.example",
                           "mylocalhost", "::", "::2", "::ffff:10.0.0.1", "fl.example.org", ""})
    EXPECT_FALSE(client_sdk::is_loopback_host(host)) << host;
}

TEST(ClientOptions, PlainHttpIsRefusedBeyondLoopbackUnlessAllowed) {
  ScratchDir dir;
  for (const char* url :
       {"http://10.0.0.1:8080", "http://fl.example.org", "http://[2001:db8::1]:80"}) {
    auto refused = Client::create(options_for(dir, url), std::make_unique<ConstantTrainer>());
    ASSERT_FALSE(refused.ok()) << url;
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("allow_insecure_http"), std::string::npos)
        << refused.status().message();

    ClientOptions allowed = options_for(dir, url);
    allowed.allow_insecure_http = true;
    auto created = Client::create(allowed, std::make_unique<ConstantTrainer>());
    EXPECT_TRUE(created.ok()) << created.status().to_string();
  }
  for (const char* url :
       {"https://10.0.0.1:8080", "http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"}) {
    auto created = Client::create(options_for(dir, url), std::make_unique<ConstantTrainer>());
    EXPECT_TRUE(created.ok()) << url << ": " << created.status().to_string();
  }
}

TEST(ClientOptions, AClientCertificateNeedsItsKeyAndHttps) {
  ScratchDir dir;
  ClientOptions o = options_for(dir, "https://127.0.0.1:1");
  o.client_certificate_file = dir.file("device.crt");
  auto no_key = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("client_key_file"), std::string::npos);

  o.client_key_file = dir.file("device.key");
  auto unreadable = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_EQ(unreadable.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unreadable.status().message().find("device.crt"), std::string::npos)
      << unreadable.status().message();

  o.coordinator = "http://127.0.0.1:1";
  auto plain = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("not https"), std::string::npos);
}

TEST(ClientOptions, BadCoordinatorUrlsAreRefusedWithTheReason) {
  ScratchDir dir;
  for (const char* url : {"127.0.0.1:8080", "ftp://host:1", "http://host:0", "http://host:99999",
                          "http://host:80/v1", "http://:80", "http://host:"}) {
    auto client = Client::create(options_for(dir, url), std::make_unique<ConstantTrainer>());
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_EQ(client.status().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_NE(client.status().message().find("coordinator URL"), std::string::npos)
        << client.status().message();
  }
}

TEST(ClientOptions, MissingFieldsAreNamed) {
  ScratchDir dir;
  ClientOptions o = options_for(dir, "http://127.0.0.1:1");
  o.population.clear();
  auto no_population = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(no_population.ok());
  EXPECT_NE(no_population.status().message().find("population"), std::string::npos);

  o = options_for(dir, "http://127.0.0.1:1");
  o.identity_file.clear();
  auto no_identity = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(no_identity.ok());
  EXPECT_NE(no_identity.status().message().find("identity_file"), std::string::npos);

  auto no_trainer = Client::create(options_for(dir, "http://127.0.0.1:1"), nullptr);
  ASSERT_FALSE(no_trainer.ok());
  EXPECT_EQ(no_trainer.status().code(), ErrorCode::kInvalidArgument);

  o = options_for(dir, "https://127.0.0.1:1");
  o.ca_file = dir.file("missing.pem");
  auto bad_ca = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.status().code(), ErrorCode::kInvalidArgument);
}

// Durations that would overflow a deadline (now + d) or make the backoff
// negative are refused, naming the field; "wait forever" is a year.
TEST(ClientOptions, DurationsAreBoundedAndWaitingForeverIsAllowed) {
  ScratchDir dir;
  ClientOptions o = options_for(dir, "http://127.0.0.1:1");
  o.retry.round_failure_base_delay = std::chrono::milliseconds(-1);
  auto negative = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("round_failure"), std::string::npos);
  o = options_for(dir, "http://127.0.0.1:1");
  o.retry.round_failure_max_delay = std::chrono::milliseconds::max();
  EXPECT_FALSE(Client::create(o, std::make_unique<ConstantTrainer>()).ok());
  o = options_for(dir, "http://127.0.0.1:1");
  o.round_timeout = std::chrono::milliseconds::max();
  auto forever = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_FALSE(forever.ok());
  EXPECT_NE(forever.status().message().find("round_timeout"), std::string::npos);

  o = options_for(dir, "http://127.0.0.1:" + std::to_string(dead_port()));
  o.retry.max_attempts = 1;
  o.timeouts.connect = std::chrono::milliseconds(500);
  auto client = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  // Not an overflowed deadline in the past (DeadlineExceeded at once): the
  // dead coordinator's Unavailable.
  auto report = (*client)->participate(std::chrono::milliseconds::max());
  EXPECT_EQ(report.status().code(), ErrorCode::kUnavailable) << report.status().to_string();
  EXPECT_EQ((*client)->participate(std::chrono::milliseconds(-1)).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(Shards, AreDeterministicDisjointAndCoverTheDataset) {
  const int64_t n = 1003;
  const uint32_t count = 7;
  std::set<int64_t> seen;
  size_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    auto shard = client_sdk::shard_indices(n, i, count, 42);
    ASSERT_TRUE(shard.ok());
    auto again = client_sdk::shard_indices(n, i, count, 42);
    EXPECT_EQ(*shard, *again);
    EXPECT_GE(shard->size(), static_cast<size_t>(n / count));
    EXPECT_LE(shard->size(), static_cast<size_t>(n / count + 1));
    total += shard->size();
    seen.insert(shard->begin(), shard->end());
  }
  EXPECT_EQ(total, static_cast<size_t>(n));
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));  // disjoint and complete
  EXPECT_NE(*client_sdk::shard_indices(n, 0, count, 42),
            *client_sdk::shard_indices(n, 0, count, 43));
  EXPECT_FALSE(client_sdk::shard_indices(n, 7, 7, 42).ok());
  EXPECT_FALSE(client_sdk::shard_indices(3, 0, 7, 42).ok());
}

// Federated evaluation scores a version on examples the client never trained
// on: the default holds out a tenth of the shard, and evaluate_counts counts
// exactly those, in a confusion matrix that sums to them.
TEST(BuiltinTrainer, HoldsOutATenthOfItsShardForFederatedEvaluation) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  {
    std::ofstream out(csv);
    out << "a,b,label\n";
    for (int i = 0; i < 200; ++i) out << i % 11 << "," << (i % 7) << "," << (i % 3) << "\n";
  }
  BuiltinTrainerOptions o;
  o.dataset = "csv:" + csv;
  o.target_column = "label";
  auto trainer = make_model_trainer(o);
  ASSERT_TRUE(trainer.ok()) << trainer.status().to_string();
  EXPECT_EQ((*trainer)->num_examples(), 180u);
  // A softmax model over the 2 features and 3 classes, as the coordinator sends it.
  auto spec = model::ModelSpec::softmax_regression(2, 3);
  auto m = model::create_model(spec, 1);
  ASSERT_TRUE(m.ok());
  auto file = model::save_model(*m);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*trainer)->on_global_model(*file, 1).ok());
  std::vector<float> weights(m->params.data(), m->params.data() + m->params.size());
  auto counts = (*trainer)->evaluate_counts(weights);
  ASSERT_TRUE(counts.ok()) << counts.status().to_string();
  EXPECT_EQ(counts->examples, 20u);
  EXPECT_EQ(counts->num_classes, 3u);
  ASSERT_EQ(counts->confusion.size(), 9u);
  uint64_t sum = 0;
  for (uint64_t c : counts->confusion) sum += c;
  EXPECT_EQ(sum, 20u);
  EXPECT_GT(counts->loss_sum, 0.0);

  o.evaluation_fraction = 1.5;
  EXPECT_EQ(make_model_trainer(o).status().code(), ErrorCode::kInvalidArgument);
}

// A regressor's federated evaluation reports error sums, not a confusion
// matrix: with every target 3 and a zero model, each held-out example adds 9
// to the squared and 3 to the absolute error sum.
TEST(BuiltinTrainer, ARegressorReportsItsHeldOutErrorSums) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  {
    std::ofstream out(csv);
    out << "a,b,y\n";
    for (int i = 0; i < 200; ++i) out << i % 11 << "," << (i % 7) << ",3\n";
  }
  BuiltinTrainerOptions o;
  o.dataset = "csv:" + csv;
  o.target_column = "y";
  o.regression = true;
  auto trainer = make_model_trainer(o);
  ASSERT_TRUE(trainer.ok()) << trainer.status().to_string();
  auto m = model::create_model(model::ModelSpec::linear_regression(2), 1);
  ASSERT_TRUE(m.ok());
  m->params.setZero();
  auto file = model::save_model(*m);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*trainer)->on_global_model(*file, 1).ok());
  const std::vector<float> weights(static_cast<size_t>(m->params.size()), 0.0f);
  auto counts = (*trainer)->evaluate_counts(weights);
  ASSERT_TRUE(counts.ok()) << counts.status().to_string();
  EXPECT_EQ(counts->examples, 20u);
  EXPECT_EQ(counts->num_classes, 0u);
  EXPECT_TRUE(counts->confusion.empty());
  EXPECT_DOUBLE_EQ(counts->squared_error_sum, 9.0 * 20);
  EXPECT_DOUBLE_EQ(counts->absolute_error_sum, 3.0 * 20);
}

TEST(BuiltinTrainer, ShardsOfACsvSplitItsExamples) {
  ScratchDir dir;
  const std::string csv = dir.file("data.csv");
  {
    std::ofstream out(csv);
    out << "a,b,label\n";
    for (int i = 0; i < 100; ++i) out << i << "," << (i % 7) << "," << (i % 3) << "\n";
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < 3; ++i) {
    BuiltinTrainerOptions o;
    o.dataset = "csv:" + csv;
    o.target_column = "label";
    o.shard_index = i;
    o.shard_count = 3;
    o.evaluation_fraction = 0;  // every example trains
    auto trainer = make_model_trainer(o);
    ASSERT_TRUE(trainer.ok()) << trainer.status().to_string();
    total += (*trainer)->num_examples();
  }
  EXPECT_EQ(total, 100u);

  BuiltinTrainerOptions bad;
  bad.dataset = "parquet:" + csv;
  EXPECT_EQ(make_model_trainer(bad).status().code(), ErrorCode::kInvalidArgument);
  bad.dataset = "csv:" + dir.file("missing.csv");
  bad.target_column = "label";
  auto missing = make_model_trainer(bad);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.csv"), std::string::npos);
}

TEST(ClientTransport, ADeadCoordinatorIsUnavailableAfterTheRetries) {
  ScratchDir dir;
  ClientOptions o = options_for(dir, "http://127.0.0.1:" + std::to_string(dead_port()));
  o.retry.max_attempts = 3;
  o.retry.base_delay = std::chrono::milliseconds(1);
  o.retry.max_delay = std::chrono::milliseconds(5);
  o.timeouts.connect = std::chrono::milliseconds(500);
  std::vector<std::string> log;
  o.logger = [&](std::string_view line) { log.emplace_back(line); };
  auto client = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(client.ok()) << client.status().to_string();

  const auto start = std::chrono::steady_clock::now();
  auto report = (*client)->participate(std::chrono::seconds(5));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(report.status().message().find("3 attempts"), std::string::npos)
      << report.status().message();
  EXPECT_NE(report.status().message().find("/v1/enroll"), std::string::npos)
      << report.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ((*client)->client_id(), 0u);

  auto model = (*client)->fetch_model(1);
  EXPECT_EQ(model.status().code(), ErrorCode::kUnavailable);
}

// A coordinator that accepts connections and never answers (hung, or behind a
// black-holing network): only cancel() gets the app its thread back.
TEST(ClientCancel, StopsARequestThatWouldHangForItsTimeoutAndAppliesToOneCall) {
  ScratchDir dir;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);  // the kernel completes the handshake; nobody reads
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientOptions o = options_for(dir, "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  o.timeouts.request = std::chrono::minutes(10);
  o.retry.max_attempts = 1;
  auto client = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(client.ok()) << client.status().to_string();

  std::thread app([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*client)->cancel();
  });
  auto report = (*client)->participate(std::chrono::minutes(10));
  app.join();
  EXPECT_EQ(report.status().code(), ErrorCode::kCancelled) << report.status().to_string();

  // A cancel before the call stops that call at once, and only that one.
  (*client)->cancel();
  EXPECT_EQ((*client)->participate(std::chrono::minutes(10)).status().code(),
            ErrorCode::kCancelled);
  o.coordinator = "http://127.0.0.1:" + std::to_string(dead_port());
  o.identity_file = dir.file("other.key");
  auto other = Client::create(o, std::make_unique<ConstantTrainer>());
  ASSERT_TRUE(other.ok());
  (*other)->cancel();
  EXPECT_EQ((*other)->participate(std::chrono::seconds(5)).status().code(), ErrorCode::kCancelled);
  EXPECT_EQ((*other)->participate(std::chrono::seconds(5)).status().code(),
            ErrorCode::kUnavailable);
  ::close(fd);
}

}  // namespace
}  // namespace fl
