#include "crypto/x25519_ifma.h"

#include <atomic>
#include <cstring>

#include "crypto/bytes.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define FL_HAVE_IFMA_CODE 1
#endif

namespace fl::crypto {
namespace {

// CPUID and XGETBV directly, as for VAES (crypto/aes256ctr_vaes.cc): clang 14
// does not know every __builtin_cpu_supports name GCC does.
bool cpu_has_ifma() {
#ifdef FL_HAVE_IFMA_CODE
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  if (!(c & (1u << 27))) return false;  // OSXSAVE
  // The OS saves the AVX-512 state: XCR0 bits SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM.
  unsigned xcr0 = 0, xcr0_high = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
  if ((xcr0 & 0xE6u) != 0xE6u) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), ifma = b & (1u << 21);
  return avx512f && avx512dq && ifma;
#else
  return false;  // other architectures: libsodium
#endif
}

// CPUID is slow under a hypervisor (a VM exit): ask once.
bool cpu_has_ifma_once() {
  static const bool has = cpu_has_ifma();
  return has;
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled{cpu_has_ifma_once()};
  return enabled;
}

#ifdef FL_HAVE_IFMA_CODE
constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

uint64_t load_le64(const uint8_t* p) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = (w << 8) | p[i];
  return w;
}

void store_le64(uint64_t w, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(w >> (8 * i));
}

// 32 little-endian bytes, bit 255 ignored, as five 51-bit limbs.
void unpack(const uint8_t* bytes, uint64_t limbs[5]) {
  const uint64_t w0 = load_le64(bytes), w1 = load_le64(bytes + 8), w2 = load_le64(bytes + 16),
                 w3 = load_le64(bytes + 24) & ~(uint64_t{1} << 63);
  limbs[0] = w0 & kMask51;
  limbs[1] = ((w0 >> 51) | (w1 << 13)) & kMask51;
  limbs[2] = ((w1 >> 38) | (w2 << 26)) & kMask51;
  limbs[3] = ((w2 >> 25) | (w3 << 39)) & kMask51;
  limbs[4] = (w3 >> 12) & kMask51;
}

// Limbs below 2^52 (any value mod p) to the canonical 32-byte encoding.
void freeze_and_pack(uint64_t l[5], uint8_t out[32]) {
  // Two carry passes: every limb below 2^51, the value below 2^255. (After the
  // first, l0 < 2^51 + 40; in the second, a carry out of l4 needs carries out
  // of l0..l3, which leave l0 < 40, so adding 19 * 1 cannot overflow it.)
  for (int pass = 0; pass < 2; ++pass) {
    for (int k = 0; k < 4; ++k) {
      l[k + 1] += l[k] >> 51;
      l[k] &= kMask51;
    }
    const uint64_t c = l[4] >> 51;
    l[4] &= kMask51;
    l[0] += 19 * c;
  }
  // q = 1 exactly when value >= p = 2^255 - 19, i.e. value + 19 >= 2^255; then
  // value - p = value + 19 - 2^255: add 19 q, carry, drop bit 255.
  uint64_t q = (l[0] + 19) >> 51;
  for (int k = 1; k < 5; ++k) q = (l[k] + q) >> 51;
  l[0] += 19 * q;
  for (int k = 0; k < 4; ++k) {
    l[k + 1] += l[k] >> 51;
    l[k] &= kMask51;
  }
  l[4] &= kMask51;
  store_le64(l[0] | (l[1] << 51), out);
  store_le64((l[1] >> 13) | (l[2] << 38), out + 8);
  store_le64((l[2] >> 26) | (l[3] << 25), out + 16);
  store_le64((l[3] >> 39) | (l[4] << 12), out + 24);
}

#define FL_IFMA_TARGET __attribute__((target("avx512f,avx512dq,avx512ifma")))
// Field helpers inlined and their limb loops unrolled, so limbs stay in
// registers (an unrolled product uses 20 accumulators of the 32 zmm).
#define FL_IFMA_INLINE FL_IFMA_TARGET __attribute__((always_inline)) inline
#define FL_UNROLL _Pragma("GCC unroll 16")

// A field element per lane: value = sum l[k] 2^(51 k) mod p. Every function
// below takes limbs below 2^52 (the multiply-add reads only 52 bits) and
// returns limbs below 2^52 (after carry()).
struct Fe {
  __m512i l[5];
};

