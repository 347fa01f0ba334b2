#include "crypto/aes256ctr_vaes.h"

#include <atomic>
#include <utility>

#include "crypto/bytes.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define FL_HAVE_VAES_CODE 1
#endif

namespace fl::crypto {
namespace {

// CPUID and XGETBV directly: __builtin_cpu_supports("vaes") is GCC-only
// (clang 14, which builds the fuzzers, rejects the name).
bool cpu_has_vaes() {
#ifdef FL_HAVE_VAES_CODE
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool aes = c & (1u << 25), osxsave = c & (1u << 27);
  if (!aes || !osxsave) return false;
  // The OS saves the AVX-512 state: XCR0 bits SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM.
  unsigned xcr0 = 0, xcr0_high = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
  if ((xcr0 & 0xE6u) != 0xE6u) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512f = b & (1u << 16), avx512bw = b & (1u << 30), vaes = c & (1u << 9);
  return avx512f && avx512bw && vaes;
#else
  return false;  // other architectures: OpenSSL's EVP picks their AES instructions
#endif
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled{cpu_has_vaes()};
  return enabled;
}

#ifdef FL_HAVE_VAES_CODE
#define FL_VAES_TARGET __attribute__((target("aes,vaes,avx512f,avx512bw")))

// The 128-bit value in all four lanes. (The unmasked _mm512_broadcast_i32x4
// starts from an undefined register, which GCC 12 warns about.)
FL_VAES_TARGET inline __m512i all_lanes(__m128i x) {
  return _mm512_maskz_broadcast_i32x4(0xffff, x);
}

// FIPS 197 section 5.2 key expansion for Nk = 8 with AESKEYGENASSIST: even
// round keys take RotWord(SubWord(w)) ^ Rcon of the previous key's last word
// (lane 3), odd ones SubWord(w) without rotation or Rcon (lane 2).
FL_VAES_TARGET inline __m128i fold(__m128i key) {
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, _mm_slli_si128(key, 4));
}
FL_VAES_TARGET inline __m128i expand_even(__m128i two_back, __m128i assist) {
  return _mm_xor_si128(fold(two_back), _mm_shuffle_epi32(assist, 0xff));
}
FL_VAES_TARGET inline __m128i expand_odd(__m128i two_back, __m128i assist) {
  return _mm_xor_si128(fold(two_back), _mm_shuffle_epi32(assist, 0xaa));
}

// No carry out of `lo` happens inside one call (the caller splits there).
FL_VAES_TARGET void run(const Aes256RoundKeys& keys, uint64_t hi, uint64_t lo, uint8_t* out,
                        size_t blocks) {
  __m512i rk[15];
  for (int i = 0; i < 15; ++i)
    rk[i] = all_lanes(_mm_load_si128(reinterpret_cast<const __m128i*>(keys.bytes[i])));
  // A 128-bit lane holds one counter as little-endian qwords (lo, hi); reversing
  // its 16 bytes gives the big-endian counter block.
  const __m512i to_block =
      all_lanes(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const auto h = static_cast<long long>(hi);
  const auto l = static_cast<long long>(lo);
  __m512i ctr = _mm512_set_epi64(h, l + 3, h, l + 2, h, l + 1, h, l);
  const __m512i four = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
  size_t b = 0;
  // Sixteen blocks in flight hide the AESENC latency.
  for (; b + 16 <= blocks; b += 16) {
    __m512i x[4];
    for (auto& v : x) {
      v = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, to_block), rk[0]);
      ctr = _mm512_add_epi64(ctr, four);
    }
    for (int r = 1; r < 14; ++r)
      for (auto& v : x) v = _mm512_aesenc_epi128(v, rk[r]);
    for (int i = 0; i < 4; ++i)
      _mm512_storeu_si512(out + 16 * b + 64 * i, _mm512_aesenclast_epi128(x[i], rk[14]));
  }
  for (; b < blocks; b += 4) {
    __m512i x = _mm512_xor_si512(_mm512_shuffle_epi8(ctr, to_block), rk[0]);
    ctr = _mm512_add_epi64(ctr, four);
    for (int r = 1; r < 14; ++r) x = _mm512_aesenc_epi128(x, rk[r]);
    x = _mm512_aesenclast_epi128(x, rk[14]);
    const size_t n = blocks - b < 4 ? blocks - b : 4;
    const __mmask64 bytes = n == 4 ? ~__mmask64{0} : (__mmask64{1} << (16 * n)) - 1;
    _mm512_mask_storeu_epi8(out + 16 * b, bytes, x);
  }
}

