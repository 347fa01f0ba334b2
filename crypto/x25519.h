// X25519 Diffie-Hellman (RFC 7748) through libsodium's crypto_scalarmult.
//
// Used twice per client in secure aggregation: one key pair whose agreements
// key the AEAD that carries Shamir shares, one whose agreements seed the
// pairwise masks (DESIGN.md section 3).
#pragma once

#include <optional>

#include "crypto/bytes.h"
#include "crypto/rng.h"

namespace fl::crypto {

struct X25519KeyPair {
  Key32 public_key;
  Secret32 secret_key;
};

// Secret key = 32 bytes from rng (clamped by X25519 itself).
X25519KeyPair x25519_keypair(Rng& rng);
Key32 x25519_public_key(const Secret32& secret_key);
// Raw shared point. nullopt when the peer key is a low-order point (the result
// would be all zero and independent of our secret): reject such peers.
std::optional<Secret32> x25519_agree(const Secret32& secret_key, const Key32& peer_public_key);

}  // namespace fl::crypto
