#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "coordinator/http/auth/admin_credential.h"
#include "coordinator/http/auth/nonce_cache.h"
#include "coordinator/http/auth/request_authenticator.h"
#include "coordinator/http/auth/request_signer.h"

namespace fl::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;  // unix ms, Nov 2023

// A signed request as the server would see it, with owned strings.
struct Wire {
  std::string method, target, body;
  std::map<std::string, std::string> headers;

  SignedRequest view() const {
    SignedRequest request{method, target, body, {}, {}, {}, {}};
    auto get = [&](std::string_view name) -> std::optional<std::string_view> {
      auto it = headers.find(std::string(name));
      if (it == headers.end()) return std::nullopt;
      return std::string_view(it->second);
    };
    request.client = get(kClientHeader);
    request.timestamp = get(kTimestampHeader);
    request.nonce = get(kNonceHeader);
    request.signature = get(kSignatureHeader);
    return request;
  }
};

class RequestAuthTest : public ::testing::Test {
 protected:
  RequestAuthTest()
      : key_(crypto::ed25519_keypair(rng_)),
        other_key_(crypto::ed25519_keypair(rng_)),
        authenticator_(
            [this](uint64_t id) -> std::optional<crypto::Key32> {
              if (id == 42) return key_.public_key;
              return std::nullopt;
            },
            [this] { return server_now_; }) {}

  Wire signed_request(std::string method, std::string target, std::string body,
                      const crypto::Ed25519KeyPair& key, uint64_t client_id = 42) {
    RequestSigner signer(
        client_id, key, [this] { return client_now_; },
        std::make_unique<crypto::SeededRng>(++signer_seed_));
    Wire wire{std::move(method), std::move(target), std::move(body), {}};
    for (auto& [name, value] : signer.sign(wire.method, wire.target, wire.body))
      wire.headers[name] = value;
    return wire;
  }
  Wire valid() {
    return signed_request("POST", "/v1/rounds/3/secagg?stage=1", "\x01\x02update", key_);
  }

  std::string rejection(const Wire& wire) {
    Result<uint64_t> result = authenticator_.authenticate(wire.view());
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kPermissionDenied);
    return result.status().message();
  }

  crypto::SeededRng rng_{7};
  uint64_t signer_seed_ = 100;
  int64_t server_now_ = kNow;
  int64_t client_now_ = kNow;
  crypto::Ed25519KeyPair key_;
  crypto::Ed25519KeyPair other_key_;
  RequestAuthenticator authenticator_;
};

TEST_F(RequestAuthTest, AcceptsAValidSignedRequestAndReturnsTheClientId) {
  Result<uint64_t> result = authenticator_.authenticate(valid().view());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(*result, 42u);
}

TEST_F(RequestAuthTest, SignerProducesTheDocumentedHeaderShapes) {
  const Wire wire = valid();
  EXPECT_EQ(wire.headers.at("X-FL-Client"), "42");
  EXPECT_EQ(wire.headers.at("X-FL-Timestamp"), std::to_string(kNow));
  EXPECT_EQ(wire.headers.at("X-FL-Nonce").size(), 32u);
  EXPECT_EQ(wire.headers.at("X-FL-Signature").size(), 128u);
}

