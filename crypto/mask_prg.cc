#include "crypto/mask_prg.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>
#include <utility>

#include "crypto/aes256ctr_vaes.h"

namespace fl::crypto {
namespace {

// Keystream held in L1 per step, split among the masks of one pass: 16 KiB
// leaves half of a 32 KiB L1 for the accumulator slice it is added into.
constexpr size_t kL1KeystreamBytes = 16384;
// Masks per pass over the accumulator in prg_apply: the accumulator is loaded
// and stored once per sixteen masks. At VAES speed the add, not the cipher, is
// what one mask at a time spends on (bench_crypto: prg_add u32 at 0.61 of the
// raw keystream). bench_aggregation's BM_Unmask, 64 masks over 10^5 elements:
// 8 per pass 1.27 x the raw keystream's time, 16 per pass 1.22 x, and 1.10 to
// 1.17 x with the VAES keystreams of each eight summed in registers.
constexpr size_t kMasksPerPass = 16;
constexpr size_t kMaxChunkBytes = kL1KeystreamBytes;
// Keystreams summed in registers per call on VAES (vaes_aes256ctr_sum_blocks).
constexpr size_t kVaesKeysPerSum = 8;
const uint8_t kZeros[kMaxChunkBytes] = {};
const uint8_t kZeroKey[32] = {};
const uint8_t kZeroIv[16] = {};
const uint8_t kSodiumNonce[crypto_stream_chacha20_NONCEBYTES] = {};

[[noreturn]] void openssl_failed(const char* what) {
  // Only reachable on allocation failure inside OpenSSL: the parameters are
  // fixed and valid. A wrong mask would silently corrupt the sum, so stop.
  std::fprintf(stderr, "fl::crypto mask PRG: OpenSSL %s failed\n", what);
  std::abort();
}

// Bytes of one cipher block: the unit a keystream can be started at.
constexpr size_t block_bytes(MaskPrg prg) { return prg == MaskPrg::kAes256Ctr ? 16 : 64; }

const EVP_CIPHER* cipher(MaskPrg prg) {
  // Fetched once: an explicit fetch avoids OpenSSL 3's implicit provider lookup
  // on every initialisation. Intentionally never freed.
  static const EVP_CIPHER* const aes = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
  static const EVP_CIPHER* const chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
  const EVP_CIPHER* c = prg == MaskPrg::kAes256Ctr ? aes : chacha;
  if (c == nullptr) openssl_failed("EVP_CIPHER_fetch");
  return c;
}

// The IV that starts the keystream at `block`.
// AES-256-CTR: the whole 16-byte counter block, big-endian (SP 800-38A B.1 with
// the standard incrementing function over all 128 bits), starting at 0.
// ChaCha20: OpenSSL's IV is state words 12..15 little-endian; words 12 and 13 are
// the original 64-bit block counter, words 14 and 15 the 64-bit nonce (0).
std::array<uint8_t, 16> start_iv(MaskPrg prg, uint64_t block) {
  std::array<uint8_t, 16> iv{};
  for (size_t i = 0; i < 8; ++i) {
    const auto byte = static_cast<uint8_t>(block >> (8 * i));
    if (prg == MaskPrg::kAes256Ctr)
      iv[15 - i] = byte;
    else
      iv[i] = byte;
  }
  return iv;
}

// Per-thread cipher contexts, created once: creating and freeing an
// EVP_CIPHER_CTX per call costs about as much as 4 KiB of keystream, which
// shows in the server's per-slice calls.
class ContextPool {
 public:
  static EVP_CIPHER_CTX* get(MaskPrg prg, size_t slot) {
    thread_local ContextPool pool;
    EVP_CIPHER_CTX*& ctx = pool.contexts_[prg == MaskPrg::kAes256Ctr ? 0 : 1][slot];
    if (ctx == nullptr) {
      ctx = EVP_CIPHER_CTX_new();
      if (ctx == nullptr) throw std::bad_alloc();
      if (EVP_EncryptInit_ex2(ctx, cipher(prg), kZeroKey, kZeroIv, nullptr) != 1)
        openssl_failed("EVP_EncryptInit_ex2");
    }
    return ctx;
  }
  ~ContextPool() {
    for (auto& per_prg : contexts_)
      for (EVP_CIPHER_CTX* ctx : per_prg) EVP_CIPHER_CTX_free(ctx);  // cleanses the key schedule
  }

