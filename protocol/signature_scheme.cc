#include "protocol/signature_scheme.h"

#include <chrono>

#include "blake3.h"

namespace fl::auth {

int64_t system_unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct BodyHasher::State {
  blake3_hasher hasher;
};

BodyHasher::BodyHasher() : state_(std::make_unique<State>()) {
  blake3_hasher_init(&state_->hasher);
}
BodyHasher::~BodyHasher() = default;
BodyHasher::BodyHasher(BodyHasher&&) noexcept = default;
BodyHasher& BodyHasher::operator=(BodyHasher&&) noexcept = default;

void BodyHasher::update(std::string_view piece) {
  blake3_hasher_update(&state_->hasher, piece.data(), piece.size());
}

crypto::Key32 BodyHasher::finish() const {
  crypto::Key32 digest;
  blake3_hasher_finalize(&state_->hasher, digest.data(), digest.size());
  return digest;
}

crypto::Key32 body_hash(std::string_view body) {
  BodyHasher hasher;
  hasher.update(body);
  return hasher.finish();
}

std::string body_hash_hex(std::string_view body) { return crypto::to_hex(body_hash(body)); }

std::string canonical_request_message(std::string_view audience, std::string_view method,
                                      std::string_view target, std::string_view timestamp,
                                      std::string_view nonce, std::string_view body_hash_hex) {
  std::string message;
  message.reserve(kSchemeLabel.size() + audience.size() + method.size() + target.size() +
                  timestamp.size() + nonce.size() + body_hash_hex.size() + 6);
  message.append(kSchemeLabel).append("\n");
  message.append(audience).append("\n");
  message.append(method).append("\n");
  message.append(target).append("\n");
  message.append(timestamp).append("\n");
  message.append(nonce).append("\n");
  message.append(body_hash_hex);
  return message;
}

}  // namespace fl::auth
