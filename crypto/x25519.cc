#include "crypto/x25519.h"

#include <sodium.h>

namespace fl::crypto {

X25519KeyPair x25519_keypair(Rng& rng) {
  ensure_sodium();
  X25519KeyPair kp;
  rng.fill(kp.secret_key.mutable_bytes());
  crypto_scalarmult_base(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Key32 x25519_public_key(const Secret32& secret_key) {
  ensure_sodium();
  Key32 pk;
  crypto_scalarmult_base(pk.data(), secret_key.data());
  return pk;
}

std::optional<Secret32> x25519_agree(const Secret32& secret_key, const Key32& peer_public_key) {
  ensure_sodium();
  Secret32 shared;
  // crypto_scalarmult fails (-1) when the result is all zero: a low-order peer key.
  if (crypto_scalarmult(shared.data(), secret_key.data(), peer_public_key.data()) != 0)
    return std::nullopt;
  return shared;
}

}  // namespace fl::crypto
