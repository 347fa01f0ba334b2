// Who may enrol (enrollment.h), played as the attacks it stops: an outsider
// enrolling identities at will to stuff a cohort, a leaked token reused by a
// second identity, a revoked device carrying on, a forged or expired device
// certificate. Each attack is shown to work against the weakened setting
// (open mode) where that makes sense, and is refused by the default, with no
// client row created.
#include "coordinator/service/enrollment.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "client_sdk/transport/http_client.h"
#include "coordinator/service/coordinator_service.h"
#include "coordinator/service/device_certificate.h"
#include "crypto/ed25519.h"
#include "proto/coordinator.pb.h"
#include "protocol/request_signer.h"

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kAdmin[] = "enrollment-test-admin-token";

std::string base_yaml(const std::string& db) {
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

crypto::Ed25519KeyPair identity(uint64_t seed) {
  crypto::SeededRng rng(seed, "enrollment-test-identity");
  return crypto::ed25519_keypair(rng);
}

std::string key_bytes(const crypto::Key32& k) { return std::string(k.begin(), k.end()); }

ClientPublicKey as_client_key(const crypto::Key32& k) {
  ClientPublicKey out;
  std::copy(k.begin(), k.end(), out.begin());
  return out;
}

class EnrollmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("fl-enrollment-test-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "fl.db").string();
  }
  void TearDown() override {
    if (service) service->stop();
    service.reset();
    fs::remove_all(dir);
  }

  void start(const std::string& enrollment_section) {
    auto c = parse_config(base_yaml(db) + enrollment_section, "test.yaml");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    auto s = CoordinatorService::create(*c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    service = std::move(*s);
    ASSERT_TRUE(service->start().ok());
  }

  transport::HttpClient http(std::unique_ptr<auth::RequestSigner> signer = nullptr) {
    transport::HttpClientOptions o;
    o.port = service->port();
    auto c = transport::HttpClient::create(o, std::move(signer));
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  // POST /v1/enroll; returns (status, client id or 0, body).
  struct Answer {
    int status = 0;
    uint64_t client_id = 0;
    std::string body;
  };
  Answer enroll(const proto::EnrollRequest& req) {
    auto r = http().send("POST", "/v1/enroll", req.SerializeAsString(), "application/x-protobuf");
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    Answer a{r->status, 0, r->body};
    proto::EnrollResponse resp;
    if (r->status == 200 && resp.ParseFromString(r->body)) a.client_id = resp.client_id();
    return a;
  }
  proto::EnrollRequest request_for(uint64_t seed, const std::string& token = "") {
    proto::EnrollRequest req;
    req.set_identity_public_key(key_bytes(identity(seed).public_key));
    req.set_device_token(token);
    return req;
  }
  bool enrolled(uint64_t seed) {
    return service->store().find_client_by_key(as_client_key(identity(seed).public_key)).ok();
  }
  std::vector<std::string> issue(size_t n) {
    crypto::SeededRng rng(n, "enrollment-test-tokens");
    auto t = issue_device_tokens(service->store(), rng, n, 1, "test");
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? *t : std::vector<std::string>{};
  }
  int signed_checkin_status(uint64_t client_id, uint64_t seed) {
    auto signer = std::make_unique<auth::RequestSigner>(
        client_id, identity(seed), service->audience(), [] { return unix_millis_now(); },
        std::make_unique<crypto::SeededRng>(seed + 500));
    proto::CheckinRequest req;
    req.set_population("pop");
    auto c = http(std::move(signer));
    auto r = c.send("POST", "/v1/checkin", req.SerializeAsString(), "application/x-protobuf");
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->status : -1;
  }
  std::string write_operator_key(const crypto::Ed25519KeyPair& op, const std::string& name) {
    const std::string path = (dir / name).string();
    std::ofstream(path) << crypto::to_hex(op.public_key) << "\n";
    return path;
  }

  fs::path dir;
  std::string db;
  std::unique_ptr<CoordinatorService> service;
};

// --- token mode (the default) -------------------------------------------------

TEST_F(EnrollmentTest, OpenModeLetsAnOutsiderStuffTheCohortTheDefaultRefusesIt) {
  // The weakened setting: anyone enrols as many identities as it likes.
  start("enrollment: {mode: open}\n");
  for (uint64_t seed = 1; seed <= 5; ++seed) EXPECT_EQ(enroll(request_for(seed)).status, 200);
  EXPECT_TRUE(enrolled(5));
  service->stop();
  service.reset();

  // The default on a fresh store: every tokenless identity gets 403.
  fs::remove_all(dir);
  fs::create_directories(dir);
  start("");
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Answer a = enroll(request_for(seed));
    EXPECT_EQ(a.status, 403) << a.body;
    EXPECT_NE(a.body.find("device token"), std::string::npos) << a.body;
    EXPECT_FALSE(enrolled(seed));
  }
}

TEST_F(EnrollmentTest, AnInventedTokenIsRefusedAndCreatesNoClient) {
  start("");
  issue(2);
  Answer a = enroll(request_for(1, std::string(64, 'a')));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_FALSE(enrolled(1));
  Answer malformed = enroll(request_for(1, "not-a-token"));
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_NE(malformed.body.find("device_token"), std::string::npos) << malformed.body;
  EXPECT_FALSE(enrolled(1));
}

TEST_F(EnrollmentTest, ATokenEnrolsOnceAndASecondIdentityWithItIsRefused) {
  start("");
  const auto tokens = issue(1);
  Answer first = enroll(request_for(1, tokens[0]));
  ASSERT_EQ(first.status, 200) << first.body;
  Answer thief = enroll(request_for(2, tokens[0]));
  EXPECT_EQ(thief.status, 403) << thief.body;
  EXPECT_FALSE(enrolled(2));
  // The device itself restarting gets its id back.
  Answer restart = enroll(request_for(1, tokens[0]));
  EXPECT_EQ(restart.status, 200) << restart.body;
  EXPECT_EQ(restart.client_id, first.client_id);
}

TEST_F(EnrollmentTest, ARevokedClientsSignedRequestsGet401) {
  start("");
  const auto tokens = issue(1);
  Answer a = enroll(request_for(1, tokens[0]));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(signed_checkin_status(a.client_id, 1), 200);
  ASSERT_TRUE(service->store().revoke_client(a.client_id, unix_millis_now()).ok());
  EXPECT_EQ(signed_checkin_status(a.client_id, 1), 401);
  // And it cannot come back by enrolling again with its token.
  EXPECT_EQ(enroll(request_for(1, tokens[0])).status, 403);
}

TEST_F(EnrollmentTest, TokensAreNotStoredInClear) {
  start("");
  const auto tokens = issue(3);
  ASSERT_EQ(enroll(request_for(1, tokens[0])).status, 200);
  auto listed = service->store().list_device_tokens();
  ASSERT_TRUE(listed.ok());
  service->stop();
  service.reset();
  std::string file;  // the database and its write-ahead log, whatever holds the rows
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(db + suffix, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    file += ss.str();
  }
  // What is stored is each token's hash (this check sees the rows at all) ...
  for (const DeviceToken& t : *listed)
    EXPECT_NE(file.find(std::string(t.hash.begin(), t.hash.end())), std::string::npos);
  // ... and never the token, as text or as bytes.
  for (const std::string& token : tokens) {
    crypto::Bytes raw;
    ASSERT_TRUE(crypto::from_hex(token, raw));
    EXPECT_EQ(file.find(token), std::string::npos);
    EXPECT_EQ(file.find(std::string(raw.begin(), raw.end())), std::string::npos);
  }
}

// --- certificate mode ---------------------------------------------------------

class CertificateEnrollmentTest : public EnrollmentTest {
 protected:
  void SetUp() override {
    EnrollmentTest::SetUp();
    crypto::SeededRng rng(1, "operator");
    trusted = crypto::ed25519_keypair(rng);
    crypto::SeededRng other(2, "operator");
    untrusted = crypto::ed25519_keypair(other);
    start("enrollment: {mode: certificate, operator_keys: [" +
          write_operator_key(trusted, "operator.pub") + "]}\n");
  }
  proto::EnrollRequest certified(uint64_t seed, const crypto::Ed25519KeyPair& op,
                                 int64_t not_after_ms, uint64_t certified_seed = 0) {
    proto::EnrollRequest req = request_for(seed);
    auto cert = certify_device(op, identity(certified_seed ? certified_seed : seed).public_key,
                               not_after_ms, "serial-" + std::to_string(seed));
    EXPECT_TRUE(cert.ok());
    *req.mutable_device_certificate() = *cert;
    return req;
  }
  const int64_t next_year = unix_millis_now() + int64_t{365} * 24 * 3600 * 1000;
  crypto::Ed25519KeyPair trusted, untrusted;
};

TEST_F(CertificateEnrollmentTest, AValidCertificateEnrols) {
  Answer a = enroll(certified(1, trusted, next_year));
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(enrolled(1));
}

TEST_F(CertificateEnrollmentTest, NoCertificateIsRefused) {
  Answer a = enroll(request_for(1));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("certificate"), std::string::npos) << a.body;
  EXPECT_FALSE(enrolled(1));
}

