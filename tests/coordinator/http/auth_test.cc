#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "coordinator/http/auth/admin_credential.h"
#include "coordinator/http/auth/nonce_cache.h"
#include "coordinator/http/auth/request_authenticator.h"
#include "coordinator/http/auth_hook.h"
#include "protocol/request_signer.h"

namespace fl::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;  // unix ms, Nov 2023
constexpr int64_t kMinute = 60 * 1000;
constexpr std::string_view kAudience = "coordinator-a";

// A signed request as the server would see it, with owned strings.
struct Wire {
  std::string method, target, body;
  std::map<std::string, std::string> headers;

  SignedRequest view() const {
    SignedRequest request{method, target, {}, {}, {}, {}, {}};
    auto get = [&](std::string_view name) -> std::optional<std::string_view> {
      auto it = headers.find(std::string(name));
      if (it == headers.end()) return std::nullopt;
      return std::string_view(it->second);
    };
    request.client = get(kClientHeader);
    request.timestamp = get(kTimestampHeader);
    request.nonce = get(kNonceHeader);
    request.body_hash = get(kBodyHashHeader);
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
            [this] { return server_now_; },
            AuthenticatorOptions{.audience = std::string(kAudience)}) {
    // The server started ten minutes ago: its start floor is out of the way
    // except in the tests about restarts.
    server_now_ = kNow;
  }

  Wire signed_request(std::string method, std::string target, std::string body,
                      const crypto::Ed25519KeyPair& key, uint64_t client_id = 42,
                      std::string_view audience = kAudience) {
    RequestSigner signer(
        client_id, key, std::string(audience), [this] { return client_now_; },
        std::make_unique<crypto::SeededRng>(++signer_seed_));
    Wire wire{std::move(method), std::move(target), std::move(body), {}};
    for (auto& [name, value] : signer.sign(wire.method, wire.target, wire.body))
      wire.headers[name] = value;
    return wire;
  }
  Wire valid() {
    return signed_request("POST", "/v1/rounds/3/secagg?stage=1", "\x01\x02update", key_);
  }

  std::string rejection(const Wire& wire) { return rejection_by(authenticator_, wire); }
  static std::string rejection_by(const RequestAuthenticator& authenticator, const Wire& wire) {
    Result<AuthenticatedRequest> result = authenticator.authenticate(wire.view());
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kPermissionDenied);
    return result.status().message();
  }

  crypto::SeededRng rng_{7};
  uint64_t signer_seed_ = 100;
  int64_t server_now_ = kNow - 10 * kMinute;
  int64_t client_now_ = kNow;
  crypto::Ed25519KeyPair key_;
  crypto::Ed25519KeyPair other_key_;
  RequestAuthenticator authenticator_;
};

