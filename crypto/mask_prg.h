// The mask PRG of secure aggregation: a 32-byte seed expanded into a keystream
// read as little-endian ring elements of 32 or 64 bits. With a power-of-two
// modulus every element is uniform: no rejection sampling.
//
// Two keystreams, chosen per session (proto::SecAggConfig.prg):
// - kAes256Ctr: AES-256 in counter mode (NIST SP 800-38A), key = seed,
//   128-bit big-endian block counter starting at 0 (the IV is all zero).
// - kChaCha20: the original ChaCha20 (libsodium crypto_stream_chacha20, 64-bit
//   nonce = 0, 64-bit block counter from 0). Produced with OpenSSL's EVP
//   ChaCha20, whose 128-bit IV is the same state words 12..15; it carries the
//   32-bit counter into word 13 as the original layout does, so the keystream is
//   bit-identical to libsodium's (tests/crypto/mask_prg_test.cc proves it),
//   and 2.6x faster on AVX-512 machines. Sessions of either library interoperate.
// Both run on OpenSSL's EVP so the CPU's fastest code path (AES-NI/VAES,
// AVX-512) is picked at run time.
//
// Accumulators are always uint64_t; for the 2^32 ring only the low 32 bits are
// meaningful (2^32 divides 2^64, so arithmetic mod 2^64 then truncation is
// arithmetic mod 2^32), and the high 32 bits are unspecified: masks are summed
// in 32-bit lanes, so reduce with ring_mask before reading a result. Expand-and-add and
// expand-and-subtract are fused: the keystream is produced chunk-wise into a small on-stack buffer
// and consumed while it is in L1, because this loop is where clients and server spend their time.
// prg_apply removes several masks per pass over the accumulator, which the unmasking server needs
// when the add, not the cipher, is the limit.
//
// `offset` lets several threads expand disjoint slices of one mask: element i of
// the mask is always keystream element i, whatever slice it is expanded in.
//
// Thread-safety: pure functions. Each thread keeps its own cipher contexts,
// re-keyed with an all-zero key before a call returns, so no mask key schedule
// outlives the call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "crypto/bytes.h"

namespace fl::crypto {

enum class RingBits : uint8_t { k32 = 32, k64 = 64 };

inline constexpr size_t ring_element_bytes(RingBits bits) { return bits == RingBits::k32 ? 4 : 8; }
inline constexpr uint64_t ring_mask(RingBits bits) {
  return bits == RingBits::k32 ? 0xffffffffull : ~0ull;
}

enum class MaskPrg : uint8_t { kAes256Ctr, kChaCha20 };

// "aes256ctr" / "chacha20": the names configuration files use.
std::string_view mask_prg_name(MaskPrg prg);
std::optional<MaskPrg> parse_mask_prg(std::string_view name);

// acc[i] += PRG(seed)[offset + i]  (mod 2^64; reduce with ring_mask when done)
void prg_add(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> acc,
             size_t offset = 0);
// acc[i] -= PRG(seed)[offset + i]
void prg_subtract(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> acc,
                  size_t offset = 0);
// out[i] = PRG(seed)[offset + i]
void prg_expand(MaskPrg prg, const Secret32& seed, RingBits bits, std::span<uint64_t> out,
                size_t offset = 0);

// One mask of a batch: +PRG(*seed) or, with subtract, -PRG(*seed).
struct MaskTerm {
  const Secret32* seed;
  bool subtract;
};
// acc[i] += sum over masks of +-PRG(seed)[offset + i], several masks per pass
// over acc (same result as prg_add/prg_subtract one mask at a time).
void prg_apply(MaskPrg prg, RingBits bits, std::span<const MaskTerm> masks, std::span<uint64_t> acc,
               size_t offset = 0);

// The raw keystream of the PRG from block 0 into out, with nothing added: the
// limit the fused loops are measured against.
void prg_keystream(MaskPrg prg, const Secret32& seed, std::span<uint8_t> out);
// AES-256-CTR keystream from an arbitrary 128-bit big-endian counter block, as
// SP 800-38A defines it; kAes256Ctr is this with the counter block at 0. For the
// standard's known-answer tests.
void aes256ctr_keystream(const Secret32& key, std::span<const uint8_t, 16> initial_counter,
                         std::span<uint8_t> out);
// Raw libsodium crypto_stream_chacha20 keystream (nonce 0) into out: the
// reference kChaCha20 must equal, and the rate it replaced.
void chacha20_keystream(const Secret32& seed, std::span<uint8_t> out);

}  // namespace fl::crypto
