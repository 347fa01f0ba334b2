// X25519 against RFC 7748 and the two properties key agreement relies on:
// both sides derive the same point, and low-order peer keys are refused.
#include "crypto/x25519.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "crypto/x25519_ifma.h"
#include "tests/crypto/stack_probe.h"

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

// x25519_agree_batch runs the IFMA kernel (eight ladders in the lanes of
// AVX-512 registers) where the CPU has it; it must give libsodium's bytes, and
// libsodium's refusal, for every input a peer could send.
std::vector<std::optional<Secret32>> agree_batch(const std::vector<Secret32>& secrets,
                                                 const std::vector<Key32>& points) {
  std::vector<X25519Job> jobs;
  for (size_t i = 0; i < secrets.size(); ++i) jobs.push_back({&secrets[i], &points[i]});
  return x25519_agree_batch(jobs);
}

// libsodium directly, whatever path x25519_agree_batch takes.
std::optional<Secret32> sodium_agree(const Secret32& secret, const Key32& point) {
  Secret32 shared;
  if (crypto_scalarmult(shared.data(), secret.data(), point.data()) != 0) return std::nullopt;
  return shared;
}

void expect_batch_equals_libsodium(const std::vector<Secret32>& secrets,
                                   const std::vector<Key32>& points) {
  const auto got = agree_batch(secrets, points);
  ASSERT_EQ(got.size(), secrets.size());
  for (size_t i = 0; i < secrets.size(); ++i) {
    const auto want = sodium_agree(secrets[i], points[i]);
    ASSERT_EQ(got[i].has_value(), want.has_value()) << "u = " << to_hex(points[i]);
    if (want) {
      EXPECT_EQ(to_hex(got[i]->bytes()), to_hex(want->bytes())) << "u = " << to_hex(points[i]);
    }
  }
}

TEST(X25519Batch, RunsTheIfmaKernelWhereTheCpuHasIt) {
  // Not an assertion on the CPU: a record in the test log of which path the
  // tests below exercised, and proof that the switch the benchmark uses works.
  const bool was = ifma_x25519_enabled();
  std::cout << "IFMA X25519 kernel: " << (was ? "on" : "not on this CPU") << "\n";
  EXPECT_FALSE(set_ifma_x25519_enabled(false) && ifma_x25519_enabled());
  set_ifma_x25519_enabled(was);
  EXPECT_EQ(ifma_x25519_enabled(), was);
}

TEST(X25519Batch, EqualsLibsodiumOnRandomScalarsAndPoints) {
  SeededRng rng(16);
  std::vector<Secret32> secrets(4000);
  std::vector<Key32> points(4000);
  for (size_t i = 0; i < secrets.size(); ++i) {
    rng.fill(secrets[i].mutable_bytes());
    if (i % 2 == 0)
      points[i] = x25519_keypair(rng).public_key;  // honest keys
    else
      rng.fill(points[i]);  // any 32 bytes, bit 255 set half the time
  }
  expect_batch_equals_libsodium(secrets, points);
}

TEST(X25519Batch, EqualsLibsodiumOnEdgePoints) {
  // Values at and around p, 2^255 and the 51-bit limb boundaries, non-canonical
  // encodings, and every small-order point with and without bit 255.
  std::vector<Key32> edges;
  const char* hex[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "0900000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "0000000000000000000000000000000000000000000000000000000000000080",
  };
  for (const char* h : hex) edges.push_back(key_from_hex(h));
  // p - 19 .. p + 18 (to 2^255 - 1), low byte varied under a top of ff..7f.
  for (int low = 0xda; low <= 0xff; ++low) {
    Key32 u;
    u.fill(0xff);
    u[31] = 0x7f;
    u[0] = static_cast<uint8_t>(low);
    edges.push_back(u);
  }
  // 2^(51 k) - 1, 2^(51 k) and 2^(51 k) + 1 for the limb boundaries.
  for (int bit : {51, 102, 153, 204, 254}) {
    for (int delta : {-1, 0, 1}) {
      Key32 u{};
      if (delta < 0) {
        for (int b = 0; b < bit; ++b) u[b / 8] |= static_cast<uint8_t>(1u << (b % 8));
      } else {
        u[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
        if (delta > 0) u[0] |= 1;
      }
      edges.push_back(u);
    }
  }
  SeededRng rng(17);
  std::vector<Secret32> secrets;
  std::vector<Key32> points;
  Secret32 zeros, ones;
  ones.mutable_bytes().fill(0xff);
  for (const Key32& u : edges)
    for (int s = 0; s < 5; ++s) {
      Secret32 k = s == 0 ? zeros : s == 1 ? ones : Secret32();
      if (s >= 2) rng.fill(k.mutable_bytes());
      secrets.push_back(k);
      points.push_back(u);
    }
  expect_batch_equals_libsodium(secrets, points);
}

TEST(X25519Batch, AnyBatchSizeGivesTheOneByOneAnswers) {
  SeededRng rng(18);
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 23u}) {
    std::vector<Secret32> secrets(n);
    std::vector<Key32> points(n);
    for (size_t i = 0; i < n; ++i) {
      rng.fill(secrets[i].mutable_bytes());
      points[i] = x25519_keypair(rng).public_key;
    }
    SCOPED_TRACE(n);
    expect_batch_equals_libsodium(secrets, points);
  }
}

