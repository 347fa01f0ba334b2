// Injected randomness. The protocol core never calls the OS directly: it takes
// an Rng&, so tests and simulations are reproducible from a seed while
// production uses the OS CSPRNG through libsodium.
//
// SystemRng: randombytes_buf (OS CSPRNG). SeededRng: the ChaCha20 keystream of
// a 32-byte seed (libsodium's randombytes_buf_deterministic construction, with a
// running block counter), cryptographically strong but reproducible; for tests
// and simulations only.
//
// Thread-safety: an Rng instance is not thread-safe; give each thread its own.
#pragma once

#include <cstdint>
#include <span>

#include "crypto/bytes.h"

namespace fl::crypto {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<uint8_t> out) = 0;

  uint64_t next_u64();
  uint32_t next_u32();
  // Uniform in [0, bound) without modulo bias; bound > 0.
  uint64_t uniform(uint64_t bound);
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();
  Key32 key32();
};

class SystemRng final : public Rng {
 public:
  void fill(std::span<uint8_t> out) override;
};

class SeededRng final : public Rng {
 public:
  explicit SeededRng(const Key32& seed);
  // Convenience for tests and scenarios: the seed is BLAKE2b(label || value).
  explicit SeededRng(uint64_t seed, std::string_view label = "fl.seeded-rng");
  ~SeededRng() override;
  void fill(std::span<uint8_t> out) override;

 private:
  void refill();
  Key32 key_;
  uint64_t block_ = 0;         // ChaCha20 64-byte block counter
  uint8_t buffer_[512];
  size_t available_ = 0;
};

}  // namespace fl::crypto