// X-FL-Body-Hash is BLAKE3 with a 32-byte output: the official test vectors
// (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input byte i is i mod
// 251; the first 32 bytes of "hash"), at lengths around its 1 KiB chunks and
// the SIMD batch sizes.
TEST(BodyHash, MatchesTheBlake3TestVectors) {
  const std::map<size_t, std::string> vectors = {
      {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
      {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
      {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
      {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
      {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
      {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
      {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
      {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
  };
  for (const auto& [length, expected] : vectors) {
    std::string input(length, '\0');
    for (size_t i = 0; i < length; ++i) input[i] = static_cast<char>(i % 251);
    EXPECT_EQ(body_hash_hex(input), expected) << length << " bytes";
  }
}

// The server hashes a body read by read; wherever the reads fall, the digest
// is the one the client signed over the whole body.
TEST(BodyHash, PiecesGiveTheDigestOfTheWhole) {
  std::string body(300'000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + 3);
  for (size_t piece : {1u, 63u, 1024u, 1025u, 65536u, 99'999u}) {
    BodyHasher hasher;
    for (size_t at = 0; at < body.size(); at += piece)
      hasher.update(std::string_view(body).substr(at, piece));
    EXPECT_EQ(hasher.finish(), body_hash(body)) << "pieces of " << piece;
  }
}

TEST_F(RequestAuthTest, AcceptsAValidSignedRequestAndReturnsTheClientAndDeclaredBodyHash) {
  Result<AuthenticatedRequest> result = authenticator_.authenticate(valid().view());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->client_id, 42u);
  EXPECT_EQ(result->declared_body_hash, body_hash("\x01\x02update"));
}

TEST_F(RequestAuthTest, SignerProducesTheDocumentedHeaderShapes) {
  const Wire wire = valid();
  EXPECT_EQ(wire.headers.at("X-FL-Client"), "42");
  EXPECT_EQ(wire.headers.at("X-FL-Timestamp"), std::to_string(kNow));
  EXPECT_EQ(wire.headers.at("X-FL-Nonce").size(), 32u);
  EXPECT_EQ(wire.headers.at("X-FL-Body-Hash"), body_hash_hex(wire.body));
  EXPECT_EQ(wire.headers.at("X-FL-Signature").size(), 128u);
}

TEST_F(RequestAuthTest, CanonicalMessageIsExactlyTheDocumentedBytes) {
  // BLAKE3("") = af1349b9...; fixed so a change of scheme breaks this test.
  EXPECT_EQ(body_hash_hex(""), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_EQ(
      canonical_request_message("coord-1", "GET", "/v1/model?v=2", "123", "ab", body_hash_hex("")),
      "fl-request-v3\ncoord-1\nGET\n/v1/model?v=2\n123\nab\n"
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST_F(RequestAuthTest, ABodyThatDiffersFromTheSignedHashIsDetectableFromTheResult) {
  // The verifier sees headers only; the server compares the body it then
  // reads with the declared hash.
  Wire wire = valid();
  wire.body += "!";
  Result<AuthenticatedRequest> result = authenticator_.authenticate(wire.view());
  ASSERT_TRUE(result.ok());
  EXPECT_NE(result->declared_body_hash, body_hash(wire.body));
}

TEST_F(RequestAuthTest, RejectsATamperedBodyHashHeader) {
  Wire wire = valid();
  wire.headers["X-FL-Body-Hash"] = body_hash_hex("another body");
  EXPECT_NE(rejection(wire).find("bad signature"), std::string::npos);
}

TEST_F(RequestAuthTest, ARequestSignedForAnotherCoordinatorIsRefused) {
  // Replay to another coordinator that knows the same client key: the
  // audience in the signed message differs.
  const Wire for_b = signed_request("POST", "/v1/x", "body", key_, 42, "coordinator-b");
  EXPECT_NE(rejection(for_b).find("bad signature"), std::string::npos);
  RequestAuthenticator coordinator_b([this](uint64_t) { return key_.public_key; },
                                     [this] { return server_now_; },
                                     AuthenticatorOptions{.audience = "coordinator-b"});
  EXPECT_TRUE(coordinator_b.authenticate(for_b.view()).ok());
  EXPECT_NE(rejection_by(coordinator_b, valid()).find("bad signature"), std::string::npos);
}

TEST_F(RequestAuthTest, WithoutAnAudienceEveryRequestIsRefused) {
  RequestAuthenticator unconfigured([this](uint64_t) { return key_.public_key; },
                                    [this] { return server_now_; }, AuthenticatorOptions{});
  EXPECT_NE(rejection_by(unconfigured, valid()).find("no audience"), std::string::npos);
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

TEST_F(RequestAuthTest, RejectsTimestampsFiveMinutesBehindOrOneMinuteAhead) {
  client_now_ = kNow - 5 * kMinute - 1;
  EXPECT_NE(rejection(valid()).find("behind"), std::string::npos);
  client_now_ = kNow + kMinute + 1;
  EXPECT_NE(rejection(valid()).find("ahead"), std::string::npos);
  client_now_ = kNow - 5 * kMinute;  // the edges are inside
  EXPECT_TRUE(authenticator_.authenticate(valid().view()).ok());
  client_now_ = kNow + kMinute;
  EXPECT_TRUE(authenticator_.authenticate(valid().view()).ok());
}

TEST_F(RequestAuthTest, ARequestAcceptedBeforeARestartIsRefusedAfterIt) {
  const Wire wire = valid();
  ASSERT_TRUE(authenticator_.authenticate(wire.view()).ok());
  // The coordinator restarts one second later with an empty replay cache.
  server_now_ = kNow + 1000;
  const auto lookup = [this](uint64_t) -> std::optional<crypto::Key32> { return key_.public_key; };
  const AuthenticatorOptions options{.audience = std::string(kAudience)};
  RequestAuthenticator restarted(
      lookup, [this] { return server_now_; }, options);
  EXPECT_NE(rejection_by(restarted, wire).find("before the server started"), std::string::npos);
  // Without the start floor (a process that started before the request was
  // signed, with an empty cache) the same bytes would be accepted: the floor
  // is what stops the replay.
  server_now_ = kNow - 1000;
  RequestAuthenticator no_floor(
      lookup, [this] { return server_now_; }, options);
  server_now_ = kNow + 1000;
  EXPECT_TRUE(no_floor.authenticate(wire.view()).ok());
  // A request signed after the restart is accepted.
  client_now_ = kNow + 1000;
  EXPECT_TRUE(restarted.authenticate(valid().view()).ok());
}

TEST_F(RequestAuthTest, AClientFloodingFutureDatedRequestsCannotLockOutHonestClients) {
  // Small bounds so the flood reaches them: 16 nonces per client, 32 overall.
  const crypto::Ed25519KeyPair flooder_key = crypto::ed25519_keypair(rng_);
  std::map<uint64_t, crypto::Key32> keys{{666, flooder_key.public_key}};
  for (uint64_t id = 1; id <= 4; ++id) keys[id] = key_.public_key;
  RequestAuthenticator server(
      [&](uint64_t id) -> std::optional<crypto::Key32> {
        auto it = keys.find(id);
        if (it == keys.end()) return std::nullopt;
        return it->second;
      },
      [this] { return server_now_; },
      AuthenticatorOptions{
          .audience = std::string(kAudience), .nonce_capacity = 32, .nonces_per_client = 16});

  // Dated five minutes ahead (the whole old window): refused outright.
  client_now_ = kNow + 5 * kMinute;
  EXPECT_NE(
      rejection_by(server, signed_request("POST", "/v1/x", "", flooder_key, 666)).find("ahead"),
      std::string::npos);

  // Dated as far ahead as allowed, interleaved with honest traffic.
  std::vector<Wire> honest_accepted;
  int flood_accepted = 0;
  for (int i = 0; i < 200; ++i) {
    client_now_ = kNow + kMinute - 200 + i;
    flood_accepted +=
        server.authenticate(signed_request("POST", "/v1/x", "", flooder_key, 666).view()).ok();
    if (i % 8 == 0) {
      client_now_ = kNow;
      const uint64_t honest_id = 1 + (i / 8) % 4;
      Wire wire = signed_request("POST", "/v1/checkin", "c", key_, honest_id);
      Result<AuthenticatedRequest> result = server.authenticate(wire.view());
      ASSERT_TRUE(result.ok()) << result.status().to_string();
      honest_accepted.push_back(std::move(wire));
    }
    server_now_ += 10;
  }
  EXPECT_EQ(flood_accepted, 200);  // each flood request is newer than the last
  EXPECT_EQ(honest_accepted.size(), 25u);
  EXPECT_LE(server.remembered_nonces(), 32u);
  // No honest nonce was evicted to make room: each is still refused as a replay.
  for (const Wire& wire : honest_accepted) EXPECT_EQ(rejection_by(server, wire), "replayed nonce");
  // The flood raised only the flooder's own floor: its request dated now is refused.
  client_now_ = kNow;
  EXPECT_NE(rejection_by(server, signed_request("POST", "/v1/x", "", flooder_key, 666))
                .find("saturated replay cache"),
            std::string::npos);
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
  server_now_ += 5 * kMinute + 1;
  EXPECT_NE(rejection(wire).find("stale request"), std::string::npos);
}

TEST_F(RequestAuthTest, RejectsMissingAndMalformedHeadersWithTheReason) {
  for (const char* header :
       {"X-FL-Client", "X-FL-Timestamp", "X-FL-Nonce", "X-FL-Body-Hash", "X-FL-Signature"}) {
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
      {"X-FL-Body-Hash", std::string(63, 'a')},
      {"X-FL-Body-Hash", std::string(64, 'A')},
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
  NonceCache cache(/*window_ms=*/1000, /*capacity=*/100, /*per_client_capacity=*/100);
  EXPECT_EQ(cache.check_and_insert(1, "n1", 5000, 5000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "n1", 5000, 5500), NonceCache::Outcome::kReplayed);
  EXPECT_EQ(cache.check_and_insert(2, "n1", 5000, 5500), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "n2", 6100, 6100), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.size(), 1u);  // both n1 entries expired at 6001
}

TEST(NonceCache, StaysBoundedAndNeverLetsAnEvictedNonceBeReplayed) {
  NonceCache cache(/*window_ms=*/1'000'000, /*capacity=*/8, /*per_client_capacity=*/8);
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

TEST(NonceCache, AClientsPerClientBoundRaisesOnlyItsOwnFloor) {
  NonceCache cache(/*window_ms=*/1'000'000, /*capacity=*/100, /*per_client_capacity=*/4);
  EXPECT_EQ(cache.check_and_insert(2, "honest", 1000, 2000), NonceCache::Outcome::kFresh);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(cache.check_and_insert(1, std::string("f").append(std::to_string(i)), 5000 + i, 2000),
              NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.size_for(1), 4u);
  EXPECT_EQ(cache.check_and_insert(1, "late", 1500, 2000), NonceCache::Outcome::kBelowFloor);
  EXPECT_EQ(cache.check_and_insert(2, "late", 1500, 2000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(3, "late", 1001, 2000), NonceCache::Outcome::kFresh);
}

TEST(NonceCache, WhenFullItEvictsFromTheClientHoldingTheMost) {
  NonceCache cache(/*window_ms=*/1'000'000, /*capacity=*/6, /*per_client_capacity=*/100);
  EXPECT_EQ(cache.check_and_insert(2, "a", 1000, 2000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(3, "a", 1000, 2000), NonceCache::Outcome::kFresh);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(cache.check_and_insert(1, std::string("f").append(std::to_string(i)), 3000 + i, 2000),
              NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.size(), 6u);
  EXPECT_EQ(cache.size_for(1), 4u);
  // The small clients' nonces survive, so their replays are caught as replays.
  EXPECT_EQ(cache.check_and_insert(2, "a", 1000, 2000), NonceCache::Outcome::kReplayed);
  EXPECT_EQ(cache.check_and_insert(3, "a", 1000, 2000), NonceCache::Outcome::kReplayed);
  EXPECT_EQ(cache.check_and_insert(1, "f0", 3000, 2000), NonceCache::Outcome::kBelowFloor);
}

TEST(NonceCache, ForgetsAClientAndItsFloorOnceBothLeaveTheWindow) {
  NonceCache cache(/*window_ms=*/1000, /*capacity=*/100, /*per_client_capacity=*/1);
  EXPECT_EQ(cache.check_and_insert(1, "a", 5000, 5000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "b", 5100, 5100), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.check_and_insert(1, "c", 5000, 5100), NonceCache::Outcome::kBelowFloor);
  EXPECT_EQ(cache.check_and_insert(2, "x", 9000, 9000), NonceCache::Outcome::kFresh);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.size_for(1), 0u);
}

TEST(AuthHook, SetsTheClientAndDeclaredBodyHashWithoutLookingAtTheBody) {
  crypto::SeededRng rng(9);
  const crypto::Ed25519KeyPair key = crypto::ed25519_keypair(rng);
  auto authenticator = std::make_shared<const RequestAuthenticator>(
      [&](uint64_t) -> std::optional<crypto::Key32> { return key.public_key; }, [] { return kNow; },
      AuthenticatorOptions{.audience = "a"});
  RequestSigner signer(
      8, key, "a", [] { return kNow; }, std::make_unique<crypto::SeededRng>(1));
  http::Request request;
  request.method = "POST";
  request.target = "/v1/checkin";
  for (auto& [name, value] : signer.sign("POST", "/v1/checkin", "signed body"))
    request.headers.add(name, value);
  request.body = "";  // not read yet, as when the server authorises
  const http::Authorizer authorize = http::make_authorizer(authenticator, nullptr);
  ASSERT_TRUE(authorize(request, http::kClientAuthClass).ok());
  EXPECT_EQ(request.client_id, 8u);
  ASSERT_TRUE(request.declared_body_hash.has_value());
  EXPECT_EQ(*request.declared_body_hash, body_hash("signed body"));
  EXPECT_NE(*request.declared_body_hash, body_hash("another body"));
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