FL_IFMA_INLINE __m512i splat(uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }

// x + x, and x >> 51: the unmasked shift intrinsics start from an undefined
// register, which GCC 12 warns about.
FL_IFMA_INLINE __m512i twice(__m512i x) { return _mm512_add_epi64(x, x); }
FL_IFMA_INLINE __m512i shr51(__m512i x) { return _mm512_maskz_srli_epi64(0xff, x, 51); }

// One vpmullq. The empty asm hides the constant: GCC 12 otherwise turns the
// multiply into two shifts and two adds, which made the kernel 20% slower.
FL_IFMA_INLINE __m512i times19(__m512i x) {
  __m512i nineteen = splat(19);
  __asm__("" : "+v"(nineteen));
  return _mm512_mullo_epi64(x, nineteen);
}

// Limbs below 2^63 in; limbs below 2^51 + 19 * 2^12 < 2^52 out, same value mod
// p (2^255 = 19). All carries taken at once: short dependency chains.
FL_IFMA_INLINE void carry(Fe& r) {
  const __m512i m = splat(kMask51);
  __m512i c[5];
  FL_UNROLL
  for (int k = 0; k < 5; ++k) c[k] = shr51(r.l[k]);
  // c4 < 2^12, so 19 c4 is the low half of a 52-bit product: one multiply-add.
  r.l[0] = _mm512_madd52lo_epu64(_mm512_and_si512(r.l[0], m), c[4], splat(19));
  FL_UNROLL
  for (int k = 1; k < 5; ++k) r.l[k] = _mm512_add_epi64(_mm512_and_si512(r.l[k], m), c[k - 1]);
}

FL_IFMA_INLINE Fe add(const Fe& a, const Fe& b) {
  Fe r;
  FL_UNROLL
  for (int k = 0; k < 5; ++k) r.l[k] = _mm512_add_epi64(a.l[k], b.l[k]);
  carry(r);
  return r;
}

// a + 4p - b: every limb stays non-negative because b's limbs are below 2^52,
// and 4p's are 2^53 - 76 and 2^53 - 4.
FL_IFMA_INLINE Fe sub(const Fe& a, const Fe& b) {
  Fe r;
  r.l[0] = _mm512_sub_epi64(_mm512_add_epi64(a.l[0], splat((uint64_t{1} << 53) - 76)), b.l[0]);
  FL_UNROLL
  for (int k = 1; k < 5; ++k)
    r.l[k] = _mm512_sub_epi64(_mm512_add_epi64(a.l[k], splat((uint64_t{1} << 53) - 4)), b.l[k]);
  carry(r);
  return r;
}

// Product scanning, one column k of the schoolbook product at a time: the low
// halves of a_i b_j with i + j = k sit at 2^(51 k); the high halves of those
// with i + j = k - 1 sit at 2^(51 (k - 1) + 52) = 2 * 2^(51 k). Column k + 5
// folds onto column k times 19 (2^255 = 19). Keeping only two accumulators
// live (not twenty) lets GCC hold everything in registers. Bounds: a column
// sums at most 5 low and 5 high halves, < 2^55 + 2^56; folded, < 20 * 2^57.
FL_IFMA_INLINE void fold_column(int k, __m512i column, Fe& r) {
  if (k < 5)
    r.l[k] = k == 0 ? column : _mm512_add_epi64(r.l[k], column);
  else
    r.l[k - 5] = _mm512_add_epi64(r.l[k - 5], times19(column));
}

FL_IFMA_INLINE Fe mul(const Fe& a, const Fe& b) {
  Fe r;
  FL_UNROLL
  for (int k = 0; k < 5; ++k) r.l[k] = _mm512_setzero_si512();
  FL_UNROLL
  for (int k = 0; k < 10; ++k) {
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    FL_UNROLL
    for (int i = 0; i < 5; ++i) {
      if (k - i >= 0 && k - i < 5) lo = _mm512_madd52lo_epu64(lo, a.l[i], b.l[k - i]);
      if (k - 1 - i >= 0 && k - 1 - i < 5) hi = _mm512_madd52hi_epu64(hi, a.l[i], b.l[k - 1 - i]);
    }
    fold_column(k, _mm512_add_epi64(lo, twice(hi)), r);
  }
  carry(r);
  return r;
}