 private:
  std::array<std::array<EVP_CIPHER_CTX*, kMasksPerPass>, 2> contexts_{};
};

// One running keystream: AES-256-CTR on VAES when the CPU has it
// (crypto/aes256ctr_vaes.h), otherwise a pooled EVP context. Destruction wipes
// the round keys or re-keys the context with the zero key, so the mask's key
// schedule does not stay in memory.
class Keystream {
 public:
  Keystream(MaskPrg prg, size_t slot, const Secret32& seed, uint64_t block)
      : Keystream(prg, slot, seed, start_iv(prg, block).data()) {}
  Keystream(MaskPrg prg, size_t slot, const Secret32& seed, const uint8_t* iv) {
    if (prg == MaskPrg::kAes256Ctr && vaes_aes256ctr_enabled()) {
      vaes_aes256_expand_key(seed.data(), round_keys_);
      for (size_t i = 0; i < 8; ++i) {
        counter_.hi = (counter_.hi << 8) | iv[i];
        counter_.lo = (counter_.lo << 8) | iv[8 + i];
      }
      return;
    }
    ctx_ = ContextPool::get(prg, slot);
    if (EVP_EncryptInit_ex2(ctx_, nullptr, seed.data(), iv, nullptr) != 1)
      openssl_failed("EVP_EncryptInit_ex2");
  }
  Keystream(const Keystream&) = delete;
  Keystream& operator=(const Keystream&) = delete;
  ~Keystream() {
    if (ctx_ == nullptr)
      wipe(&round_keys_, sizeof(round_keys_));
    else
      EVP_EncryptInit_ex2(ctx_, nullptr, kZeroKey, kZeroIv, nullptr);
  }

