#include "crypto/x25519.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/x25519_ifma.h"

namespace fl::crypto {
namespace {

// Little-endian canonical encodings of the small-order u-coordinates
// (libsodium's blocklist minus its non-canonical entries p and p + 1, which the
// range check below refuses anyway).
constexpr uint8_t kSmallOrder[][32] = {
    // 0 (order 4)
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    // 1 (order 1)
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    // p - 1 (order 2)
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

// p = 2^255 - 19, little-endian.
bool is_canonical(const Key32& u) {
  if (u[31] & 0x80) return false;  // X25519 ignores bit 255; an honest key never sets it
  // u >= p exactly when bytes 1..30 are 0xff, byte 31 is 0x7f and byte 0 >= 0xed.
  if (u[31] != 0x7f || u[0] < 0xed) return true;
  return !std::all_of(u.begin() + 1, u.begin() + 31, [](uint8_t b) { return b == 0xff; });
}

}  // namespace

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

std::vector<std::optional<Secret32>> x25519_agree_batch(std::span<const X25519Job> jobs) {
  const size_t n = jobs.size();
  std::vector<std::optional<Secret32>> out(n);
  if (!ifma_x25519_enabled()) {
    for (size_t i = 0; i < n; ++i)
      out[i] = x25519_agree(*jobs[i].secret_key, *jobs[i].peer_public_key);
    return out;
  }
  for (size_t begin = 0; begin < n; begin += 8) {
    const size_t count = std::min<size_t>(8, n - begin);
    const uint8_t* scalars[8];
    const uint8_t* points[8];
    uint8_t* results[8];
    Secret32 shared[8];
    for (size_t i = 0; i < count; ++i) {
      scalars[i] = jobs[begin + i].secret_key->data();
      points[i] = jobs[begin + i].peer_public_key->data();
      results[i] = shared[i].mutable_bytes().data();
    }
    ifma_x25519_eight(scalars, points, results, count);
    for (size_t i = 0; i < count; ++i) {
      // All zero exactly when the peer key has small order (crypto_scalarmult's
      // check, read in constant time over the bytes).
      uint8_t any = 0;
      for (uint8_t byte : shared[i].bytes()) any |= byte;
      if (any == 0)
        out[begin + i].reset();
      else
        out[begin + i] = shared[i];
    }
  }
  return out;
}

bool is_acceptable_x25519_public_key(const Key32& public_key) {
  if (!is_canonical(public_key)) return false;
  for (const auto& bad : kSmallOrder)
    if (std::equal(public_key.begin(), public_key.end(), bad)) return false;
  return true;
}

}  // namespace fl::crypto
