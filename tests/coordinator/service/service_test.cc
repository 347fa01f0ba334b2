// The coordinator's HTTP API against bad input: every kind gets a 4xx with a
// clear message and changes no stored or round state; and its configuration
// file errors name the file, the key and the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "client_sdk/transport/http_client.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/service/enrollment.h"
#include "crypto/ed25519.h"
#include "proto/coordinator.pb.h"
#include "protocol/request_signer.h"

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kAdmin[] = "service-test-admin-token-xyz";

std::string config_yaml(const std::string& db) {
  return std::string("listen: {address: 127.0.0.1, port: 0, io_threads: 2}\n") +
         "store: {path: " + db + "}\n" + "admin_token: " + kAdmin + "\n" +
         "limits: {max_update_bytes: 1048576, requests_per_second: 1000, burst: 1000}\n"
         "population:\n"
         "  name: pop\n"
         "  model: {name: tiny, kind: softmax, input_dim: 4, classes: 3}\n"
         "  rounds: 2\n"
         "  cohort_size: 3\n"
         "  min_cohort: 3\n"
         "  allow_small_cohorts: true\n"
         "  deadlines_ms: {selection: 300}\n"
         "  training: {epochs: 1, batch_size: 4, learning_rate: 0.1}\n"
         "  quantization: {clip: 1.0, bits: 16, ring_bits: 32}\n";
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("fl-service-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    auto c = parse_config(config_yaml((dir / "fl.db").string()), "test.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    auto s = CoordinatorService::create(*c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    service = std::move(*s);
    ASSERT_TRUE(service->start().ok());
  }
  void TearDown() override {
    if (service) service->stop();
    service.reset();
    fs::remove_all(dir);
  }

  transport::HttpClient client(std::unique_ptr<auth::RequestSigner> signer = nullptr) {
    transport::HttpClientOptions o;
    o.port = service->port();
    auto c = transport::HttpClient::create(o, std::move(signer));
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  // Enrols the identity drawn from `seed` with its own device token (the
  // same token each time, as a restarting device would) and returns a
  // client that signs as it.
  std::pair<uint64_t, transport::HttpClient> enrolled(uint64_t seed) {
    crypto::SeededRng rng(seed);
    auto key = crypto::ed25519_keypair(rng);
    if (!tokens.count(seed)) {
      crypto::SeededRng token_rng(seed, "service-test-token");
      auto issued = issue_device_tokens(service->store(), token_rng, 1, 0, std::nullopt);
      EXPECT_TRUE(issued.ok()) << issued.status().to_string();
      tokens[seed] = issued->front();
    }
    proto::EnrollRequest req;
    req.set_identity_public_key(std::string(key.public_key.begin(), key.public_key.end()));
    req.set_device_token(tokens[seed]);
    auto plain = client();
    auto r = plain.send("POST", "/v1/enroll", req.SerializeAsString(), "application/x-protobuf");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
    proto::EnrollResponse resp;
    EXPECT_TRUE(resp.ParseFromString(r->body));
    auto signer = std::make_unique<auth::RequestSigner>(
        resp.client_id(), key, resp.audience(), [] { return unix_millis_now(); },
        std::make_unique<crypto::SeededRng>(seed + 1000));
    return {resp.client_id(), client(std::move(signer))};
  }

  nlohmann::json admin_status() {
    auto c = client();
    auto r = c.send("GET", "/v1/admin/status", "", "",
                    {{"Authorization", std::string("Bearer ") + kAdmin}});
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, 200) << r->body;
    return nlohmann::json::parse(r->body);
  }

  fs::path dir;
  std::unique_ptr<CoordinatorService> service;
  std::map<uint64_t, std::string> tokens;  // seed -> its device token
};

std::string checkin_body() {
  proto::CheckinRequest req;
  req.set_population("pop");
  return req.SerializeAsString();
}

TEST_F(ServiceTest, EnrolsChecksInAndServesTheModel) {
  auto [id, c] = enrolled(1);
  auto r = c.send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  proto::CheckinResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r->body));
  // The client joins the selection window's pool and is told to come back
  // when the window closes (the draw happens then).
  EXPECT_EQ(resp.decision(), proto::CheckinResponse::RETRY_LATER);
  EXPECT_GT(resp.retry_after_ms(), 0u);
  EXPECT_EQ(admin_status()["pool"], 1);
  // Not selected (yet): no task for it.
  auto task = c.send(
      "GET", "/v1/rounds/" + std::to_string(admin_status()["round"].get<int64_t>()) + "/task");
  ASSERT_TRUE(task.ok());
  EXPECT_EQ(task->status, 403) << task->body;
  const int64_t version = admin_status()["global_version"];
  auto model = c.send("GET", "/v1/model_versions/" + std::to_string(version));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->status, 200);
  EXPECT_GT(model->body.size(), 0u);
}

