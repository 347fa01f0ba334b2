// XChaCha20-Poly1305: what goes in comes out, and anything altered, cut short,
// opened with another key or moved to another context is refused as DataLoss.
#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::crypto {
namespace {

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

class AeadTest : public ::testing::Test {
 protected:
  AeadTest() : rng_(21), key_(rng_.key32()), session_(bytes_of("session-42")) {
    plaintext_.resize(160);  // the size of one client's share bundle
    rng_.fill(plaintext_);
    context_ = aead_context(session_, /*round=*/2, /*sender=*/17, /*recipient=*/23);
    sealed_ = aead_seal(key_, plaintext_, context_, rng_);
  }

  void expect_data_loss(ByteSpan sealed, const Bytes& context, const Secret32& key) {
    const Result<Bytes> opened = aead_open(key, sealed, context);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), ErrorCode::kDataLoss) << opened.status().to_string();
  }
  void expect_data_loss(ByteSpan sealed) { expect_data_loss(sealed, context_, key_); }

  SeededRng rng_;
  Secret32 key_;
  Bytes session_;
  Bytes plaintext_;
  Bytes context_;
  Bytes sealed_;
};

TEST_F(AeadTest, OpensWhatWasSealed) {
  EXPECT_EQ(sealed_.size(), plaintext_.size() + kAeadOverhead);
  const Result<Bytes> opened = aead_open(key_, sealed_, context_);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, plaintext_);
}

TEST_F(AeadTest, OpensAnEmptyPlaintext) {
  const Bytes sealed = aead_seal(key_, {}, context_, rng_);
  EXPECT_EQ(sealed.size(), kAeadOverhead);
  const Result<Bytes> opened = aead_open(key_, sealed, context_);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_TRUE(opened->empty());
}

TEST_F(AeadTest, SealingTwiceUsesFreshNonces) {
  const Bytes again = aead_seal(key_, plaintext_, context_, rng_);
  EXPECT_NE(Bytes(again.begin(), again.begin() + kAeadNonceBytes),
            Bytes(sealed_.begin(), sealed_.begin() + kAeadNonceBytes));
  EXPECT_NE(again, sealed_);
}

TEST_F(AeadTest, CiphertextDoesNotContainThePlaintext) {
  const Bytes body(sealed_.begin() + kAeadNonceBytes, sealed_.end() - kAeadTagBytes);
  EXPECT_NE(body, plaintext_);
}

TEST_F(AeadTest, RejectsAFlippedBitAnywhere) {
  // Every byte: nonce, ciphertext and tag.
  for (size_t i = 0; i < sealed_.size(); ++i) {
    Bytes tampered = sealed_;
    tampered[i] ^= 0x01;
    SCOPED_TRACE("byte " + std::to_string(i));
    expect_data_loss(tampered);
  }
}

TEST_F(AeadTest, RejectsATamperedTag) {
  Bytes tampered = sealed_;
  tampered.back() ^= 0x80;
  expect_data_loss(tampered);
}

TEST_F(AeadTest, RejectsTruncatedOrExtendedCiphertext) {
  expect_data_loss(ByteSpan(sealed_).first(sealed_.size() - 1));
  expect_data_loss(ByteSpan(sealed_).first(kAeadOverhead));
  Bytes extended = sealed_;
  extended.push_back(0);
  expect_data_loss(extended);
}

TEST_F(AeadTest, RejectsInputShorterThanNonceAndTag) {
  expect_data_loss(ByteSpan(sealed_).first(kAeadOverhead - 1));
  expect_data_loss(ByteSpan(sealed_).first(kAeadNonceBytes));
  expect_data_loss(ByteSpan{});
}

TEST_F(AeadTest, RejectsTheWrongKey) {
  Secret32 other = key_;
  other.mutable_bytes()[0] ^= 1;
  expect_data_loss(sealed_, context_, other);
}

TEST_F(AeadTest, RejectsACiphertextMovedToAnotherContext) {
  const Bytes other_session = bytes_of("session-43");
  const Bytes contexts[] = {
      aead_context(other_session, 2, 17, 23),  // another session
      aead_context(session_, 3, 17, 23),       // another round
      aead_context(session_, 2, 18, 23),       // another sender
      aead_context(session_, 2, 17, 24),       // another recipient
      aead_context(session_, 2, 23, 17),       // sender and recipient swapped
      Bytes{},                                 // no context at all
  };
  for (size_t i = 0; i < std::size(contexts); ++i) {
    SCOPED_TRACE("context " + std::to_string(i));
    expect_data_loss(sealed_, contexts[i], key_);
  }
}

TEST(AeadContext, IsInjectiveOverItsFields) {
  const Bytes s1 = bytes_of("ab");
  const Bytes s2 = bytes_of("a");
  // Length-prefixed session id: no two distinct tuples encode the same bytes.
  EXPECT_NE(aead_context(s1, 0, 0, 0), aead_context(s2, 0, 0, 0));
  EXPECT_NE(aead_context(s1, 1, 0, 0), aead_context(s1, 0, 1, 0));
  EXPECT_NE(aead_context(s1, 0, 1, 0), aead_context(s1, 0, 0, 1));
  EXPECT_EQ(aead_context(s1, 5, 6, 7), aead_context(s1, 5, 6, 7));
}

}  // namespace
}  // namespace fl::crypto
