// AES-256-CTR keystream with VAES on AVX-512 registers: four blocks per
// instruction, sixteen in flight, 3.7x OpenSSL 3.0's EVP (AES-NI, one block per
// instruction) on this project's machines (benchmarks/bench_crypto.cc). The
// mask PRG (crypto/mask_prg.h) uses it when the CPU has VAES and AVX-512 and
// falls back to EVP otherwise; tests prove both give the same keystream,
// including the 128-bit counter's carry out of its low 64 bits.
//
// Counter blocks are the 128-bit big-endian integers hi:lo, hi:lo + 1, ...
// (NIST SP 800-38A, the standard incrementing function over the whole block).
//
// Thread-safety: pure functions on caller-owned state. Aes256RoundKeys holds
// key material: the owner wipes it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fl::crypto {

struct Aes256RoundKeys {
  alignas(16) uint8_t bytes[15][16];
};

struct Counter128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
};

// True when this CPU runs the VAES code (and it has not been turned off).
bool vaes_aes256ctr_enabled();
// Turns the VAES path off or back on (only if the CPU has it), so tests and
// benchmarks can run the EVP fallback on a machine that has VAES. Returns the
// previous setting.
bool set_vaes_aes256ctr_enabled(bool enabled);

// Only when vaes_aes256ctr_enabled().
void vaes_aes256_expand_key(const uint8_t key[32], Aes256RoundKeys& keys);
// Writes `blocks` 16-byte keystream blocks starting at counter, and advances it.
void vaes_aes256ctr_blocks(const Aes256RoundKeys& keys, Counter128& counter, uint8_t* out,
                           size_t blocks);
// The sum of `count` (1 to 8) keystreams that start at the same counter, one
// per key, added in little-endian 32-bit lanes (64-bit with lanes64) and
// wrapping: `blocks` 16-byte blocks of it into out, and advances the counter.
// The mask PRG's fused add (crypto/mask_prg.cc) runs on it.
void vaes_aes256ctr_sum_blocks(const Aes256RoundKeys* const* keys, size_t count, bool lanes64,
                               Counter128& counter, uint8_t* out, size_t blocks);
// Wipes the stack below the caller's frame, where vaes_aes256ctr_sum_blocks
// left round keys: call it from the same function once done with the keys.
void vaes_scrub_stack();

}  // namespace fl::crypto
