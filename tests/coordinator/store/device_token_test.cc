// One-time device tokens in the store: a token enrols exactly one identity,
// in the same transaction that spends it; every refused use changes nothing;
// revocation reaches both the token and the client that spent it.
#include <gtest/gtest.h>

#include "coordinator/store/sqlite_store.h"
#include "tests/coordinator/store/store_test_support.h"

namespace fl::coordinator {
namespace {

using testing::sample_key;

// Lowercase hex, as `devices list` prints hashes (the store tests link no crypto).
std::string crypto_free_hex(const DeviceTokenHash& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

DeviceTokenHash token_hash(uint8_t seed) {
  DeviceTokenHash h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(seed * 31 + i);
  return h;
}

class DeviceTokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store = std::move(*s);
    ASSERT_TRUE(store->add_device_tokens({token_hash(1), token_hash(2)}, 10, "batch-1").ok());
  }
  size_t tokens_in(DeviceTokenState state) {
    size_t n = 0;
    auto tokens = store->list_device_tokens();  // kept alive for the loop
    EXPECT_TRUE(tokens.ok());
    for (const DeviceToken& t : *tokens) n += t.state() == state;
    return n;
  }
  std::unique_ptr<SqliteStore> store;
};

TEST_F(DeviceTokenStoreTest, ATokenEnrolsOnceAndIsMarkedSpentByThatClient) {
  auto id = store->enroll_with_token(token_hash(1), sample_key(1), 500, "dev");
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto tokens = store->list_device_tokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  const DeviceToken& spent = (*tokens)[0];
  EXPECT_EQ(spent.state(), DeviceTokenState::kSpent);
  EXPECT_EQ(spent.client_id, *id);
  EXPECT_EQ(spent.spent_at_ms, 500);
  EXPECT_EQ(spent.label, "batch-1");
  EXPECT_EQ((*tokens)[1].state(), DeviceTokenState::kUnused);
  EXPECT_EQ(store->find_client(*id)->public_key, sample_key(1));
}

TEST_F(DeviceTokenStoreTest, ASecondIdentityWithASpentTokenIsRefusedAndNotEnrolled) {
  ASSERT_TRUE(store->enroll_with_token(token_hash(1), sample_key(1), 500, std::nullopt).ok());
  auto other = store->enroll_with_token(token_hash(1), sample_key(2), 600, std::nullopt);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(other.status().message().find("already used"), std::string::npos);
  EXPECT_EQ(store->find_client_by_key(sample_key(2)).status().code(), ErrorCode::kNotFound);
}

TEST_F(DeviceTokenStoreTest, TheSameIdentityWithItsOwnSpentTokenGetsItsIdBack) {
  auto first = store->enroll_with_token(token_hash(1), sample_key(1), 500, std::nullopt);
  auto again = store->enroll_with_token(token_hash(1), sample_key(1), 900, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(store->list_device_tokens()->front().spent_at_ms, 500);  // not re-spent
}

TEST_F(DeviceTokenStoreTest, AnUnknownTokenIsRefusedAndCreatesNoClient) {
  auto id = store->enroll_with_token(token_hash(9), sample_key(1), 500, std::nullopt);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(store->find_client_by_key(sample_key(1)).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(tokens_in(DeviceTokenState::kUnused), 2u);
}

TEST_F(DeviceTokenStoreTest, AnAlreadyEnrolledKeyDoesNotSpendAnotherToken) {
  ASSERT_TRUE(store->enroll_with_token(token_hash(1), sample_key(1), 500, std::nullopt).ok());
  auto again = store->enroll_with_token(token_hash(2), sample_key(1), 600, std::nullopt);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(tokens_in(DeviceTokenState::kUnused), 1u);
}

TEST_F(DeviceTokenStoreTest, ARevokedUnusedTokenCanNoLongerEnrol) {
  const std::string prefix = crypto_free_hex(token_hash(2)).substr(0, 12);
  auto revoked = store->revoke_device_token(prefix, 700);
  ASSERT_TRUE(revoked.ok()) << revoked.status().to_string();
  EXPECT_EQ(revoked->state(), DeviceTokenState::kRevoked);
  auto id = store->enroll_with_token(token_hash(2), sample_key(1), 800, std::nullopt);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(store->find_client_by_key(sample_key(1)).status().code(), ErrorCode::kNotFound);
}

TEST_F(DeviceTokenStoreTest, RevokingASpentTokenRevokesItsClientToo) {
  auto id = store->enroll_with_token(token_hash(1), sample_key(1), 500, std::nullopt);
  ASSERT_TRUE(id.ok());
  auto revoked = store->revoke_device_token(crypto_free_hex(token_hash(1)).substr(0, 8), 700);
  ASSERT_TRUE(revoked.ok()) << revoked.status().to_string();
  EXPECT_EQ(revoked->client_id, *id);
  EXPECT_EQ(store->find_client(*id)->revoked_at_ms, 700);
  // Not even the device itself can enrol with it again.
  auto again = store->enroll_with_token(token_hash(1), sample_key(1), 800, std::nullopt);
  EXPECT_EQ(again.status().code(), ErrorCode::kPermissionDenied);
}

TEST_F(DeviceTokenStoreTest, RevokingAClientRevokesItsTokenAndKeepsTheFirstTime) {
  auto id = store->enroll_with_token(token_hash(1), sample_key(1), 500, std::nullopt);
  ASSERT_TRUE(store->revoke_client(*id, 700).ok());
  ASSERT_TRUE(store->revoke_client(*id, 900).ok());
  EXPECT_EQ(store->find_client(*id)->revoked_at_ms, 700);
  EXPECT_EQ(store->list_device_tokens()->front().state(), DeviceTokenState::kRevoked);
  EXPECT_EQ(store->revoke_client(424242, 700).code(), ErrorCode::kNotFound);
}

TEST_F(DeviceTokenStoreTest, BadRevocationPrefixesAreRefusedWithoutChangingAnything) {
  // Two hashes that share their first 31 bytes.
  DeviceTokenHash a = token_hash(5), b = token_hash(5);
  b[31] ^= 1;
  ASSERT_TRUE(store->add_device_tokens({a, b}, 10, std::nullopt).ok());
  const std::string shared = crypto_free_hex(a).substr(0, 20);
  EXPECT_EQ(store->revoke_device_token(shared, 1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->revoke_device_token("abc", 1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->revoke_device_token("%%%%%%%%", 1).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->revoke_device_token("ffffffffffff", 1).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(tokens_in(DeviceTokenState::kRevoked), 0u);
}

TEST_F(DeviceTokenStoreTest, IssuingAKnownHashAgainIsRefusedAndAddsNothing) {
  auto again = store->add_device_tokens({token_hash(3), token_hash(1)}, 20, std::nullopt);
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store->list_device_tokens()->size(), 2u);  // token 3 rolled back too
}

}  // namespace
}  // namespace fl::coordinator
