// Produces the fl-request-v3 headers (signature_scheme.h) for one client's
// outgoing requests to one coordinator. Used by the SDK transport on every
// attempt, so a retried request gets a fresh timestamp and nonce and is not
// refused as a replay.
//
// Not for: verifying (coordinator/http/auth/request_authenticator.h) or
// administrators.
//
// Thread-safety: not thread-safe (it owns an Rng); one signer per SDK thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/rng.h"
#include "protocol/signature_scheme.h"

namespace fl::auth {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class RequestSigner {
 public:
  // `audience` is the coordinator's id from EnrollResponse.audience: the
  // signatures are valid there only. `rng` draws the nonces
  // (crypto::SystemRng in production, SeededRng in tests).
  RequestSigner(uint64_t client_id, crypto::Ed25519KeyPair key, std::string audience,
                UnixMillisClock clock, std::unique_ptr<crypto::Rng> rng);

  // The five X-FL-* headers for a request; `target` is path plus query exactly
  // as it will appear on the request line.
  HeaderList sign(std::string_view method, std::string_view target, std::string_view body);

  uint64_t client_id() const { return client_id_; }
  const std::string& audience() const { return audience_; }

 private:
  uint64_t client_id_;
  crypto::Ed25519KeyPair key_;
  std::string audience_;
  UnixMillisClock clock_;
  std::unique_ptr<crypto::Rng> rng_;
};

}  // namespace fl::auth
