#include "crypto/ed25519.h"

#include <sodium.h>

namespace fl::crypto {

Ed25519KeyPair ed25519_keypair(Rng& rng) {
  Secret32 seed;
  rng.fill(seed.mutable_bytes());
  return ed25519_keypair_from_seed(seed);
}

Ed25519KeyPair ed25519_keypair_from_seed(const Secret32& seed) {
  ensure_sodium();
  Ed25519KeyPair kp;
  kp.seed = seed;
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(kp.public_key.data(), sk, seed.data());
  wipe(sk, sizeof(sk));
  return kp;
}

Sig64 ed25519_sign(const Ed25519KeyPair& key, ByteSpan message) {
  ensure_sodium();
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  uint8_t sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, key.seed.data());
  Sig64 sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), sk);
  wipe(sk, sizeof(sk));
  return sig;
}

bool ed25519_verify(const Key32& public_key, ByteSpan message, const Sig64& signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

}  // namespace fl::crypto
