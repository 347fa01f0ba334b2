#include "crypto/rng.h"

#include <sodium.h>

#include <cstring>

#include "crypto/kdf.h"

namespace fl::crypto {

uint64_t Rng::next_u64() {
  uint8_t b[8];
  fill(b);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

uint32_t Rng::next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }

uint64_t Rng::uniform(uint64_t bound) {
  // Rejection sampling on the largest multiple of bound below 2^64.
  const uint64_t limit = ~0ull - (~0ull % bound);
  uint64_t v;
  do {
    v = next_u64();
  } while (v >= limit);
  return v % bound;
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

Key32 Rng::key32() {
  Key32 k;
  fill(k);
  return k;
}

void SystemRng::fill(std::span<uint8_t> out) {
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

SeededRng::SeededRng(const Key32& seed) : key_(seed) { ensure_sodium(); }

SeededRng::SeededRng(uint64_t seed, std::string_view label) {
  ensure_sodium();
  Bytes msg(label.begin(), label.end());
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<uint8_t>(seed >> (8 * i)));
  key_ = blake2b_256(msg);
}

SeededRng::~SeededRng() {
  wipe(key_.data(), key_.size());
  wipe(buffer_, sizeof(buffer_));
}

void SeededRng::refill() {
  static const uint8_t kZeros[sizeof(buffer_)] = {};
  static const uint8_t kNonce[crypto_stream_chacha20_NONCEBYTES] = {};
  crypto_stream_chacha20_xor_ic(buffer_, kZeros, sizeof(buffer_), kNonce, block_, key_.data());
  block_ += sizeof(buffer_) / 64;
  available_ = sizeof(buffer_);
}

void SeededRng::fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    if (available_ == 0) refill();
    const size_t take = std::min(available_, out.size() - done);
    std::memcpy(out.data() + done, buffer_ + (sizeof(buffer_) - available_), take);
    available_ -= take;
    done += take;
  }
}

}  // namespace fl::crypto