// The sum of kKeys AES-256-CTR keystreams over the same counter blocks, added
// in 32-bit (or, with kLanes64, 64-bit) little-endian lanes: the masks of one
// pass of the PRG (crypto/mask_prg.cc) all start at the same counter, so they
// share each counter vector, and summing in registers saves a store and a
// load of every keystream but one. The kKeys chains are the ones in flight.
template <size_t kKeys, bool kLanes64>
FL_VAES_TARGET void run_sum(const Aes256RoundKeys* const* keys, uint64_t hi, uint64_t lo,
                            uint8_t* out, size_t blocks) {
  __m512i rk[kKeys][15];
  for (size_t k = 0; k < kKeys; ++k)
    for (int i = 0; i < 15; ++i)
      rk[k][i] = all_lanes(_mm_load_si128(reinterpret_cast<const __m128i*>(keys[k]->bytes[i])));
  const __m512i to_block =
      all_lanes(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const auto h = static_cast<long long>(hi);
  const auto l = static_cast<long long>(lo);
  __m512i ctr = _mm512_set_epi64(h, l + 3, h, l + 2, h, l + 1, h, l);
  const __m512i four = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
  for (size_t b = 0; b < blocks; b += 4) {
    const __m512i block = _mm512_shuffle_epi8(ctr, to_block);
    ctr = _mm512_add_epi64(ctr, four);
    __m512i x[kKeys];
    for (size_t k = 0; k < kKeys; ++k) x[k] = _mm512_xor_si512(block, rk[k][0]);
    for (int r = 1; r < 14; ++r)
      for (size_t k = 0; k < kKeys; ++k) x[k] = _mm512_aesenc_epi128(x[k], rk[k][r]);
    __m512i sum = _mm512_aesenclast_epi128(x[0], rk[0][14]);
    for (size_t k = 1; k < kKeys; ++k) {
      const __m512i ks = _mm512_aesenclast_epi128(x[k], rk[k][14]);
      sum = kLanes64 ? _mm512_add_epi64(sum, ks) : _mm512_add_epi32(sum, ks);
    }
    const size_t n = blocks - b < 4 ? blocks - b : 4;
    const __mmask64 bytes = n == 4 ? ~__mmask64{0} : (__mmask64{1} << (16 * n)) - 1;
    _mm512_mask_storeu_epi8(out + 16 * b, bytes, sum);
  }
  // kKeys x 15 round keys do not fit in registers: they stay in this frame,
  // which the caller wipes with vaes_scrub_stack() once it is done (a wipe
  // here, per call, cost 8% of the unmasking).
}

// run_sum<count> for count in 1..8 (the mask PRG's dispatch pattern, mask_prg.cc).
template <bool kLanes64, size_t... kCounts>
void run_sum_dispatch(std::index_sequence<kCounts...>, const Aes256RoundKeys* const* keys,
                      size_t count, uint64_t hi, uint64_t lo, uint8_t* out, size_t blocks) {
  ((count == kCounts + 1 ? run_sum<kCounts + 1, kLanes64>(keys, hi, lo, out, blocks) : void()),
   ...);
}
#endif  // FL_HAVE_VAES_CODE

}  // namespace

