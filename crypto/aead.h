// XChaCha20-Poly1305 (IETF) authenticated encryption.
//
// The sealed form is nonce (24 bytes, random) || ciphertext || tag (16 bytes).
// Callers pass associated data that binds the message to its session, round,
// sender and recipient (see aead_context), so a ciphertext moved to another
// context fails to open.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "crypto/bytes.h"
#include "crypto/rng.h"

namespace fl::crypto {

inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadTagBytes = 16;
inline constexpr size_t kAeadOverhead = kAeadNonceBytes + kAeadTagBytes;

// Associated data: "fl.aead.v1" || len(session)||session || round || sender ||
// recipient (little-endian u64s).
Bytes aead_context(ByteSpan session_id, uint32_t round, uint64_t sender, uint64_t recipient);

Bytes aead_seal(const Secret32& key, ByteSpan plaintext, ByteSpan associated_data, Rng& rng);
// DataLoss when the input is shorter than the overhead or fails authentication
// (tampered, truncated, wrong key or wrong associated data).
Result<Bytes> aead_open(const Secret32& key, ByteSpan sealed, ByteSpan associated_data);

}  // namespace fl::crypto