TEST(X25519Batch, MatchesRfc7748Section52AfterAThousandIterations) {
  // k = u = 9, then k, u <- X25519(k, u), k; each step through the batch.
  Secret32 k(key_from_hex("0900000000000000000000000000000000000000000000000000000000000000"));
  Key32 u = k.bytes();
  for (int i = 0; i < 1000; ++i) {
    const X25519Job job{&k, &u};
    const auto out = x25519_agree_batch(std::span<const X25519Job>(&job, 1));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].has_value());
    u = k.bytes();
    k = *out[0];
    if (i == 0) {
      EXPECT_EQ(to_hex(k.bytes()),
                "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(to_hex(k.bytes()), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// The kernel transposes the eight scalars into an array of 64-bit words, one
// lane per scalar, and spills field elements to its frame; it wipes the array
// and scrubs the stack below its caller before returning. Played: after a
// batch nothing of the scalar's words remains below the caller, and the same
// transposed layout left unwiped in a returned frame is found (the control).
#ifndef FL_STACK_PROBE_UNRELIABLE
// Eight lanes of one 64-bit word w: the layout of the kernel's input array.
[[gnu::noinline]] void leave_transposed_scalar(const uint8_t scalar[32]) {
  uint64_t kw[4][8];
  for (int w = 0; w < 4; ++w)
    for (int lane = 0; lane < 8; ++lane) std::memcpy(&kw[w][lane], scalar + 8 * w, 8);
  __asm__ volatile("" : : "r"(kw) : "memory");  // the stores happen, and are left
}

[[gnu::noinline]] void agree_eight_times(const Secret32& secret) {
  const Key32 nine =
      key_from_hex("0900000000000000000000000000000000000000000000000000000000000000");
  std::vector<X25519Job> jobs(8, X25519Job{&secret, &nine});
  const auto out = x25519_agree_batch(jobs);
  ASSERT_EQ(out.size(), 8u);
}

int scalar_word_pairs_on_stack(const uint8_t clamped[32]) {
  int hits = 0;
  for (int w = 0; w < 4; ++w) {
    uint8_t needle[16];
    std::memcpy(needle, clamped + 8 * w, 8);
    std::memcpy(needle + 8, clamped + 8 * w, 8);
    hits += fl::testing::copies_on_stack(needle, 8);
  }
  return hits;
}
#endif

TEST(X25519Batch, TheKernelLeavesNoCopyOfTheScalarOnTheStack) {
#ifdef FL_STACK_PROBE_UNRELIABLE
  GTEST_SKIP() << "a sanitizer moves stack frames: the probe cannot see what they leave";
#else
  if (!ifma_x25519_enabled()) GTEST_SKIP() << "no AVX-512 IFMA on this CPU";
  Secret32 secret;
  for (size_t i = 0; i < 32; ++i) secret.mutable_bytes()[i] = static_cast<uint8_t>(i * 29 + 7);
  uint8_t clamped[32];
  std::memcpy(clamped, secret.data(), 32);
  clamped[0] &= 248;
  clamped[31] = static_cast<uint8_t>((clamped[31] & 127) | 64);
  agree_eight_times(secret);
  EXPECT_EQ(scalar_word_pairs_on_stack(clamped), 0);
  // The control after, so that its own leftovers cannot be counted above.
  leave_transposed_scalar(clamped);
  EXPECT_GT(scalar_word_pairs_on_stack(clamped), 0) << "the probe no longer sees a returned frame";
#endif
}

}  // namespace
}  // namespace fl::crypto