TEST_F(CertificateEnrollmentTest, AnExpiredCertificateIsRefused) {
  Answer a = enroll(certified(1, trusted, unix_millis_now() - 60'000));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("expired"), std::string::npos) << a.body;
  EXPECT_FALSE(enrolled(1));
}

TEST_F(CertificateEnrollmentTest, ACertificateFromAnUntrustedOperatorIsRefused) {
  Answer a = enroll(certified(1, untrusted, next_year));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("operator key"), std::string::npos) << a.body;
  EXPECT_FALSE(enrolled(1));
}

TEST_F(CertificateEnrollmentTest, AnotherKeysCertificateIsRefused) {
  // Identity 2 presents the genuine certificate of identity 1.
  Answer a = enroll(certified(2, trusted, next_year, /*certified_seed=*/1));
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("another identity key"), std::string::npos) << a.body;
  EXPECT_FALSE(enrolled(2));
}

TEST_F(CertificateEnrollmentTest, ATamperedCertificateIsRefused) {
  // Extending the expiry of a genuine certificate breaks its signature.
  proto::EnrollRequest req = certified(1, trusted, unix_millis_now() - 60'000);
  req.mutable_device_certificate()->set_not_after_ms(next_year);
  Answer a = enroll(req);
  EXPECT_EQ(a.status, 403) << a.body;
  EXPECT_NE(a.body.find("signature"), std::string::npos) << a.body;
  // Malformed: a signature of the wrong size is a 400.
  req.mutable_device_certificate()->set_signature("short");
  EXPECT_EQ(enroll(req).status, 400);
  EXPECT_FALSE(enrolled(1));
}

// --- configuration -------------------------------------------------------------

TEST(EnrollmentConfig, ErrorsNameTheKeyAndLine) {
  const std::string base = base_yaml("/tmp/x.db");
  auto error_of = [&](const std::string& extra) {
    auto c = parse_config(base + extra, "coord.yaml");
    EXPECT_FALSE(c.ok()) << extra;
    return c.ok() ? std::string() : c.status().message();
  };
  std::string e = error_of("enrollment_token: \"shared-secret\"\n");
  EXPECT_NE(e.find("coord.yaml:15: enrollment_token:"), std::string::npos) << e;
  EXPECT_NE(e.find("enrollment: {mode: token}"), std::string::npos) << e;
  e = error_of("enrollment: {mode: anyone}\n");
  EXPECT_NE(e.find("coord.yaml:15: enrollment.mode: must be one of token, certificate, open"),
            std::string::npos)
      << e;
  e = error_of("enrollment: {mode: certificate}\n");
  EXPECT_NE(e.find("enrollment.operator_keys: certificate mode needs at least one"),
            std::string::npos)
      << e;
  e = error_of("enrollment: {mode: certificate, operator_keys: [/nonexistent/op.pub]}\n");
  EXPECT_NE(e.find("enrollment.operator_keys: cannot read /nonexistent/op.pub"), std::string::npos)
      << e;
  e = error_of("enrollment: {mode: token, operator_keys: [/x]}\n");
  EXPECT_NE(e.find("only certificate mode"), std::string::npos) << e;
  e = error_of("enrollment: {mode: token, tokens: 3}\n");
  EXPECT_NE(e.find("enrollment.tokens: unknown key"), std::string::npos) << e;

  auto token_default = parse_config(base, "coord.yaml");
  ASSERT_TRUE(token_default.ok()) << token_default.status().to_string();
  EXPECT_EQ(token_default->enrollment.mode, EnrollmentMode::kToken);
}

TEST(EnrollmentConfig, AnOperatorKeyFileMustHoldAPublicKey) {
  const fs::path file = fs::temp_directory_path() / ("fl-bad-op-" + std::to_string(getpid()));
  std::ofstream(file) << "this is not hex\n";
  auto c =
      parse_config(base_yaml("/tmp/x.db") + "enrollment: {mode: certificate, operator_keys: [" +
                       file.string() + "]}\n",
                   "coord.yaml");
  fs::remove(file);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("64 hex digits"), std::string::npos) << c.status().message();
}

}  // namespace
}  // namespace fl::coordinator
