// Ed25519 against RFC 8032 section 7.1, and verification refusing anything
// that was not signed by the key.
#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <string>

namespace fl::crypto {
namespace {

Bytes hex_bytes(const std::string& hex) {
  Bytes bytes;
  EXPECT_TRUE(from_hex(hex, bytes)) << hex;
  return bytes;
}

template <size_t N>
std::array<uint8_t, N> hex_array(const std::string& hex) {
  const Bytes bytes = hex_bytes(hex);
  EXPECT_EQ(bytes.size(), N) << hex;
  std::array<uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

struct Rfc8032Vector {
  const char* name;
  const char* secret_key;  // the 32-byte seed
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 to TEST 3.
const Rfc8032Vector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, DerivesRfc8032Section71PublicKeysFromSeeds) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    const Ed25519KeyPair key = ed25519_keypair_from_seed(Secret32(hex_array<32>(v.secret_key)));
    EXPECT_EQ(to_hex(key.public_key), v.public_key);
  }
}

TEST(Ed25519, ProducesRfc8032Section71Signatures) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    const Ed25519KeyPair key = ed25519_keypair_from_seed(Secret32(hex_array<32>(v.secret_key)));
    EXPECT_EQ(to_hex(ed25519_sign(key, hex_bytes(v.message))), v.signature);
  }
}

TEST(Ed25519, AcceptsRfc8032Section71Signatures) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    EXPECT_TRUE(ed25519_verify(hex_array<32>(v.public_key), hex_bytes(v.message),
                               hex_array<64>(v.signature)));
  }
}

TEST(Ed25519, RejectsSignaturesOverAnotherMessageOrFromAnotherKey) {
  SeededRng rng(31);
  const Ed25519KeyPair signer = ed25519_keypair(rng);
  const Ed25519KeyPair other = ed25519_keypair(rng);
  const Bytes message = {'r', 'o', 'u', 'n', 'd', ' ', '3'};
  const Sig64 sig = ed25519_sign(signer, message);
  ASSERT_TRUE(ed25519_verify(signer.public_key, message, sig));

  Bytes altered = message;
  altered.back() ^= 1;
  EXPECT_FALSE(ed25519_verify(signer.public_key, altered, sig));
  EXPECT_FALSE(ed25519_verify(other.public_key, message, sig));
  for (size_t i = 0; i < sig.size(); i += 7) {
    Sig64 tampered = sig;
    tampered[i] ^= 0x10;
    EXPECT_FALSE(ed25519_verify(signer.public_key, message, tampered)) << "byte " << i;
  }
}

TEST(Ed25519, KeyPairsFromTheSameRngSeedAreReproducible) {
  SeededRng a(32), b(32);
  EXPECT_EQ(ed25519_keypair(a).public_key, ed25519_keypair(b).public_key);
}

}  // namespace
}  // namespace fl::crypto
