// Verifies fl-request-v1 signed requests (signature_scheme.h) and returns the
// authenticated client id.
//
// Checks, in this order (cheap and key-independent first, the nonce last so
// only correctly signed requests can occupy the replay cache):
//   1. the four X-FL-* headers are present and well formed ("missing header",
//      "malformed header");
//   2. the timestamp is within +-window of the injected clock ("stale request");
//   3. the client id resolves to a public key ("unknown client");
//   4. the Ed25519 signature verifies ("bad signature");
//   5. the nonce has not been accepted before inside the window ("replayed nonce").
// Every rejection is a PermissionDenied Status whose message names the reason;
// the HTTP layer answers 401 with it.
//
// Not for: administrators (admin_credential.h). It does not decide what a
// client may do, only who it is.
//
// Thread-safety: thread-safe if the injected key lookup and clock are.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "base/status.h"
#include "coordinator/http/auth/nonce_cache.h"
#include "coordinator/http/auth/signature_scheme.h"
#include "crypto/bytes.h"

namespace fl::auth {

// The parts of an HTTP request the scheme covers. Header values are nullopt
// when the header is absent. Views must outlive the authenticate() call.
struct SignedRequest {
  std::string_view method;
  std::string_view target;  // path with query, as on the request line
  std::string_view body;
  std::optional<std::string_view> client;
  std::optional<std::string_view> timestamp;
  std::optional<std::string_view> nonce;
  std::optional<std::string_view> signature;
};

using PublicKeyLookup = std::function<std::optional<crypto::Key32>(uint64_t client_id)>;

struct AuthenticatorOptions {
  // Accepted clock skew either way. Five minutes, as in AWS SigV4 and Kerberos:
  // wide enough for unsynchronised phone clocks, short enough to bound replays.
  int64_t window_ms = 5 * 60 * 1000;
  // Remembered nonces, ~200 B each (two tree nodes and the key string), so
  // 256 Ki entries is ~50 MB at most. A nonce is kept for up to two windows
  // (10 min); at ~10 signed requests per client per round that covers ~25k
  // clients per 10 minutes before the eviction floor starts refusing old ones.
  size_t nonce_capacity = size_t{1} << 18;
};

class RequestAuthenticator {
 public:
  RequestAuthenticator(PublicKeyLookup lookup, UnixMillisClock clock,
                       AuthenticatorOptions options = {});

  // The authenticated client id, or PermissionDenied with the reason.
  Result<uint64_t> authenticate(const SignedRequest& request) const;

  size_t remembered_nonces() const { return nonces_.size(); }

 private:
  PublicKeyLookup lookup_;
  UnixMillisClock clock_;
  AuthenticatorOptions options_;
  mutable NonceCache nonces_;
};

// Strict decimal parse: digits only, no sign, no leading zeros, no overflow.
std::optional<uint64_t> parse_decimal_u64(std::string_view text);

}  // namespace fl::auth