TEST_F(ServiceTest, ReEnrollingAKeyReturnsTheSameId) {
  auto [a, ca] = enrolled(5);
  auto [b, cb] = enrolled(5);
  EXPECT_EQ(a, b);
}

TEST_F(ServiceTest, RejectsBadInputWithClearErrorsAndNoStateChange) {
  auto [id, c] = enrolled(2);
  const auto before = admin_status();
  auto expect = [&](const Result<transport::HttpResponse>& r, int status, const char* says) {
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_NE(r->body.find(says), std::string::npos) << r->body;
  };
  // Malformed protobuf.
  expect(c.send("POST", "/v1/checkin", "\xff\xff\xff garbage", "application/x-protobuf"), 400,
         "malformed");
  // Unsigned request to a signed endpoint.
  expect(client().send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf"), 401,
         "error");
  // Unknown round and a round id that is not a number.
  expect(c.send("GET", "/v1/rounds/999/task"), 409, "not the current round");
  expect(c.send("GET", "/v1/rounds/abc/task"), 400, "number");
  // Unknown model version.
  expect(c.send("GET", "/v1/model_versions/424242"), 404, "error");
  // A protocol message for a round that is not running.
  proto::SecAggExchange x;
  x.mutable_message()->set_protocol_version(1);
  expect(c.send("POST", "/v1/rounds/999/secagg", x.SerializeAsString(), "application/x-protobuf"),
         409, "not running");
  // Oversized body: refused before it is read.
  expect(c.send("POST", "/v1/rounds/1/secagg", std::string(2 << 20, 'x'), "application/x-protobuf"),
         413, "error");
  // Enrolment with a key of the wrong size.
  proto::EnrollRequest bad_key;
  bad_key.set_identity_public_key("short");
  expect(client().send("POST", "/v1/enroll", bad_key.SerializeAsString(), "application/x-protobuf"),
         400, "32 bytes");
  // Admin endpoints need the admin token.
  expect(c.send("GET", "/v1/admin/status"), 401, "error");
  const auto after = admin_status();
  EXPECT_EQ(after["selected"], before["selected"]);
  EXPECT_EQ(after["round"], before["round"]);
  EXPECT_EQ(after["global_version"], before["global_version"]);
}

TEST_F(ServiceTest, RejectsForgedAndReplayedRequests) {
  auto [id, c] = enrolled(3);
  // Sign as client `id` with a different key: the signature does not verify.
  crypto::SeededRng rng(77);
  auth::RequestSigner forger(
      id, crypto::ed25519_keypair(rng), service->audience(), [] { return unix_millis_now(); },
      std::make_unique<crypto::SeededRng>(78));
  auto headers = forger.sign("POST", "/v1/checkin", checkin_body());
  auto plain = client();
  auto r = plain.send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf", headers);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401) << r->body;
  // A genuine signed request replayed byte for byte: the nonce is refused.
  crypto::SeededRng krng(3);
  auth::RequestSigner genuine(
      id, crypto::ed25519_keypair(krng), service->audience(), [] { return unix_millis_now(); },
      std::make_unique<crypto::SeededRng>(79));
  auto h = genuine.sign("POST", "/v1/checkin", checkin_body());
  auto first = plain.send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf", h);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 200) << first->body;
  auto replay = plain.send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf", h);
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->status, 401);
  EXPECT_NE(replay->body.find("replay"), std::string::npos) << replay->body;
  // An unknown client id.
  auth::RequestSigner stranger(
      987654, crypto::ed25519_keypair(rng), service->audience(), [] { return unix_millis_now(); },
      std::make_unique<crypto::SeededRng>(80));
  auto u = plain.send("POST", "/v1/checkin", checkin_body(), "application/x-protobuf",
                      stranger.sign("POST", "/v1/checkin", checkin_body()));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->status, 401);
}

