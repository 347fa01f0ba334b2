#include "protocol/request_signer.h"

#include <array>

#include "crypto/bytes.h"

namespace fl::auth {

RequestSigner::RequestSigner(uint64_t client_id, crypto::Ed25519KeyPair key, std::string audience,
                             UnixMillisClock clock, std::unique_ptr<crypto::Rng> rng)
    : client_id_(client_id),
      key_(std::move(key)),
      audience_(std::move(audience)),
      clock_(std::move(clock)),
      rng_(std::move(rng)) {}

HeaderList RequestSigner::sign(std::string_view method, std::string_view target,
                               std::string_view body) {
  std::array<uint8_t, kNonceBytes> nonce_bytes;
  rng_->fill(nonce_bytes);
  const std::string nonce = crypto::to_hex(nonce_bytes);
  const std::string timestamp = std::to_string(clock_());
  const std::string hash = body_hash_hex(body);
  const std::string message =
      canonical_request_message(audience_, method, target, timestamp, nonce, hash);
  const crypto::Sig64 signature = crypto::ed25519_sign(
      key_, crypto::ByteSpan(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  return {
      {std::string(kClientHeader), std::to_string(client_id_)},
      {std::string(kTimestampHeader), timestamp},
      {std::string(kNonceHeader), nonce},
      {std::string(kBodyHashHeader), hash},
      {std::string(kSignatureHeader), crypto::to_hex(signature)},
  };
}

}  // namespace fl::auth
