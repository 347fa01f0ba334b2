// The mask PRG: exact AES-256-CTR (NIST SP 800-38A F.5.5) and ChaCha20 (RFC
// 8439 A.1, and bit-equal to libsodium's) keystreams, masks that cancel exactly,
// and slices that agree with the whole mask wherever they start so threads can
// expand disjoint parts of one mask; for both PRGs and both rings.
#include "crypto/mask_prg.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "crypto/aes256ctr_vaes.h"
#include "crypto/rng.h"
#include "tests/crypto/stack_probe.h"

namespace fl::crypto {
namespace {

// RFC 8439 appendix A.1, test vectors #1 and #2: ChaCha20 block with an all-zero
// key and nonce, block counter 0 and 1. With a zero nonce the IETF layout (32-bit
// counter, 96-bit nonce) and libsodium's original layout (64-bit counter, 64-bit
// nonce) give the same state, so these are also crypto_stream_chacha20's output.
const char kZeroKeyBlock0[] =
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";
const char kZeroKeyBlock1[] =
    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f";

Bytes hex_bytes(const std::string& hex) {
  Bytes bytes;
  EXPECT_TRUE(from_hex(hex, bytes)) << hex;
  return bytes;
}

// Reads a keystream as little-endian words of the ring's width.
std::vector<uint64_t> le_words(const Bytes& bytes, RingBits bits) {
  const size_t width = ring_element_bytes(bits);
  std::vector<uint64_t> words(bytes.size() / width);
  for (size_t i = 0; i < words.size(); ++i)
    for (size_t b = width; b-- > 0;) words[i] = (words[i] << 8) | bytes[i * width + b];
  return words;
}

std::vector<uint64_t> expand(MaskPrg prg, const Secret32& seed, RingBits bits, size_t n,
                             size_t offset = 0) {
  std::vector<uint64_t> out(n, 0xdeadbeefdeadbeefull);
  prg_expand(prg, seed, bits, out, offset);
  return out;
}

Secret32 seed_from(uint64_t label) {
  SeededRng rng(label, "mask-prg-test");
  return Secret32(rng.key32());
}

std::vector<uint64_t> random_accumulator(size_t n, uint64_t seed) {
  SeededRng rng(seed, "accumulator");
  std::vector<uint64_t> acc(n);
  for (auto& a : acc) a = rng.next_u64();
  return acc;
}

const RingBits kBothWidths[] = {RingBits::k32, RingBits::k64};
const MaskPrg kBothPrgs[] = {MaskPrg::kAes256Ctr, MaskPrg::kChaCha20};

std::string width_name(RingBits bits) { return bits == RingBits::k32 ? "ring 2^32" : "ring 2^64"; }
std::string case_name(MaskPrg prg, RingBits bits) {
  return std::string(mask_prg_name(prg)) + ", " + width_name(bits);
}

// AES-256 of single blocks (ECB), independent of the CTR code under test.
Bytes aes256_blocks(const Secret32& key, const Bytes& blocks) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes out(blocks.size() + 16);
  int n = 0, tail = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), nullptr, key.data(), nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &n, blocks.data(), static_cast<int>(blocks.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + n, &tail), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

// The 128-bit big-endian counter blocks first..first+count-1.
Bytes counter_blocks(uint64_t first, size_t count) {
  Bytes blocks(16 * count, 0);
  for (size_t b = 0; b < count; ++b)
    for (size_t i = 0; i < 8; ++i)
      blocks[16 * b + 15 - i] = static_cast<uint8_t>((first + b) >> (8 * i));
  return blocks;
}

// NIST SP 800-38A appendix F.5.5, CTR-AES256.Encrypt: key, initial counter
// block, the four output blocks (keystream), plaintext and ciphertext.
const char kSp80038aKey[] = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const char kSp80038aCounter[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
const char kSp80038aOutputBlocks[] =
    "0bdf7df1591716335e9a8b15c860c502"
    "5a6e699d536119065433863c8f657b94"
    "1bc12c9c01610d5d0d8bd6a3378eca62"
    "2956e1c8693536b1bee99c73a31576b6";
const char kSp80038aPlaintext[] =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";
const char kSp80038aCiphertext[] =
    "601ec313775789a5b7a7f504bbf3d228"
    "f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988d"
    "dfc9c58db67aada613c2dd08457941a6";

Secret32 secret_from_hex(const std::string& hex) {
  const Bytes b = hex_bytes(hex);
  Key32 k{};
  EXPECT_EQ(b.size(), k.size());
  std::copy(b.begin(), b.end(), k.begin());
  return Secret32(k);
}

// Runs the AES-256-CTR code on OpenSSL's EVP while alive, even on a VAES CPU.
class EvpAesOnly {
 public:
  EvpAesOnly() : previous_(set_vaes_aes256ctr_enabled(false)) {}
  ~EvpAesOnly() { set_vaes_aes256ctr_enabled(previous_); }

 private:
  bool previous_;
};

TEST(Aes256Ctr, MatchesSp80038aF55OutputBlocksAndCiphertext) {
  for (bool evp_only : {false, true}) {
    SCOPED_TRACE(evp_only ? "OpenSSL EVP" : "VAES if the CPU has it");
    std::optional<EvpAesOnly> evp;
    if (evp_only) evp.emplace();
    const Secret32 key = secret_from_hex(kSp80038aKey);
    const Bytes counter = hex_bytes(kSp80038aCounter);
    Bytes keystream(64, 0xff);
    aes256ctr_keystream(key, std::span<const uint8_t, 16>(counter.data(), 16), keystream);
    EXPECT_EQ(to_hex(keystream), kSp80038aOutputBlocks);
    const Bytes plaintext = hex_bytes(kSp80038aPlaintext);
    Bytes ciphertext(plaintext.size());
    for (size_t i = 0; i < plaintext.size(); ++i) ciphertext[i] = plaintext[i] ^ keystream[i];
    EXPECT_EQ(to_hex(ciphertext), kSp80038aCiphertext);
  }
}

TEST(Aes256Ctr, VaesGivesExactlyTheEvpKeystream) {
  if (!vaes_aes256ctr_enabled()) GTEST_SKIP() << "this CPU has no VAES/AVX-512";
  SeededRng rng(40, "vaes-vs-evp");
  // Counters with the low 64 bits about to wrap (the carry into the high half),
  // lengths around the 16-block and 4-block steps, and a partial last block.
  const uint64_t lows[] = {0, 1, ~uint64_t{0} - 5, ~uint64_t{0}};
  const size_t lengths[] = {1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 4096 + 48};
  for (uint64_t low : lows)
    for (size_t bytes : lengths) {
      const Secret32 key(rng.key32());
      Bytes counter(16);
      rng.fill(std::span<uint8_t>(counter).first(8));
      for (size_t i = 0; i < 8; ++i) counter[15 - i] = static_cast<uint8_t>(low >> (8 * i));
      Bytes vaes(bytes), evp(bytes);
      const std::span<const uint8_t, 16> start(counter.data(), 16);
      aes256ctr_keystream(key, start, vaes);
      {
        EvpAesOnly only_evp;
        aes256ctr_keystream(key, start, evp);
      }
      ASSERT_EQ(vaes, evp) << "low " << low << " bytes " << bytes;
    }
}

TEST(MaskPrg, Aes256CtrMasksAreTheSameOnVaesAndOnEvp) {
  // The fused add/apply paths too: clients on either code path must cancel.
  constexpr size_t kN = 7000;
  // Eleven masks, nine of one sign: VAES sums their keystreams in registers.
  const Secret32 a = seed_from(41), b = seed_from(42);
  std::vector<Secret32> more;
  for (uint64_t i = 0; i < 9; ++i) more.push_back(seed_from(50 + i));
  std::vector<MaskTerm> terms = {{&a, false}, {&b, true}};
  for (const Secret32& s : more) terms.push_back({&s, false});
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    for (size_t offset : {0, 3, 4, 1021, 4096}) {
      std::vector<uint64_t> fast = random_accumulator(kN, 43), slow = fast;
      prg_apply(MaskPrg::kAes256Ctr, bits, terms, fast, offset);
      const std::vector<uint64_t> fast_mask = expand(MaskPrg::kAes256Ctr, a, bits, kN, offset);
      EvpAesOnly only_evp;
      prg_apply(MaskPrg::kAes256Ctr, bits, terms, slow, offset);
      EXPECT_EQ(fast, slow) << "offset " << offset;
      EXPECT_EQ(fast_mask, expand(MaskPrg::kAes256Ctr, a, bits, kN, offset)) << "offset " << offset;
    }
  }
}

// The summing kernel keeps eight masks' round keys in its stack frame (they do
// not fit in registers); fused_vaes scrubs that stack once done. Played: the
// kernel alone leaves a mask key's second half (round key 1) below the
// caller's frame, and the scrub removes it. The stack is read back through a
// fresh uninitialised frame, so this is skipped where a sanitizer moves or
// poisons frames (tests/crypto/stack_probe.h).
#ifndef FL_STACK_PROBE_UNRELIABLE
using fl::testing::copies_on_stack;

[[gnu::noinline]] void sum_eight_keystreams(const uint8_t seeds[8][32], bool scrub) {
  Aes256RoundKeys keys[8];
  const Aes256RoundKeys* ptrs[8];
  for (size_t m = 0; m < 8; ++m) {
    vaes_aes256_expand_key(seeds[m], keys[m]);
    ptrs[m] = &keys[m];
  }
  static uint8_t out[8192];
  Counter128 counter{0, 0};
  vaes_aes256ctr_sum_blocks(ptrs, 8, false, counter, out, sizeof(out) / 16);
  wipe(keys, sizeof(keys));
  if (scrub) vaes_scrub_stack();
}
#endif  // FL_STACK_PROBE_UNRELIABLE

TEST(Aes256CtrVaes, TheSummingKernelsRoundKeysAreScrubbedFromTheStack) {
#ifdef FL_STACK_PROBE_UNRELIABLE
  GTEST_SKIP() << "a sanitizer moves stack frames: the probe cannot see what they leave";
#else
  if (!vaes_aes256ctr_enabled()) GTEST_SKIP() << "no VAES on this CPU";
  uint8_t seeds[8][32];
  for (size_t m = 0; m < 8; ++m)
    for (size_t i = 0; i < 32; ++i) seeds[m][i] = static_cast<uint8_t>(m * 37 + i * 11 + 1);
  sum_eight_keystreams(seeds, /*scrub=*/false);
  EXPECT_GT(copies_on_stack(seeds[0] + 16), 0) << "the probe no longer sees the kernel's frame";
  sum_eight_keystreams(seeds, /*scrub=*/true);
  EXPECT_EQ(copies_on_stack(seeds[0] + 16), 0);
#endif
}

TEST(Aes256Ctr, CounterCarriesAcrossAll128Bits) {
  // From ...ff ff (low 64 bits all ones) the next block is 2^64: the increment
  // is over the whole block (SP 800-38A B.1 with m = 128), not a 32- or 64-bit word.
  const Secret32 key = seed_from(20);
  Bytes start(16, 0);
  std::fill(start.begin() + 8, start.end(), 0xff);
  Bytes got(32);
  aes256ctr_keystream(key, std::span<const uint8_t, 16>(start.data(), 16), got);
  Bytes blocks = start;
  Bytes next(16, 0);
  next[7] = 1;
  blocks.insert(blocks.end(), next.begin(), next.end());
  EXPECT_EQ(got, aes256_blocks(key, blocks));
}

TEST(MaskPrg, Aes256CtrElementsAreAesOfTheBigEndianBlockCounterFromZero) {
  // Element i of the 2^32 ring is bytes 4i..4i+3 of AES_seed(0), AES_seed(1), ...
  const Secret32 seed = seed_from(21);
  const Bytes stream = aes256_blocks(seed, counter_blocks(0, 64));
  EXPECT_EQ(expand(MaskPrg::kAes256Ctr, seed, RingBits::k32, 256), le_words(stream, RingBits::k32));
  EXPECT_EQ(expand(MaskPrg::kAes256Ctr, seed, RingBits::k64, 128), le_words(stream, RingBits::k64));
  // The seek: element 4b of the 2^32 ring starts block b, wherever b is.
  const uint64_t far_block = (uint64_t{1} << 32) + 5;
  EXPECT_EQ(expand(MaskPrg::kAes256Ctr, seed, RingBits::k32, 8, far_block * 4),
            le_words(aes256_blocks(seed, counter_blocks(far_block, 2)), RingBits::k32));
}

TEST(ChaCha20Keystream, MatchesRfc8439AppendixA1Vectors1And2) {
  for (MaskPrg prg : {MaskPrg::kChaCha20}) {
    Bytes out(128, 0xff);
    prg_keystream(prg, Secret32(), out);
    EXPECT_EQ(to_hex(ByteSpan(out).first(64)), kZeroKeyBlock0);
    EXPECT_EQ(to_hex(ByteSpan(out).subspan(64)), kZeroKeyBlock1);
  }
  Bytes sodium(128, 0xff);
  chacha20_keystream(Secret32(), sodium);
  EXPECT_EQ(to_hex(sodium), std::string(kZeroKeyBlock0) + kZeroKeyBlock1);
}

TEST(ChaCha20Keystream, OpenSslEvpIsBitEqualToLibsodium) {
  // The compatibility claim kChaCha20 rests on: sessions masked with the old
  // libsodium PRG and the new EVP one agree, for a long stream (all the vector
  // widths of both libraries' code paths) ...
  const Secret32 seed = seed_from(22);
  Bytes evp((1u << 20) + 100), sodium(evp.size());
  prg_keystream(MaskPrg::kChaCha20, seed, evp);
  chacha20_keystream(seed, sodium);
  EXPECT_EQ(evp, sodium);
  // ... and across the 32-bit block counter's wrap, where OpenSSL's IETF-style
  // 32-bit counter must carry into the original layout's upper counter word.
  const uint64_t first_block = (uint64_t{1} << 32) - 3;
  Bytes want(6 * 64, 0);
  const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
  crypto_stream_chacha20_xor_ic(want.data(), want.data(), want.size(), nonce, first_block,
                                seed.data());
  EXPECT_EQ(expand(MaskPrg::kChaCha20, seed, RingBits::k32, 6 * 16, first_block * 16),
            le_words(want, RingBits::k32));
  EXPECT_EQ(expand(MaskPrg::kChaCha20, seed, RingBits::k64, 6 * 8, first_block * 8),
            le_words(want, RingBits::k64));
}

TEST(MaskPrg, Ring32IsTheRfc8439KeystreamAsLittleEndianWords) {
  const std::vector<uint64_t> mask = expand(MaskPrg::kChaCha20, Secret32(), RingBits::k32, 16);
  EXPECT_EQ(mask[0], 0xade0b876u);
  EXPECT_EQ(mask[1], 0x903df1a0u);
  EXPECT_EQ(mask, le_words(hex_bytes(kZeroKeyBlock0), RingBits::k32));
}

TEST(MaskPrg, Ring64IsTheRfc8439KeystreamAsLittleEndianWords) {
  const std::vector<uint64_t> mask = expand(MaskPrg::kChaCha20, Secret32(), RingBits::k64, 8);
  EXPECT_EQ(mask[0], 0x903df1a0ade0b876ull);
  EXPECT_EQ(mask, le_words(hex_bytes(kZeroKeyBlock0), RingBits::k64));
}

TEST(MaskPrg, OffsetCountsElementsIntoTheKeystream) {
  // 64-byte block 1 starts at element 16 (ring 2^32) or 8 (ring 2^64).
  EXPECT_EQ(expand(MaskPrg::kChaCha20, Secret32(), RingBits::k32, 16, 16),
            le_words(hex_bytes(kZeroKeyBlock1), RingBits::k32));
  EXPECT_EQ(expand(MaskPrg::kChaCha20, Secret32(), RingBits::k64, 8, 8),
            le_words(hex_bytes(kZeroKeyBlock1), RingBits::k64));
  // Unaligned inside a block: elements 5..20 of the 2^32 keystream.
  Bytes both = hex_bytes(std::string(kZeroKeyBlock0) + kZeroKeyBlock1);
  const std::vector<uint64_t> all = le_words(both, RingBits::k32);
  EXPECT_EQ(expand(MaskPrg::kChaCha20, Secret32(), RingBits::k32, 16, 5),
            std::vector<uint64_t>(all.begin() + 5, all.begin() + 21));
}

TEST(MaskPrg, Ring32ElementsFitIn32Bits) {
  for (MaskPrg prg : kBothPrgs)
    for (uint64_t v : expand(prg, seed_from(1), RingBits::k32, 5000)) ASSERT_LE(v, 0xffffffffull);
}

TEST(MaskPrg, TheTwoPrgsGiveDifferentMasks) {
  // A client and server that disagreed on the PRG would not cancel: the session
  // config must carry it.
  for (RingBits bits : kBothWidths)
    EXPECT_NE(expand(MaskPrg::kAes256Ctr, seed_from(1), bits, 64),
              expand(MaskPrg::kChaCha20, seed_from(1), bits, 64));
}

TEST(MaskPrg, SubtractUndoesAddExactly) {
  for (MaskPrg prg : kBothPrgs)
    for (RingBits bits : kBothWidths) {
      SCOPED_TRACE(case_name(prg, bits));
      const Secret32 seed = seed_from(2);
      const std::vector<uint64_t> original = random_accumulator(20011, 3);
      std::vector<uint64_t> acc = original;
      prg_add(prg, seed, bits, acc);
      ASSERT_NE(acc, original);
      prg_subtract(prg, seed, bits, acc);
      EXPECT_EQ(acc, original);
    }
}

TEST(MaskPrg, AddAndSubtractEqualExpandThenElementwiseArithmetic) {
  for (MaskPrg prg : kBothPrgs)
    for (RingBits bits : kBothWidths) {
      SCOPED_TRACE(case_name(prg, bits));
      const Secret32 seed = seed_from(4);
      constexpr size_t kN = 12345;
      constexpr size_t kOffset = 77;
      const std::vector<uint64_t> mask = expand(prg, seed, bits, kN, kOffset);
      const std::vector<uint64_t> original = random_accumulator(kN, 5);

      std::vector<uint64_t> added = original, subtracted = original;
      prg_add(prg, seed, bits, added, kOffset);
      prg_subtract(prg, seed, bits, subtracted, kOffset);
      for (size_t i = 0; i < kN; ++i) {
        ASSERT_EQ(added[i], original[i] + mask[i]) << "element " << i;
        ASSERT_EQ(subtracted[i], original[i] - mask[i]) << "element " << i;
      }
    }
}

TEST(MaskPrg, ApplyingManyMasksAtOnceEqualsOneAtATime) {
  // The server's batched removal must give exactly the sum of the single-mask
  // operations, signs included, whatever the grouping (7 masks: one pass of 5
  // added and 2 subtracted; 37: full passes of 16 and remainders; on VAES,
  // keystreams summed up to eight at a time).
  constexpr size_t kN = 9001;
  constexpr size_t kOffset = 4099;
  for (uint64_t count : {7, 37}) {
    std::vector<Secret32> seeds;
    for (uint64_t i = 0; i < count; ++i) seeds.push_back(seed_from(30 + i));
    std::vector<MaskTerm> terms;
    for (size_t i = 0; i < seeds.size(); ++i) terms.push_back(MaskTerm{&seeds[i], i % 3 == 1});
    for (MaskPrg prg : kBothPrgs)
      for (RingBits bits : kBothWidths) {
        SCOPED_TRACE(case_name(prg, bits) + ", " + std::to_string(count) + " masks");
        std::vector<uint64_t> one_by_one = random_accumulator(kN, 6);
        std::vector<uint64_t> batched = one_by_one;
        for (const MaskTerm& t : terms) {
          if (t.subtract)
            prg_subtract(prg, *t.seed, bits, one_by_one, kOffset);
          else
            prg_add(prg, *t.seed, bits, one_by_one, kOffset);
        }
        prg_apply(prg, bits, terms, batched, kOffset);
        // Equal in the ring: in the 2^32 ring the high bits are not the result
        // (prg_apply sums 32-bit lanes, so its carries into them differ).
        for (auto& x : one_by_one) x &= ring_mask(bits);
        for (auto& x : batched) x &= ring_mask(bits);
        EXPECT_EQ(batched, one_by_one);
      }
  }
}

TEST(MaskPrg, SlicesWithOffsetsReproduceTheWholeMask) {
  // Boundaries are unaligned to blocks (3, 17) and to the internal chunks, and
  // slice sizes are not multiples of either.
  constexpr size_t kN = 10000;
  const std::vector<size_t> cuts = {0, 3, 17, 1000, 1031, 2051, 4097, 4100, 9999, kN};
  for (MaskPrg prg : kBothPrgs)
    for (RingBits bits : kBothWidths) {
      SCOPED_TRACE(case_name(prg, bits));
      const Secret32 seed = seed_from(6);
      const std::vector<uint64_t> whole = expand(prg, seed, bits, kN);

      std::vector<uint64_t> sliced(kN, 0);
      std::vector<uint64_t> added(kN, 0), subtracted(kN, 0), applied(kN, 0);
      const MaskTerm minus{&seed, true};
      for (size_t c = 0; c + 1 < cuts.size(); ++c) {
        const size_t begin = cuts[c], size = cuts[c + 1] - cuts[c];
        prg_expand(prg, seed, bits, std::span(sliced).subspan(begin, size), begin);
        prg_add(prg, seed, bits, std::span(added).subspan(begin, size), begin);
        prg_subtract(prg, seed, bits, std::span(subtracted).subspan(begin, size), begin);
        prg_apply(prg, bits, std::span(&minus, 1), std::span(applied).subspan(begin, size), begin);
      }
      EXPECT_EQ(sliced, whole);
      EXPECT_EQ(added, whole);
      EXPECT_EQ(applied, subtracted);
      for (size_t i = 0; i < kN; ++i) ASSERT_EQ(subtracted[i], 0 - whole[i]) << "element " << i;
    }
}

TEST(MaskPrg, EveryStartOffsetAgreesWithTheWholeMask) {
  constexpr size_t kN = 6000;
  for (MaskPrg prg : kBothPrgs)
    for (RingBits bits : kBothWidths) {
      SCOPED_TRACE(case_name(prg, bits));
      const Secret32 seed = seed_from(7);
      const std::vector<uint64_t> whole = expand(prg, seed, bits, kN);
      for (size_t offset : {1, 2, 3, 15, 16, 17, 31, 1023, 1024, 1025, 2047, 2048, 2049}) {
        for (size_t size : {1, 2, 5, 100, 1030, 2500}) {
          if (offset + size > kN) continue;
          const std::vector<uint64_t> slice = expand(prg, seed, bits, size, offset);
          ASSERT_EQ(slice,
                    std::vector<uint64_t>(whole.begin() + offset, whole.begin() + offset + size))
              << "offset " << offset << " size " << size;
        }
      }
    }
}

TEST(MaskPrg, DifferentSeedsGiveUnrelatedMasks) {
  for (MaskPrg prg : kBothPrgs)
    for (RingBits bits : kBothWidths) {
      SCOPED_TRACE(case_name(prg, bits));
      Secret32 a = seed_from(8);
      Secret32 b = a;
      b.mutable_bytes()[31] ^= 1;  // one bit apart
      const std::vector<uint64_t> ma = expand(prg, a, bits, 1000), mb = expand(prg, b, bits, 1000);
      size_t equal = 0;
      for (size_t i = 0; i < ma.size(); ++i) equal += ma[i] == mb[i];
      EXPECT_EQ(equal, 0u);
    }
}

TEST(MaskPrg, DistantOffsetsDoNotRepeatTheMask) {
  // The block counter is 64 (ChaCha20) or 128 (AES) bits: 2^32 blocks in, a
  // 32-bit counter would wrap and reuse the mask from element 0.
  const Secret32 seed = seed_from(9);
  for (MaskPrg prg : kBothPrgs) {
    SCOPED_TRACE(mask_prg_name(prg));
    const size_t elements_per_block = prg == MaskPrg::kAes256Ctr ? 4 : 16;
    const size_t wrap32 = (size_t{1} << 32) * elements_per_block;
    EXPECT_NE(expand(prg, seed, RingBits::k32, 32, wrap32), expand(prg, seed, RingBits::k32, 32));
    std::vector<uint64_t> across = expand(prg, seed, RingBits::k32, 40, wrap32 - 20);
    std::vector<uint64_t> tail = expand(prg, seed, RingBits::k32, 20, wrap32);
    EXPECT_EQ(std::vector<uint64_t>(across.begin() + 20, across.end()), tail);
  }
}

TEST(MaskPrg, Ring32SumMatchesUint32WraparoundArithmetic) {
  // Three clients with pairwise masks, accumulated the way the server does it
  // (uint64 accumulators, reduced at the end): the low 32 bits equal the same
  // computation done in uint32_t, and the pairwise masks cancel.
  constexpr size_t kN = 3000;
  const Secret32 s01 = seed_from(10), s02 = seed_from(11), s12 = seed_from(12);
  for (MaskPrg prg : kBothPrgs) {
    SCOPED_TRACE(mask_prg_name(prg));
    std::vector<std::vector<uint64_t>> inputs;
    for (int c = 0; c < 3; ++c) {
      std::vector<uint64_t> x = random_accumulator(kN, 20 + c);
      for (auto& v : x) v &= ring_mask(RingBits::k32);
      inputs.push_back(x);
    }
    std::vector<uint64_t> sum(kN, 0);
    std::vector<uint32_t> sum32(kN, 0);
    std::vector<uint32_t> plain32(kN, 0);
    auto masked = [&](int client) {
      // The lower-numbered party of a pair adds the pair's mask, the other subtracts it.
      std::vector<uint64_t> y = inputs[client];
      if (client == 0) {
        prg_add(prg, s01, RingBits::k32, y);
        prg_add(prg, s02, RingBits::k32, y);
      } else if (client == 1) {
        prg_subtract(prg, s01, RingBits::k32, y);
        prg_add(prg, s12, RingBits::k32, y);
      } else {
        prg_subtract(prg, s02, RingBits::k32, y);
        prg_subtract(prg, s12, RingBits::k32, y);
      }
      for (auto& v : y) v &= ring_mask(RingBits::k32);  // what a client sends
      return y;
    };
    for (int c = 0; c < 3; ++c) {
      const std::vector<uint64_t> y = masked(c);
      for (size_t i = 0; i < kN; ++i) {
        ASSERT_LE(y[i], 0xffffffffull);
        sum[i] += y[i];
        sum32[i] += static_cast<uint32_t>(y[i]);
        plain32[i] += static_cast<uint32_t>(inputs[c][i]);
      }
    }
    for (size_t i = 0; i < kN; ++i) {
      ASSERT_EQ(sum[i] & ring_mask(RingBits::k32), sum32[i]) << "element " << i;
      ASSERT_EQ(sum32[i], plain32[i]) << "element " << i;
    }
  }
}

TEST(MaskPrg, NamesRoundTripAndUnknownNamesAreRefused) {
  for (MaskPrg prg : kBothPrgs) EXPECT_EQ(parse_mask_prg(mask_prg_name(prg)), prg);
  EXPECT_EQ(parse_mask_prg("aes"), std::nullopt);
  EXPECT_EQ(parse_mask_prg("ChaCha20"), std::nullopt);
}

TEST(MaskPrg, EmptySpanIsANoOp) {
  std::vector<uint64_t> none;
  for (MaskPrg prg : kBothPrgs) {
    prg_add(prg, seed_from(13), RingBits::k32, none, 12345);
    prg_subtract(prg, seed_from(13), RingBits::k64, none);
    prg_expand(prg, seed_from(13), RingBits::k64, none, 3);
    prg_keystream(prg, seed_from(13), std::span<uint8_t>{});
  }
  EXPECT_TRUE(none.empty());
  chacha20_keystream(seed_from(13), std::span<uint8_t>{});
}

}  // namespace
}  // namespace fl::crypto