TEST_F(RequestAuthTest, CanonicalMessageIsExactlyTheDocumentedBytes) {
  // BLAKE2b-256("") = 0e5751c0...; fixed so a change of scheme breaks this test.
  EXPECT_EQ(canonical_request_message("GET", "/v1/model?v=2", "123", "ab", ""),
            "fl-request-v1\nGET\n/v1/model?v=2\n123\nab\n"
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST_F(RequestAuthTest, RejectsATamperedBody) {
  Wire wire = valid();
  wire.body += "!";
  EXPECT_NE(rejection(wire).find("bad signature"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsATamperedPathOrQueryOrMethod) {
  Wire path = valid();
  path.target = "/v1/rounds/4/secagg?stage=1";
  EXPECT_NE(rejection(path).find("bad signature"), std::string::npos);
  Wire query = valid();
  query.target = "/v1/rounds/3/secagg?stage=2";
  EXPECT_NE(rejection(query).find("bad signature"), std::string::npos);
  Wire method = valid();
  method.method = "PUT";
  EXPECT_NE(rejection(method).find("bad signature"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsASignatureFromTheWrongKey) {
  const Wire wire = signed_request("POST", "/v1/x", "body", other_key_);
  EXPECT_NE(rejection(wire).find("bad signature"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsAnUnknownClient) {
  const Wire wire = signed_request("POST", "/v1/x", "body", key_, /*client_id=*/43);
  EXPECT_NE(rejection(wire).find("unknown client"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsTimestampsOutsideTheWindowEitherWay) {
  client_now_ = kNow - 5 * 60 * 1000 - 1;
  EXPECT_NE(rejection(valid()).find("stale request"), std::string::npos);
  client_now_ = kNow + 5 * 60 * 1000 + 1;
  EXPECT_NE(rejection(valid()).find("stale request"), std::string::npos);
  client_now_ = kNow - 5 * 60 * 1000;  // the window's edge is inside
  EXPECT_TRUE(authenticator_.authenticate(valid().view()).ok());
}

TEST_F(RequestAuthTest, RejectsAReplayedNonceButAcceptsAFreshlySignedRetry) {
  const Wire wire = valid();
  ASSERT_TRUE(authenticator_.authenticate(wire.view()).ok());
  server_now_ += 60'000;
  EXPECT_NE(rejection(wire).find("replayed nonce"), std::string::npos);
  EXPECT_TRUE(authenticator_.authenticate(valid().view()).ok());
}

TEST_F(RequestAuthTest, AReplayAfterTheWindowIsStaleNotAccepted) {
  const Wire wire = valid();
  ASSERT_TRUE(authenticator_.authenticate(wire.view()).ok());
  server_now_ += 5 * 60 * 1000 + 1;
  EXPECT_NE(rejection(wire).find("stale request"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsMissingAndMalformedHeadersWithTheReason) {
  for (const char* header : {"X-FL-Client", "X-FL-Timestamp", "X-FL-Nonce", "X-FL-Signature"}) {
    Wire wire = valid();
    wire.headers.erase(header);
    EXPECT_EQ(rejection(wire), std::string("missing header ") + header);
  }
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"X-FL-Client", "-1"},
      {"X-FL-Client", "042"},
      {"X-FL-Client", "4x"},
      {"X-FL-Client", "99999999999999999999999"},
      {"X-FL-Timestamp", "1.5e12"},
      {"X-FL-Timestamp", ""},
      {"X-FL-Nonce", "abc"},
      {"X-FL-Nonce", std::string(32, 'G')},
      {"X-FL-Nonce", std::string(32, 'A')},  // upper case is not canonical
      {"X-FL-Signature", std::string(127, 'a')},
      {"X-FL-Signature", std::string(128, 'z')},
  };
  for (const auto& [header, value] : malformed) {
    Wire wire = valid();
    wire.headers[header] = value;
    EXPECT_EQ(rejection(wire).rfind("malformed header " + header, 0), 0u) << header << "=" << value;
  }
}

TEST_F(RequestAuthTest, IsSafeToCallFromManyThreads) {
  std::vector<Wire> wires;
  for (int i = 0; i < 64; ++i) wires.push_back(valid());
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const Wire& wire : wires) accepted += authenticator_.authenticate(wire.view()).ok();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 64);  // each nonce exactly once
}

TEST(NonceCache, ForgetsNoncesOnceTheirRequestIsOutsideTheWindow) {
  NonceCache cache(/*window_ms=*/1000, /*capacity=*/100);
  EXPECT_EQ(cache.check_and_insert(1, "n1", 5000, 5000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "n1", 5000, 5500), NonceCache::Outcome::kReplayed);
  EXPECT_EQ(cache.check_and_insert(2, "n1", 5000, 5500), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "n2", 6100, 6100), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.size(), 1u);  // both n1 entries expired at 6001
}

TEST(NonceCache, StaysBoundedAndNeverLetsAnEvictedNonceBeReplayed) {
  NonceCache cache(/*window_ms=*/1'000'000, /*capacity=*/8);
  for (int i = 0; i < 100; ++i) {
    const std::string nonce = std::string("n").append(std::to_string(i));
    EXPECT_EQ(cache.check_and_insert(1, nonce, 1000 + i, 2000), NonceCache::Outcome::kFresh);
  }
  EXPECT_EQ(cache.size(), 8u);
  // n0 was evicted long ago; its replay is still refused, by the floor.
  EXPECT_EQ(cache.check_and_insert(1, "n0", 1000, 2000), NonceCache::Outcome::kBelowFloor);
  EXPECT_EQ(cache.check_and_insert(1, "n99", 1099, 2000), NonceCache::Outcome::kReplayed);
  EXPECT_EQ(cache.check_and_insert(1, "new", 1100, 2000), NonceCache::Outcome::kFresh);
}

TEST(AdminCredential, AcceptsTheConfiguredBearerTokenOnly) {
  Result<AdminCredential> admin = AdminCredential::from_token("correct-horse-battery-staple");
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(admin->check("Bearer correct-horse-battery-staple").ok());
  EXPECT_TRUE(admin->check("bearer correct-horse-battery-staple").ok());
  EXPECT_EQ(admin->check("Bearer correct-horse-battery-stapler").message(), "wrong admin token");
  EXPECT_EQ(admin->check("Bearer ").message(), "missing bearer token");
  EXPECT_EQ(admin->check("Basic Y29ycmVjdA==").message(), "missing bearer token");
  EXPECT_EQ(admin->check(std::nullopt).message(), "missing bearer token");
  EXPECT_EQ(admin->check(std::nullopt).code(), ErrorCode::kPermissionDenied);
}

TEST(AdminCredential, RefusesAGuessableToken) {
  EXPECT_EQ(AdminCredential::from_token("short").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace fl::auth