// Fifteen products instead of twenty-five: the cross terms once, doubled.
FL_IFMA_INLINE Fe sq(const Fe& a) {
  Fe r;
  FL_UNROLL
  for (int k = 0; k < 5; ++k) r.l[k] = _mm512_setzero_si512();
  FL_UNROLL
  for (int k = 0; k < 10; ++k) {
    __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
    FL_UNROLL
    for (int i = 0; i < 5; ++i) {
      if (k - i > i && k - i < 5) lo = _mm512_madd52lo_epu64(lo, a.l[i], a.l[k - i]);
      if (k - 1 - i > i && k - 1 - i < 5) hi = _mm512_madd52hi_epu64(hi, a.l[i], a.l[k - 1 - i]);
    }
    __m512i column = twice(_mm512_add_epi64(lo, twice(hi)));  // cross terms, doubled
    if (k % 2 == 0 && k / 2 < 5) column = _mm512_madd52lo_epu64(column, a.l[k / 2], a.l[k / 2]);
    if (k % 2 == 1 && (k - 1) / 2 < 5)
      column = _mm512_add_epi64(
          column,
          twice(_mm512_madd52hi_epu64(_mm512_setzero_si512(), a.l[(k - 1) / 2], a.l[(k - 1) / 2])));
    fold_column(k, column, r);
  }
  carry(r);
  return r;
}

// a * 121665 = (A - 2) / 4, the ladder's constant (RFC 7748 section 5).
FL_IFMA_INLINE Fe mul_a24(const Fe& a) {
  const __m512i c = splat(121665), zero = _mm512_setzero_si512();
  __m512i lo[5], hi[5];
  FL_UNROLL
  for (int k = 0; k < 5; ++k) {
    lo[k] = _mm512_madd52lo_epu64(zero, a.l[k], c);
    hi[k] = twice(_mm512_madd52hi_epu64(zero, a.l[k], c));
  }
  Fe r;
  r.l[0] = _mm512_add_epi64(lo[0], times19(hi[4]));
  FL_UNROLL
  for (int k = 1; k < 5; ++k) r.l[k] = _mm512_add_epi64(lo[k], hi[k - 1]);
  carry(r);
  return r;
}

FL_IFMA_INLINE Fe sq_times(Fe a, int n) {
  for (int i = 0; i < n; ++i) a = sq(a);
  return a;
}

// z^(p - 2) = z^(2^255 - 21), the usual chain of 254 squarings and 11 products.
FL_IFMA_INLINE Fe invert(const Fe& z) {
  const Fe z2 = sq(z);                          // 2
  const Fe z9 = mul(sq_times(z2, 2), z);        // 9
  const Fe z11 = mul(z9, z2);                   // 11
  const Fe e5 = mul(sq(z11), z9);               // 2^5 - 1
  const Fe e10 = mul(sq_times(e5, 5), e5);      // 2^10 - 1
  const Fe e20 = mul(sq_times(e10, 10), e10);   // 2^20 - 1
  const Fe e40 = mul(sq_times(e20, 20), e20);   // 2^40 - 1
  const Fe e50 = mul(sq_times(e40, 10), e10);   // 2^50 - 1
  const Fe e100 = mul(sq_times(e50, 50), e50);  // 2^100 - 1
  const Fe e200 = mul(sq_times(e100, 100), e100);
  const Fe e250 = mul(sq_times(e200, 50), e50);  // 2^250 - 1
  return mul(sq_times(e250, 5), z11);            // 2^255 - 32 + 11
}

FL_IFMA_INLINE void cswap(__mmask8 swap, Fe& a, Fe& b) {
  FL_UNROLL
  for (int k = 0; k < 5; ++k) {
    const __m512i x = _mm512_mask_blend_epi64(swap, a.l[k], b.l[k]);
    b.l[k] = _mm512_mask_blend_epi64(swap, b.l[k], a.l[k]);
    a.l[k] = x;
  }
}

