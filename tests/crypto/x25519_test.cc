// X25519 against RFC 7748 and the two properties key agreement relies on:
// both sides derive the same point, and low-order peer keys are refused.
#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::crypto {
namespace {

Key32 key_from_hex(const std::string& hex) {
  Bytes bytes;
  EXPECT_TRUE(from_hex(hex, bytes)) << hex;
  EXPECT_EQ(bytes.size(), 32u) << hex;
  Key32 key{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), key.size()), key.begin());
  return key;
}

Secret32 secret_from_hex(const std::string& hex) { return Secret32(key_from_hex(hex)); }

// RFC 7748 section 6.1.
const char kAliceSecret[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const char kAlicePublic[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const char kBobSecret[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const char kBobPublic[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const char kSharedSecret[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST(X25519, MatchesRfc7748Section61PublicKeys) {
  EXPECT_EQ(to_hex(x25519_public_key(secret_from_hex(kAliceSecret))), kAlicePublic);
  EXPECT_EQ(to_hex(x25519_public_key(secret_from_hex(kBobSecret))), kBobPublic);
}

TEST(X25519, MatchesRfc7748Section61SharedSecret) {
  const auto alice = x25519_agree(secret_from_hex(kAliceSecret), key_from_hex(kBobPublic));
  const auto bob = x25519_agree(secret_from_hex(kBobSecret), key_from_hex(kAlicePublic));
  ASSERT_TRUE(alice.has_value());
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(to_hex(alice->bytes()), kSharedSecret);
  EXPECT_EQ(to_hex(bob->bytes()), kSharedSecret);
}

TEST(X25519, MatchesRfc7748Section52SingleCallVectors) {
  struct Vector {
    const char* scalar;
    const char* u;
    const char* out;
  };
  // The second vector's u has its top bit set: X25519 must ignore it.
  const Vector vectors[] = {
      {"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
      {"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
       "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
       "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
  };
  for (const auto& v : vectors) {
    const auto out = x25519_agree(secret_from_hex(v.scalar), key_from_hex(v.u));
    ASSERT_TRUE(out.has_value()) << v.scalar;
    EXPECT_EQ(to_hex(out->bytes()), v.out);
  }
}

TEST(X25519, MatchesRfc7748Section52FirstIteration) {
  // k = u = 9; after one iteration of k <- X25519(k, u).
  const char kNine[] = "0900000000000000000000000000000000000000000000000000000000000000";
  const auto out = x25519_agree(secret_from_hex(kNine), key_from_hex(kNine));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(to_hex(out->bytes()),
            "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
}

TEST(X25519, BothPartiesDeriveTheSameSharedPoint) {
  SeededRng rng(11);
  for (int i = 0; i < 20; ++i) {
    const X25519KeyPair a = x25519_keypair(rng);
    const X25519KeyPair b = x25519_keypair(rng);
    EXPECT_EQ(a.public_key, x25519_public_key(a.secret_key));
    const auto ab = x25519_agree(a.secret_key, b.public_key);
    const auto ba = x25519_agree(b.secret_key, a.public_key);
    ASSERT_TRUE(ab.has_value());
    ASSERT_TRUE(ba.has_value());
    EXPECT_EQ(*ab, *ba);
    EXPECT_NE(ab->bytes(), Key32{});
  }
}

TEST(X25519, DifferentPeersGiveDifferentSharedPoints) {
  SeededRng rng(12);
  const X25519KeyPair a = x25519_keypair(rng);
  const X25519KeyPair b = x25519_keypair(rng);
  const X25519KeyPair c = x25519_keypair(rng);
  EXPECT_NE(*x25519_agree(a.secret_key, b.public_key), *x25519_agree(a.secret_key, c.public_key));
}

TEST(X25519, RejectsLowOrderPeerKeys) {
  // Points of order 1, 2, 4 and 8 (and 0): the shared point would be all zero
  // whatever our secret, so a malicious peer could predict the "shared" key.
  const char* low_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
  };
  SeededRng rng(13);
  const X25519KeyPair ours = x25519_keypair(rng);
  for (const char* peer : low_order)
    EXPECT_FALSE(x25519_agree(ours.secret_key, key_from_hex(peer)).has_value()) << peer;
}

// Known answers for the advertise-time key check: libsodium's small-order
// blocklist (canonical and non-canonical forms, with and without bit 255), the
// other encodings >= p, and honest keys.
TEST(X25519, KeyCheckRefusesSmallOrderAndNonCanonicalKeys) {
  const char* refused[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p (= 0)
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1 (= 1)
      "0000000000000000000000000000000000000000000000000000000000000080",  // 0 + 2^255
      "0100000000000000000000000000000000000000000000000000000000000080",  // 1 + 2^255
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",  // order 8 + 2^255
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",  // order 8 + 2^255
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // p - 1 + 2^255
      "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 3
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // 2^255 - 1
      "0900000000000000000000000000000000000000000000000000000000000080",  // 9 + 2^255
  };
  for (const char* hex : refused)
    EXPECT_FALSE(is_acceptable_x25519_public_key(key_from_hex(hex))) << hex;
}

TEST(X25519, KeyCheckAcceptsHonestKeys) {
  EXPECT_TRUE(is_acceptable_x25519_public_key(key_from_hex(kAlicePublic)));
  EXPECT_TRUE(is_acceptable_x25519_public_key(key_from_hex(kBobPublic)));
  // The base point and the largest canonical non-blocklisted value p - 2.
  EXPECT_TRUE(is_acceptable_x25519_public_key(
      key_from_hex("0900000000000000000000000000000000000000000000000000000000000000")));
  EXPECT_TRUE(is_acceptable_x25519_public_key(
      key_from_hex("ebffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")));
  SeededRng rng(14);
  for (int i = 0; i < 200; ++i)
    EXPECT_TRUE(is_acceptable_x25519_public_key(x25519_keypair(rng).public_key));
}

TEST(X25519, EveryBlocklistedKeyReallyGivesAPredictableAgreement) {
  // The control for the check above: these keys are refused because agreeing
  // with them yields nothing secret (libsodium reports the all-zero result).
  const char* small_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  SeededRng rng(15);
  const X25519KeyPair ours = x25519_keypair(rng);
  for (const char* hex : small_order)
    EXPECT_FALSE(x25519_agree(ours.secret_key, key_from_hex(hex)).has_value()) << hex;
}

}  // namespace
}  // namespace fl::crypto
