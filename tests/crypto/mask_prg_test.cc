// The mask PRG: exact ChaCha20 keystream (RFC 8439 A.1 vectors), masks that
// cancel exactly, and slices that agree with the whole mask wherever they start
// so threads can expand disjoint parts of one mask.
#include "crypto/mask_prg.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/rng.h"

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

std::vector<uint64_t> expand(const Secret32& seed, RingBits bits, size_t n, size_t offset = 0) {
  std::vector<uint64_t> out(n, 0xdeadbeefdeadbeefull);
  prg_expand(seed, bits, out, offset);
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

std::string width_name(RingBits bits) { return bits == RingBits::k32 ? "ring 2^32" : "ring 2^64"; }

TEST(ChaCha20Keystream, MatchesRfc8439AppendixA1Vectors1And2) {
  Bytes out(128, 0xff);
  chacha20_keystream(Secret32(), out);
  EXPECT_EQ(to_hex(ByteSpan(out).first(64)), kZeroKeyBlock0);
  EXPECT_EQ(to_hex(ByteSpan(out).subspan(64)), kZeroKeyBlock1);
}

TEST(MaskPrg, Ring32IsTheRfc8439KeystreamAsLittleEndianWords) {
  const std::vector<uint64_t> mask = expand(Secret32(), RingBits::k32, 16);
  EXPECT_EQ(mask[0], 0xade0b876u);
  EXPECT_EQ(mask[1], 0x903df1a0u);
  EXPECT_EQ(mask, le_words(hex_bytes(kZeroKeyBlock0), RingBits::k32));
}

TEST(MaskPrg, Ring64IsTheRfc8439KeystreamAsLittleEndianWords) {
  const std::vector<uint64_t> mask = expand(Secret32(), RingBits::k64, 8);
  EXPECT_EQ(mask[0], 0x903df1a0ade0b876ull);
  EXPECT_EQ(mask, le_words(hex_bytes(kZeroKeyBlock0), RingBits::k64));
}

TEST(MaskPrg, OffsetCountsElementsIntoTheKeystream) {
  // 64-byte block 1 starts at element 16 (ring 2^32) or 8 (ring 2^64).
  EXPECT_EQ(expand(Secret32(), RingBits::k32, 16, 16),
            le_words(hex_bytes(kZeroKeyBlock1), RingBits::k32));
  EXPECT_EQ(expand(Secret32(), RingBits::k64, 8, 8),
            le_words(hex_bytes(kZeroKeyBlock1), RingBits::k64));
  // Unaligned inside a block: elements 5..20 of the 2^32 keystream.
  Bytes both = hex_bytes(std::string(kZeroKeyBlock0) + kZeroKeyBlock1);
  const std::vector<uint64_t> all = le_words(both, RingBits::k32);
  EXPECT_EQ(expand(Secret32(), RingBits::k32, 16, 5),
            std::vector<uint64_t>(all.begin() + 5, all.begin() + 21));
}

TEST(MaskPrg, Ring32ElementsFitIn32Bits) {
  for (uint64_t v : expand(seed_from(1), RingBits::k32, 5000)) ASSERT_LE(v, 0xffffffffull);
}

TEST(MaskPrg, SubtractUndoesAddExactly) {
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    const Secret32 seed = seed_from(2);
    const std::vector<uint64_t> original = random_accumulator(20011, 3);
    std::vector<uint64_t> acc = original;
    prg_add(seed, bits, acc);
    ASSERT_NE(acc, original);
    prg_subtract(seed, bits, acc);
    EXPECT_EQ(acc, original);
  }
}

TEST(MaskPrg, AddAndSubtractEqualExpandThenElementwiseArithmetic) {
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    const Secret32 seed = seed_from(4);
    constexpr size_t kN = 12345;
    constexpr size_t kOffset = 77;
    const std::vector<uint64_t> mask = expand(seed, bits, kN, kOffset);
    const std::vector<uint64_t> original = random_accumulator(kN, 5);

    std::vector<uint64_t> added = original, subtracted = original;
    prg_add(seed, bits, added, kOffset);
    prg_subtract(seed, bits, subtracted, kOffset);
    for (size_t i = 0; i < kN; ++i) {
      ASSERT_EQ(added[i], original[i] + mask[i]) << "element " << i;
      ASSERT_EQ(subtracted[i], original[i] - mask[i]) << "element " << i;
    }
  }
}

