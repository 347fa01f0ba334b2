// Ed25519 identity keys and signatures (RFC 8032) through crypto_sign.
#pragma once

#include "crypto/bytes.h"
#include "crypto/rng.h"

namespace fl::crypto {

struct Ed25519KeyPair {
  Key32 public_key;
  Secret32 seed;  // the 32-byte RFC 8032 private key; the expanded key is derived on use
};

Ed25519KeyPair ed25519_keypair(Rng& rng);
Ed25519KeyPair ed25519_keypair_from_seed(const Secret32& seed);
Sig64 ed25519_sign(const Ed25519KeyPair& key, ByteSpan message);
bool ed25519_verify(const Key32& public_key, ByteSpan message, const Sig64& signature);

}  // namespace fl::crypto
