// The mask PRG of secure aggregation: a 32-byte seed expanded with the raw
// ChaCha20 keystream (libsodium crypto_stream_chacha20, 64-bit nonce = 0, block
// counter from 0) and read as little-endian ring elements of 32 or 64 bits.
// With a power-of-two modulus every element is uniform: no rejection sampling.
//
// Accumulators are always uint64_t; for the 2^32 ring only the low 32 bits are
// meaningful (2^32 divides 2^64, so arithmetic mod 2^64 then truncation is
// arithmetic mod 2^32). Expand-and-add and expand-and-subtract are fused: the
// keystream is produced block-wise into a small on-stack buffer and consumed
// while it is in L1, because this loop is where clients and server spend their
// time.
//
// `offset` lets several threads expand disjoint slices of one mask: element i of
// the mask is always keystream element i, whatever slice it is expanded in.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/bytes.h"

namespace fl::crypto {

enum class RingBits : uint8_t { k32 = 32, k64 = 64 };

inline constexpr size_t ring_element_bytes(RingBits bits) { return bits == RingBits::k32 ? 4 : 8; }
inline constexpr uint64_t ring_mask(RingBits bits) {
  return bits == RingBits::k32 ? 0xffffffffull : ~0ull;
}

// acc[i] += PRG(seed)[offset + i]  (mod 2^64; reduce with ring_mask when done)
void prg_add(const Secret32& seed, RingBits bits, std::span<uint64_t> acc, size_t offset = 0);
// acc[i] -= PRG(seed)[offset + i]
void prg_subtract(const Secret32& seed, RingBits bits, std::span<uint64_t> acc, size_t offset = 0);
// out[i] = PRG(seed)[offset + i]
void prg_expand(const Secret32& seed, RingBits bits, std::span<uint64_t> out, size_t offset = 0);

// Raw libsodium keystream into out (for the keystream-rate baseline).
void chacha20_keystream(const Secret32& seed, std::span<uint8_t> out);

}  // namespace fl::crypto