TEST_F(ServiceTest, ProbesAnswer) {
  auto c = client();
  auto h = c.send("GET", "/healthz");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
  auto r = c.send("GET", "/readyz");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST(CoordinatorConfig, ErrorsNameTheFileKeyAndLine) {
  auto bad = [](const std::string& yaml) {
    auto c = parse_config(yaml, "coord.yaml");
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.status().message();
  };
  const std::string base = config_yaml("/tmp/x.db");
  std::string m = bad(base + "  colour: blue\n");
  EXPECT_NE(m.find("coord.yaml:"), std::string::npos) << m;
  EXPECT_NE(m.find("population.colour"), std::string::npos) << m;
  EXPECT_NE(m.find("unknown key"), std::string::npos) << m;
  std::string typed = base;
  typed.replace(typed.find("rounds: 2"), 9, "rounds: two");
  m = bad(typed);
  EXPECT_NE(m.find("population.rounds"), std::string::npos) << m;
  EXPECT_NE(m.find(":8:"), std::string::npos) << m;  // the line of "rounds"
  std::string threshold = base + "  secure_aggregation: {threshold: 50}\n";
  m = bad(threshold);
  EXPECT_NE(m.find("threshold"), std::string::npos) << m;
  std::string overflow = base;
  overflow.replace(overflow.find("bits: 16"), 8, "bits: 31");
  m = bad(overflow);
  EXPECT_NE(m.find("overflow"), std::string::npos) << m;
  EXPECT_NE(bad("listen: [1, 2]\n").find("mapping"), std::string::npos);
  EXPECT_NE(bad("a: b: c: d\n").find("coord.yaml"), std::string::npos);
  // Found by fuzz_coordinator_config: a non-scalar key used to terminate the process.
  EXPECT_NE(bad("? [a, b]\n: c\n").find("not a plain name"), std::string::npos);
  EXPECT_NE(bad(base + "  model: {kind: mlp}\n").find("appears twice"), std::string::npos);
  EXPECT_NE(bad(base + "  secure_aggregation: {? {x: 1} : 2}\n").find("not a plain name"),
            std::string::npos);
}

TEST(CoordinatorConfig, MaskPrgIsReadAndAnUnknownOneIsRefusedNamingTheKey) {
  const std::string base = config_yaml("/tmp/x.db");
  auto chosen = parse_config(base + "  secure_aggregation: {prg: chacha20}\n", "coord.yaml");
  ASSERT_TRUE(chosen.ok()) << chosen.status().to_string();
  EXPECT_EQ(chosen->population.prg, crypto::MaskPrg::kChaCha20);
  auto unnamed = parse_config(base, "coord.yaml");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->population.prg, aggregation::secagg::kDefaultMaskPrg);
  auto unknown = parse_config(base + "  secure_aggregation: {prg: rc4}\n", "coord.yaml");
  ASSERT_FALSE(unknown.ok());
  const std::string m = unknown.status().message();
  EXPECT_NE(m.find("coord.yaml:"), std::string::npos) << m;
  EXPECT_NE(m.find("secure_aggregation.prg"), std::string::npos) << m;
  EXPECT_NE(m.find("rc4"), std::string::npos) << m;
}

// Pairwise seeds trust the coordinator further (README): off unless asked for,
// and a value that is not a boolean is refused naming the key.
TEST(CoordinatorConfig, RevealPairSeedsIsOffByDefaultAndReadWhenGiven) {
  const std::string base = config_yaml("/tmp/x.db");
  auto unnamed = parse_config(base, "coord.yaml");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_FALSE(unnamed->population.reveal_pair_seeds);
  auto chosen =
      parse_config(base + "  secure_aggregation: {reveal_pair_seeds: true}\n", "coord.yaml");
  ASSERT_TRUE(chosen.ok()) << chosen.status().to_string();
  EXPECT_TRUE(chosen->population.reveal_pair_seeds);
  auto bad =
      parse_config(base + "  secure_aggregation: {reveal_pair_seeds: maybe}\n", "coord.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("secure_aggregation.reveal_pair_seeds"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace fl::coordinator
