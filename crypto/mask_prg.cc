#include "crypto/mask_prg.h"

#include <sodium.h>

#include <bit>
#include <cstring>

namespace fl::crypto {
namespace {

// 8 KiB of keystream per step: 128 ChaCha20 blocks, a multiple of the 512-byte
// stride of libsodium's AVX2 code, and small enough to stay in L1 while it is
// added into the accumulator.
constexpr size_t kChunkBytes = 8192;
const uint8_t kZeros[kChunkBytes] = {};
const uint8_t kNonce[crypto_stream_chacha20_NONCEBYTES] = {};

enum class Op { kAdd, kSubtract, kAssign };

template <typename Word, Op op>
void apply(const uint8_t* ks, uint64_t* acc, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    // Read the keystream as little-endian words; memcpy into a typed local
    // array lets the compiler vectorise the loop without aliasing concerns.
    Word words[kChunkBytes / sizeof(Word)];
    std::memcpy(words, ks, n * sizeof(Word));
    for (size_t i = 0; i < n; ++i) {
      const uint64_t w = words[i];
      if constexpr (op == Op::kAdd) acc[i] += w;
      if constexpr (op == Op::kSubtract) acc[i] -= w;
      if constexpr (op == Op::kAssign) acc[i] = w;
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint64_t w = 0;
      for (size_t b = sizeof(Word); b-- > 0;) w = (w << 8) | ks[i * sizeof(Word) + b];
      if constexpr (op == Op::kAdd) acc[i] += w;
      if constexpr (op == Op::kSubtract) acc[i] -= w;
      if constexpr (op == Op::kAssign) acc[i] = w;
    }
  }
}

template <typename Word, Op op>
void run(const Secret32& seed, std::span<uint64_t> acc, size_t offset) {
  ensure_sodium();
  alignas(64) uint8_t ks[kChunkBytes];
  constexpr size_t kWordsPerChunk = kChunkBytes / sizeof(Word);
  size_t byte_pos = offset * sizeof(Word);  // position in the keystream
  size_t done = 0;
  while (done < acc.size()) {
    const uint64_t block = byte_pos / 64;
    const size_t skip = byte_pos % 64;  // only non-zero for an unaligned first slice
    const size_t words = std::min(kWordsPerChunk - skip / sizeof(Word), acc.size() - done);
    const size_t bytes = skip + words * sizeof(Word);
    crypto_stream_chacha20_xor_ic(ks, kZeros, (bytes + 63) / 64 * 64, kNonce, block, seed.data());
    apply<Word, op>(ks + skip, acc.data() + done, words);
    done += words;
    byte_pos += words * sizeof(Word);
  }
  wipe(ks, sizeof(ks));
}

template <Op op>
void dispatch(const Secret32& seed, RingBits bits, std::span<uint64_t> acc, size_t offset) {
  if (bits == RingBits::k32)
    run<uint32_t, op>(seed, acc, offset);
  else
    run<uint64_t, op>(seed, acc, offset);
}

}  // namespace

void prg_add(const Secret32& seed, RingBits bits, std::span<uint64_t> acc, size_t offset) {
  dispatch<Op::kAdd>(seed, bits, acc, offset);
}
void prg_subtract(const Secret32& seed, RingBits bits, std::span<uint64_t> acc, size_t offset) {
  dispatch<Op::kSubtract>(seed, bits, acc, offset);
}
void prg_expand(const Secret32& seed, RingBits bits, std::span<uint64_t> out, size_t offset) {
  dispatch<Op::kAssign>(seed, bits, out, offset);
}

void chacha20_keystream(const Secret32& seed, std::span<uint8_t> out) {
  if (out.empty()) return;  // crypto_stream_chacha20's pointers are declared nonnull
  ensure_sodium();
  crypto_stream_chacha20(out.data(), out.size(), kNonce, seed.data());
}

}  // namespace fl::crypto