// RFC 7748 section 5's ladder in every lane: scalar words kw[w][lane], point
// limbs u[k][lane]; writes the limbs of x_2 / z_2 to out.
[[gnu::noinline]] FL_IFMA_TARGET void ladder8(const uint64_t kw[4][8], const uint64_t u[5][8],
                                              uint64_t out[5][8]) {
  Fe x1, x2, z2, x3, z3;
  FL_UNROLL
  for (int k = 0; k < 5; ++k) {
    x1.l[k] = _mm512_load_si512(u[k]);
    x2.l[k] = z2.l[k] = z3.l[k] = _mm512_setzero_si512();
  }
  x2.l[0] = z3.l[0] = splat(1);
  x3 = x1;
  __m512i words[4];
  for (int w = 0; w < 4; ++w) words[w] = _mm512_load_si512(kw[w]);
  __mmask8 swap = 0;
  for (int t = 254; t >= 0; --t) {
    const __mmask8 bit = _mm512_test_epi64_mask(words[t >> 6], splat(uint64_t{1} << (t & 63)));
    swap = static_cast<__mmask8>(swap ^ bit);
    cswap(swap, x2, x3);
    cswap(swap, z2, z3);
    swap = bit;
    const Fe a = add(x2, z2), aa = sq(a), b = sub(x2, z2), bb = sq(b), e = sub(aa, bb);
    const Fe c = add(x3, z3), d = sub(x3, z3), da = mul(d, a), cb = mul(c, b);
    x3 = sq(add(da, cb));
    z3 = mul(x1, sq(sub(da, cb)));
    x2 = mul(aa, bb);
    z2 = mul(e, add(aa, mul_a24(e)));
  }
  cswap(swap, x2, x3);
  cswap(swap, z2, z3);
  const Fe r = mul(x2, invert(z2));
  for (int k = 0; k < 5; ++k) _mm512_store_si512(out[k], r.l[k]);
  // The scalar words and field elements this frame spilled are wiped by the
  // caller's scrub_stack(); a zeroing store here would be dead code.
}

// Larger than ladder8's frame and its spills (field elements are 320 bytes).
[[gnu::noinline]] void scrub_stack() {
  uint8_t below[16384];
  wipe(below, sizeof(below));
}
#endif  // FL_HAVE_IFMA_CODE

}  // namespace

bool ifma_x25519_enabled() { return enabled_flag().load(std::memory_order_relaxed); }

bool set_ifma_x25519_enabled(bool enabled) {
  return enabled_flag().exchange(enabled && cpu_has_ifma_once(), std::memory_order_relaxed);
}

void ifma_x25519_eight(const uint8_t* const scalars[], const uint8_t* const points[],
                       uint8_t* const out[], size_t count) {
#ifdef FL_HAVE_IFMA_CODE
  count = count < 8 ? count : 8;
  if (!cpu_has_ifma_once()) {
    // Misuse on a CPU without IFMA: all-zero outputs, which callers refuse
    // (the small-order answer), rather than an illegal instruction.
    for (size_t lane = 0; lane < count; ++lane) std::memset(out[lane], 0, 32);
    return;
  }
  alignas(64) uint64_t kw[4][8];
  alignas(64) uint64_t u[5][8];
  alignas(64) uint64_t r[5][8];
  uint8_t k[32];
  uint64_t limbs[5];
  for (size_t lane = 0; lane < 8; ++lane) {
    // Unused lanes compute a public dummy (scalar 0 clamped, u = 9).
    if (lane < count) {
      std::memcpy(k, scalars[lane], 32);
      unpack(points[lane], limbs);
    } else {
      std::memset(k, 0, 32);
      limbs[0] = 9;
      limbs[1] = limbs[2] = limbs[3] = limbs[4] = 0;
    }
    k[0] &= 248;
    k[31] = static_cast<uint8_t>((k[31] & 127) | 64);
    for (int w = 0; w < 4; ++w) kw[w][lane] = load_le64(k + 8 * w);
    for (int j = 0; j < 5; ++j) u[j][lane] = limbs[j];
  }
  ladder8(kw, u, r);
  for (size_t lane = 0; lane < count; ++lane) {
    for (int j = 0; j < 5; ++j) limbs[j] = r[j][lane];
    freeze_and_pack(limbs, out[lane]);
  }
  wipe(kw, sizeof(kw));
  wipe(r, sizeof(r));
  wipe(k, sizeof(k));
  wipe(limbs, sizeof(limbs));
  scrub_stack();
#else
  (void)scalars;
  (void)points;
  for (size_t lane = 0; lane < count && lane < 8; ++lane) std::memset(out[lane], 0, 32);
#endif
}

}  // namespace fl::crypto
