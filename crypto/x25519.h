// X25519 Diffie-Hellman (RFC 7748) through libsodium's crypto_scalarmult.
//
// Used twice per client in secure aggregation: one key pair whose agreements
// key the AEAD that carries Shamir shares, one whose agreements seed the
// pairwise masks (DESIGN.md section 3).
#pragma once

#include <optional>
#include <span>
#include <vector>

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

// Many independent agreements: element i is x25519_agree(*jobs[i].secret_key,
// *jobs[i].peer_public_key), the same bytes and the same nullopt for low-order
// keys. On a CPU with AVX-512 IFMA they run eight at a time
// (crypto/x25519_ifma.h), 4.5 us each against libsodium's 37 us on this
// project's machines; elsewhere one by one through libsodium.
struct X25519Job {
  const Secret32* secret_key;
  const Key32* peer_public_key;
};
std::vector<std::optional<Secret32>> x25519_agree_batch(std::span<const X25519Job> jobs);

// Whether `public_key` may be accepted from another party: false for the
// canonical encodings of the points of small order (0, 1, p - 1 and the two
// points of order 8: libsodium's `has_small_order` blocklist in
// crypto_scalarmult/curve25519/ref10/x25519_ref10.c, after Bernstein's list on
// cr.yp.to/ecdh.html), and for every non-canonical encoding: the top bit set or
// a value >= p = 2^255 - 19 (this covers p and p + 1, the other encodings of 0
// and 1 on that list). Agreement with a small-order key gives an all-zero or
// otherwise predictable point (RFC 7748 section 6.1 asks for the all-zero
// check); an honest key from x25519_public_key() is always canonical, so a
// canonical-only rule refuses nobody honest and makes equal points equal bytes
// (a duplicate check on bytes is then sound).
bool is_acceptable_x25519_public_key(const Key32& public_key);

}  // namespace fl::crypto