  // The next `bytes` (at most kMaxChunkBytes) of keystream. Only the last call
  // may ask for a part of a block.
  void next(uint8_t* out, size_t bytes) {
    if (ctx_ == nullptr) {
      vaes_aes256ctr_blocks(round_keys_, counter_, out, bytes / 16);
      if (bytes % 16 != 0) {
        uint8_t last[16];
        vaes_aes256ctr_blocks(round_keys_, counter_, last, 1);
        std::copy(last, last + bytes % 16, out + bytes / 16 * 16);
        wipe(last, sizeof(last));
      }
      return;
    }
    int written = 0;
    if (EVP_EncryptUpdate(ctx_, out, &written, kZeros, static_cast<int>(bytes)) != 1 ||
        static_cast<size_t>(written) != bytes)
      openssl_failed("EVP_EncryptUpdate");
  }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;  // null: the VAES path
  Aes256RoundKeys round_keys_;
  Counter128 counter_;
};

enum class Op { kAdd, kSubtract, kAssign };

template <typename Word>
uint64_t load_le(const Word* w) {
  if constexpr (std::endian::native == std::endian::little) {
    return *w;
  } else {
    const auto* b = reinterpret_cast<const uint8_t*>(w);
    uint64_t v = 0;
    for (size_t i = sizeof(Word); i-- > 0;) v = (v << 8) | b[i];
    return v;
  }
}

// out[i] += / -= / = the sum over m of ks[m][i]: the add that follows the
// cipher. All masks of one pass share a sign (apply_masks groups them), so the
// loop is one load and one add per mask and element. The masks are summed in
// Word-wide lanes and widened once: for the 2^32 ring only the low 32 bits of
// the accumulator count, and 2^32 divides 2^64, so a sum that wraps at 2^32 is
// still right, and a vector register holds twice as many 32-bit lanes.
template <typename Word, size_t kMasks, Op op>
[[gnu::always_inline]] inline void accumulate_masks(uint64_t* out, const Word* const* ks,
                                                    size_t words) {
  for (size_t i = 0; i < words; ++i) {
    Word sum = 0;
    for (size_t m = 0; m < kMasks; ++m) sum += static_cast<Word>(load_le(&ks[m][i]));
    if constexpr (op == Op::kAssign)
      out[i] = sum;
    else if constexpr (op == Op::kSubtract)
      out[i] -= sum;
    else
      out[i] += sum;
  }
}

// Once the keystream runs at VAES speed this add is the limit, and the
// portable build targets plain x86-64 (SSE2): compile it for AVX2 and AVX-512
// too and let the loader pick (GCC/Clang function multiversioning).
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FL_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FL_MULTIVERSION
#endif

template <typename Word, size_t... kCounts>
[[gnu::always_inline]] inline void accumulate_dispatch(std::index_sequence<kCounts...>,
                                                       uint64_t* out, const Word* const* ks,
                                                       size_t masks, size_t words, Op op) {
  if (op == Op::kAssign) return accumulate_masks<Word, 1, Op::kAssign>(out, ks, words);
  if (op == Op::kAdd)
    ((masks == kCounts + 1 ? accumulate_masks<Word, kCounts + 1, Op::kAdd>(out, ks, words)
                           : void()),
     ...);
  else
    ((masks == kCounts + 1 ? accumulate_masks<Word, kCounts + 1, Op::kSubtract>(out, ks, words)
                           : void()),
     ...);
}

FL_MULTIVERSION void accumulate(uint64_t* out, const uint32_t* const* ks, size_t masks,
                                size_t words, Op op) {
  accumulate_dispatch(std::make_index_sequence<kMasksPerPass>(), out, ks, masks, words, op);
}
FL_MULTIVERSION void accumulate(uint64_t* out, const uint64_t* const* ks, size_t masks,
                                size_t words, Op op) {
  accumulate_dispatch(std::make_index_sequence<kMasksPerPass>(), out, ks, masks, words, op);
}

// fused() on VAES: the masks of a pass start at the same counter, so up to
// kVaesKeysPerSum keystreams are generated together and summed in registers
// (vaes_aes256ctr_sum_blocks); the accumulator then takes one sum per group.
template <typename Word, size_t kMasks>
void fused_vaes(const Secret32* const* seeds, Op op, std::span<uint64_t> acc, size_t offset) {
  constexpr size_t kGroups = (kMasks + kVaesKeysPerSum - 1) / kVaesKeysPerSum;
  constexpr size_t kChunk = kL1KeystreamBytes / kGroups / 64 * 64;  // per group per step
  constexpr size_t kWordsPerChunk = kChunk / sizeof(Word);
  const uint64_t byte_pos = static_cast<uint64_t>(offset) * sizeof(Word);
  size_t skip_words = static_cast<size_t>(byte_pos % 16) / sizeof(Word);
  Aes256RoundKeys keys[kMasks];
  const Aes256RoundKeys* key_ptrs[kMasks];
  for (size_t m = 0; m < kMasks; ++m) {
    vaes_aes256_expand_key(seeds[m]->data(), keys[m]);
    key_ptrs[m] = &keys[m];
  }
  Counter128 counter{0, byte_pos / 16};
  alignas(64) Word ks[kGroups][kWordsPerChunk];
  size_t done = 0;
  while (done < acc.size()) {
    const size_t words = std::min(kWordsPerChunk - skip_words, acc.size() - done);
    const size_t blocks = ((skip_words + words) * sizeof(Word) + 15) / 16;
    Counter128 next = counter;
    const Word* chunks[kGroups];
    for (size_t g = 0; g < kGroups; ++g) {
      next = counter;
      vaes_aes256ctr_sum_blocks(key_ptrs + kVaesKeysPerSum * g,
                                std::min<size_t>(kVaesKeysPerSum, kMasks - kVaesKeysPerSum * g),
                                sizeof(Word) == 8, next, reinterpret_cast<uint8_t*>(ks[g]), blocks);
      chunks[g] = ks[g] + skip_words;
    }
    counter = next;
    accumulate(acc.data() + done, chunks, kGroups, words, op);
    done += words;
    skip_words = 0;
  }
  wipe(keys, sizeof(keys));
  wipe(ks, sizeof(ks));
  vaes_scrub_stack();  // the summing kernel's copies of the round keys
}

// acc[i] (op)= sum over the kMasks seeds of PRG(seed)[offset + i]. Each mask's
// keystream runs in its own context; per step, kMasks chunks are generated into
// L1 and added in one pass over the accumulator.
template <typename Word, size_t kMasks>
void fused(MaskPrg prg, const Secret32* const* seeds, Op op, std::span<uint64_t> acc,
           size_t offset) {
  static_assert(kMasks >= 1 && kMasks <= kMasksPerPass);
  if (prg == MaskPrg::kAes256Ctr && vaes_aes256ctr_enabled())
    return fused_vaes<Word, kMasks>(seeds, op, acc, offset);
  constexpr size_t kChunk = kL1KeystreamBytes / kMasks / 64 * 64;  // per mask per step
  static_assert(kChunk % 64 == 0 && kChunk <= kMaxChunkBytes);
  constexpr size_t kWordsPerChunk = kChunk / sizeof(Word);
  const size_t block = block_bytes(prg);

  // The keystream starts at the block holding element `offset`; the bytes of
  // that block before it are generated and skipped. Later chunks then start on
  // chunk boundaries of the keystream (skip is a multiple of the word size).
  const uint64_t byte_pos = static_cast<uint64_t>(offset) * sizeof(Word);
  size_t skip_words = static_cast<size_t>(byte_pos % block) / sizeof(Word);

  // Typed buffers: the cipher writes them through unsigned char (which may alias
  // anything), and the add loop reads Words the compiler can vectorise.
  alignas(64) Word ks[kMasks][kWordsPerChunk];
  std::optional<Keystream> streams[kMasks];
  for (size_t m = 0; m < kMasks; ++m) streams[m].emplace(prg, m, *seeds[m], byte_pos / block);
  size_t done = 0;
  while (done < acc.size()) {
    const size_t words = std::min(kWordsPerChunk - skip_words, acc.size() - done);
    const size_t bytes = ((skip_words + words) * sizeof(Word) + block - 1) / block * block;
    for (size_t m = 0; m < kMasks; ++m) streams[m]->next(reinterpret_cast<uint8_t*>(ks[m]), bytes);
    const Word* chunks[kMasks];
    for (size_t m = 0; m < kMasks; ++m) chunks[m] = ks[m] + skip_words;
    accumulate(acc.data() + done, chunks, kMasks, words, op);
    done += words;
    skip_words = 0;
  }
  wipe(ks, sizeof(ks));
}

// One pass of 1..kMasksPerPass masks of one sign.
template <typename Word, size_t... kCounts>
void pass(std::index_sequence<kCounts...>, MaskPrg prg, const Secret32* const* seeds, size_t count,
          Op op, std::span<uint64_t> acc, size_t offset) {
  ((count == kCounts + 1 ? fused<Word, kCounts + 1>(prg, seeds, op, acc, offset) : void()), ...);
}

template <typename Word>
void apply_masks(MaskPrg prg, std::span<const MaskTerm> masks, std::span<uint64_t> acc,
                 size_t offset) {
  // Masks are grouped by sign as they come, a pass whenever a group is full.
  const Secret32* groups[2][kMasksPerPass];
  size_t sizes[2] = {0, 0};
  auto flush = [&](size_t sign) {
    pass<Word>(std::make_index_sequence<kMasksPerPass>(), prg, groups[sign], sizes[sign],
               sign == 1 ? Op::kSubtract : Op::kAdd, acc, offset);
    sizes[sign] = 0;
  };
  for (const MaskTerm& m : masks) {
    const size_t sign = m.subtract ? 1 : 0;
    groups[sign][sizes[sign]++] = m.seed;
    if (sizes[sign] == kMasksPerPass) flush(sign);
  }
  for (size_t sign : {0, 1})
    if (sizes[sign] > 0) flush(sign);
}

template <Op op>
void one_mask(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> acc,
              size_t offset) {
  if (acc.empty()) return;
  const Secret32* seeds[1] = {&seed};
  if (bits == RingBits::k32)
    fused<uint32_t, 1>(prg, seeds, op, acc, offset);
  else
    fused<uint64_t, 1>(prg, seeds, op, acc, offset);
}

}  // namespace

std::string_view mask_prg_name(MaskPrg prg) {
  return prg == MaskPrg::kAes256Ctr ? "aes256ctr" : "chacha20";
}

std::optional<MaskPrg> parse_mask_prg(std::string_view name) {
  if (name == "aes256ctr") return MaskPrg::kAes256Ctr;
  if (name == "chacha20") return MaskPrg::kChaCha20;
  return std::nullopt;
}

void prg_add(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> acc,
             size_t offset) {
  one_mask<Op::kAdd>(prg, seed, bits, acc, offset);
}
void prg_subtract(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> acc,
                  size_t offset) {
  one_mask<Op::kSubtract>(prg, seed, bits, acc, offset);
}
void prg_expand(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> out,
                size_t offset) {
  one_mask<Op::kAssign>(prg, seed, bits, out, offset);
}

void prg_apply(MaskPrg prg, RingBits bits, std::span<const MaskTerm> masks, std::span<uint64_t> acc,
               size_t offset) {
  if (acc.empty() || masks.empty()) return;
  if (bits == RingBits::k32)
    apply_masks<uint32_t>(prg, masks, acc, offset);
  else
    apply_masks<uint64_t>(prg, masks, acc, offset);
}

void prg_keystream(MaskPrg prg, const Secret32& seed, std::span<uint8_t> out) {
  Keystream stream(prg, 0, seed, uint64_t{0});
  for (size_t done = 0; done < out.size(); done += kMaxChunkBytes)
    stream.next(out.data() + done, std::min(kMaxChunkBytes, out.size() - done));
}

void aes256ctr_keystream(const Secret32& key, std::span<const uint8_t, 16> initial_counter,
                         std::span<uint8_t> out) {
  Keystream stream(MaskPrg::kAes256Ctr, 0, key, initial_counter.data());
  for (size_t done = 0; done < out.size(); done += kMaxChunkBytes)
    stream.next(out.data() + done, std::min(kMaxChunkBytes, out.size() - done));
}

void chacha20_keystream(const Secret32& seed, std::span<uint8_t> out) {
  if (out.empty()) return;  // crypto_stream_chacha20's pointers are declared nonnull
  ensure_sodium();
  crypto_stream_chacha20(out.data(), out.size(), kSodiumNonce, seed.data());
}

}  // namespace fl::crypto