bool vaes_aes256ctr_enabled() { return enabled_flag().load(std::memory_order_relaxed); }

bool set_vaes_aes256ctr_enabled(bool enabled) {
  return enabled_flag().exchange(enabled && cpu_has_vaes());
}

#ifdef FL_HAVE_VAES_CODE
FL_VAES_TARGET void vaes_aes256_expand_key(const uint8_t key[32], Aes256RoundKeys& keys) {
  __m128i r[15];
  r[0] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key));
  r[1] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key + 16));
  // AESKEYGENASSIST takes its round constant as an immediate.
#define FL_AES256_ROUND_PAIR(i, rcon)                                      \
  r[i] = expand_even(r[i - 2], _mm_aeskeygenassist_si128(r[i - 1], rcon)); \
  r[i + 1] = expand_odd(r[i - 1], _mm_aeskeygenassist_si128(r[i], 0));
  FL_AES256_ROUND_PAIR(2, 0x01)
  FL_AES256_ROUND_PAIR(4, 0x02)
  FL_AES256_ROUND_PAIR(6, 0x04)
  FL_AES256_ROUND_PAIR(8, 0x08)
  FL_AES256_ROUND_PAIR(10, 0x10)
  FL_AES256_ROUND_PAIR(12, 0x20)
#undef FL_AES256_ROUND_PAIR
  r[14] = expand_even(r[12], _mm_aeskeygenassist_si128(r[13], 0x40));
  for (int i = 0; i < 15; ++i) _mm_store_si128(reinterpret_cast<__m128i*>(keys.bytes[i]), r[i]);
}

void vaes_aes256ctr_blocks(const Aes256RoundKeys& keys, Counter128& counter, uint8_t* out,
                           size_t blocks) {
  while (blocks > 0) {
    // Split where the low 64 bits wrap, so the vector loop never carries.
    const uint64_t until_wrap = 0 - counter.lo;  // 0 means 2^64
    const size_t n =
        until_wrap == 0 || until_wrap >= blocks ? blocks : static_cast<size_t>(until_wrap);
    run(keys, counter.hi, counter.lo, out, n);
    counter.lo += n;
    if (counter.lo == 0) ++counter.hi;
    out += 16 * n;
    blocks -= n;
  }
}

// Larger than the frames below vaes_aes256ctr_sum_blocks (run_sum<8> holds
// 7.5 KiB of round keys).
[[gnu::noinline]] void vaes_scrub_stack() {
  uint8_t below[16384];
  wipe(below, sizeof(below));
}

void vaes_aes256ctr_sum_blocks(const Aes256RoundKeys* const* keys, size_t count, bool lanes64,
                               Counter128& counter, uint8_t* out, size_t blocks) {
  while (blocks > 0) {
    const uint64_t until_wrap = 0 - counter.lo;  // 0 means 2^64
    const size_t n =
        until_wrap == 0 || until_wrap >= blocks ? blocks : static_cast<size_t>(until_wrap);
    if (lanes64)
      run_sum_dispatch<true>(std::make_index_sequence<8>(), keys, count, counter.hi, counter.lo,
                             out, n);
    else
      run_sum_dispatch<false>(std::make_index_sequence<8>(), keys, count, counter.hi, counter.lo,
                              out, n);
    counter.lo += n;
    if (counter.lo == 0) ++counter.hi;
    out += 16 * n;
    blocks -= n;
  }
}
#else
void vaes_scrub_stack() {}
void vaes_aes256_expand_key(const uint8_t*, Aes256RoundKeys&) {}
void vaes_aes256ctr_blocks(const Aes256RoundKeys&, Counter128&, uint8_t*, size_t) {}
void vaes_aes256ctr_sum_blocks(const Aes256RoundKeys* const*, size_t, bool, Counter128&, uint8_t*,
                               size_t) {}
#endif  // FL_HAVE_VAES_CODE

}  // namespace fl::crypto
