// Produces the fl-request-v1 headers (signature_scheme.h) for one client's
// outgoing requests. Used by the SDK transport on every attempt, so a retried
// request gets a fresh timestamp and nonce and is not rejected as a replay.
//
// Not for: verifying (request_authenticator.h) or administrators.
//
// Thread-safety: not thread-safe (it owns an Rng); one signer per SDK thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/http/auth/signature_scheme.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"

namespace fl::auth {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class RequestSigner {
 public:
  // `rng` draws the nonces (crypto::SystemRng in production, SeededRng in tests).
  RequestSigner(uint64_t client_id, crypto::Ed25519KeyPair key, UnixMillisClock clock,
                std::unique_ptr<crypto::Rng> rng);

  // The four X-FL-* headers for a request; `target` is path plus query exactly
  // as it will appear on the request line.
  HeaderList sign(std::string_view method, std::string_view target, std::string_view body);

  uint64_t client_id() const { return client_id_; }

 private:
  uint64_t client_id_;
  crypto::Ed25519KeyPair key_;
  UnixMillisClock clock_;
  std::unique_ptr<crypto::Rng> rng_;
};

}  // namespace fl::auth
