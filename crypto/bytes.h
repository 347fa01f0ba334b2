// Fixed-size byte strings used across the crypto layer, and a secret buffer
// that wipes itself (sodium_memzero) when it goes out of scope.
//
// Thread-safety: values; no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fl::crypto {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;
using Key32 = std::array<uint8_t, 32>;   // public keys, seeds, derived keys
using Sig64 = std::array<uint8_t, 64>;   // Ed25519 signatures

// Overwrites memory in a way the optimiser may not remove (sodium_memzero).
void wipe(void* data, size_t size);

// 32 secret bytes (an X25519 secret key, a mask seed, a derived key). Copies are
// explicit; every copy is wiped when destroyed.
class Secret32 {
 public:
  Secret32() { bytes_.fill(0); }
  explicit Secret32(const Key32& bytes) : bytes_(bytes) {}
  Secret32(const Secret32& other) = default;
  Secret32& operator=(const Secret32& other) = default;
  ~Secret32() { wipe(bytes_.data(), bytes_.size()); }

  const Key32& bytes() const { return bytes_; }
  Key32& mutable_bytes() { return bytes_; }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  static constexpr size_t size() { return 32; }
  bool operator==(const Secret32& o) const { return bytes_ == o.bytes_; }

 private:
  Key32 bytes_;
};

// Initialises libsodium once (thread-safe; cheap after the first call). Every
// function of this library calls it; an app never needs to.
void ensure_sodium();

std::string to_hex(ByteSpan bytes);
// Parses lowercase or uppercase hex; returns false on odd length or a bad digit.
bool from_hex(const std::string& hex, Bytes& out);

}  // namespace fl::crypto
