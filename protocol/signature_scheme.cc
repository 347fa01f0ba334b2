#include "protocol/signature_scheme.h"

#include <chrono>

#include "crypto/kdf.h"

namespace fl::auth {

int64_t system_unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

crypto::Key32 body_hash(std::string_view body) {
  return crypto::blake2b_256(
      crypto::ByteSpan(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
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
