// Key derivation with BLAKE2b (crypto_generichash), bound to context.
//
// A key derived from an X25519 shared point is bound to the session id, both
// party ids (ordered, so both sides derive the same key) and a purpose string,
// so a key from one session, pair or use can never be replayed in another.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/bytes.h"

namespace fl::crypto {

// key = BLAKE2b-256(key = ikm, message = len(purpose)||purpose||len(session)||
//                  session||min(a,b)||max(a,b)), all lengths and ids little-endian
//                  u64. Symmetric in (a, b).
Secret32 derive_pair_key(const Secret32& ikm, ByteSpan session_id, uint64_t party_a,
                         uint64_t party_b, std::string_view purpose);

// Unkeyed BLAKE2b-256 of a message, for fingerprints and seeds.
Key32 blake2b_256(ByteSpan message);

}  // namespace fl::crypto