TEST(MaskPrg, SlicesWithOffsetsReproduceTheWholeMask) {
  // Boundaries are unaligned to blocks (3, 17) and to the 8 KiB internal chunk
  // (2048 elements of 4 bytes, 1024 of 8), and slice sizes are not multiples
  // of either.
  constexpr size_t kN = 10000;
  const std::vector<size_t> cuts = {0, 3, 17, 1000, 1031, 2051, 4097, 4100, 9999, kN};
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    const Secret32 seed = seed_from(6);
    const std::vector<uint64_t> whole = expand(seed, bits, kN);

    std::vector<uint64_t> sliced(kN, 0);
    std::vector<uint64_t> added(kN, 0), subtracted(kN, 0);
    for (size_t c = 0; c + 1 < cuts.size(); ++c) {
      const size_t begin = cuts[c], size = cuts[c + 1] - cuts[c];
      prg_expand(seed, bits, std::span(sliced).subspan(begin, size), begin);
      prg_add(seed, bits, std::span(added).subspan(begin, size), begin);
      prg_subtract(seed, bits, std::span(subtracted).subspan(begin, size), begin);
    }
    EXPECT_EQ(sliced, whole);
    EXPECT_EQ(added, whole);
    for (size_t i = 0; i < kN; ++i) ASSERT_EQ(subtracted[i], 0 - whole[i]) << "element " << i;
  }
}

TEST(MaskPrg, EveryStartOffsetAgreesWithTheWholeMask) {
  constexpr size_t kN = 6000;
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    const Secret32 seed = seed_from(7);
    const std::vector<uint64_t> whole = expand(seed, bits, kN);
    for (size_t offset : {1, 2, 3, 15, 16, 17, 31, 1023, 1024, 1025, 2047, 2048, 2049}) {
      for (size_t size : {1, 2, 5, 100, 1030, 2500}) {
        if (offset + size > kN) continue;
        const std::vector<uint64_t> slice = expand(seed, bits, size, offset);
        ASSERT_EQ(slice,
                  std::vector<uint64_t>(whole.begin() + offset, whole.begin() + offset + size))
            << "offset " << offset << " size " << size;
      }
    }
  }
}

TEST(MaskPrg, DifferentSeedsGiveUnrelatedMasks) {
  for (RingBits bits : kBothWidths) {
    SCOPED_TRACE(width_name(bits));
    Secret32 a = seed_from(8);
    Secret32 b = a;
    b.mutable_bytes()[31] ^= 1;  // one bit apart
    const std::vector<uint64_t> ma = expand(a, bits, 1000), mb = expand(b, bits, 1000);
    size_t equal = 0;
    for (size_t i = 0; i < ma.size(); ++i) equal += ma[i] == mb[i];
    EXPECT_EQ(equal, 0u);
  }
}

TEST(MaskPrg, DistantOffsetsDoNotRepeatTheMask) {
  // The block counter is 64 bits: 2^32 blocks in, a 32-bit counter would wrap
  // and reuse the mask from element 0.
  const Secret32 seed = seed_from(9);
  const size_t wrap32 = size_t{1} << 36;  // 2^32 blocks of 16 u32 elements
  EXPECT_NE(expand(seed, RingBits::k32, 32, wrap32), expand(seed, RingBits::k32, 32));
  std::vector<uint64_t> across = expand(seed, RingBits::k32, 40, wrap32 - 20);
  std::vector<uint64_t> tail = expand(seed, RingBits::k32, 20, wrap32);
  EXPECT_EQ(std::vector<uint64_t>(across.begin() + 20, across.end()), tail);
}

TEST(MaskPrg, Ring32SumMatchesUint32WraparoundArithmetic) {
  // Three clients with pairwise masks, accumulated the way the server does it
  // (uint64 accumulators, reduced at the end): the low 32 bits equal the same
  // computation done in uint32_t, and the pairwise masks cancel.
  constexpr size_t kN = 3000;
  const Secret32 s01 = seed_from(10), s02 = seed_from(11), s12 = seed_from(12);
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
      prg_add(s01, RingBits::k32, y);
      prg_add(s02, RingBits::k32, y);
    } else if (client == 1) {
      prg_subtract(s01, RingBits::k32, y);
      prg_add(s12, RingBits::k32, y);
    } else {
      prg_subtract(s02, RingBits::k32, y);
      prg_subtract(s12, RingBits::k32, y);
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

TEST(MaskPrg, EmptySpanIsANoOp) {
  std::vector<uint64_t> none;
  prg_add(seed_from(13), RingBits::k32, none, 12345);
  prg_subtract(seed_from(13), RingBits::k64, none);
  prg_expand(seed_from(13), RingBits::k64, none, 3);
  EXPECT_TRUE(none.empty());
  chacha20_keystream(seed_from(13), std::span<uint8_t>{});
}

}  // namespace
}  // namespace fl::crypto
