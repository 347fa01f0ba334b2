// Verifies fl-request-v3 signed requests (protocol/signature_scheme.h) from
// their headers alone and returns who sent them and the body hash they
// declare; the caller checks the body against that hash once it has read it.
//
// Checks, in this order (cheap and key-independent first, the nonce last so
// only correctly signed requests can occupy the replay cache):
//   1. the five X-FL-* headers are present and well formed ("missing header",
//      "malformed header");
//   2. the timestamp is at most `window_ms` behind and `max_future_ms` ahead
//      of the injected clock ("stale request");
//   3. the timestamp is not before this authenticator was made ("stale
//      request: signed before the server started"), see below;
//   4. the client id resolves to a public key ("unknown client");
//   5. the Ed25519 signature over the message for this coordinator's
//      audience verifies ("bad signature");
//   6. the nonce has not been accepted before ("replayed nonce"), and the
//      timestamp is above the client's replay floor (nonce_cache.h).
// Every rejection is a PermissionDenied Status whose message names the reason;
// the HTTP layer answers 401 with it.
//
// Restarts: the replay cache lives in memory and starts empty, so a request
// accepted just before a restart would be accepted again just after it. To
// stop that, the authenticator reads its clock once when it is made and
// refuses every timestamp before that instant: nothing signed before a
// (re)start is accepted after it. The cost is that, for the first seconds
// after a start, a client whose clock runs behind the server's is refused
// until its clock passes the start time (the SDK re-signs every retry).
//
// Not for: administrators (admin_credential.h). It does not decide what a
// client may do, only who it is.
//
// Thread-safety: thread-safe if the injected key lookup and clock are.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "coordinator/http/auth/nonce_cache.h"
#include "crypto/bytes.h"
#include "protocol/signature_scheme.h"

namespace fl::auth {

// The parts of an HTTP request the scheme covers: the request line and the
// X-FL-* header values, nullopt when absent. Never the body. Views must
// outlive the authenticate() call.
struct SignedRequest {
  std::string_view method;
  std::string_view target;  // path with query, as on the request line
  std::optional<std::string_view> client;
  std::optional<std::string_view> timestamp;
  std::optional<std::string_view> nonce;
  std::optional<std::string_view> body_hash;
  std::optional<std::string_view> signature;
};

// Who sent an authenticated request, and the digest (auth::body_hash) its signed
// header declares for the body (the body itself is not yet verified).
struct AuthenticatedRequest {
  uint64_t client_id = 0;
  crypto::Key32 declared_body_hash{};
};

using PublicKeyLookup = std::function<std::optional<crypto::Key32>(uint64_t client_id)>;

struct AuthenticatorOptions {
  // This coordinator's id, which clients sign for (EnrollResponse.audience).
  // Must not be empty: an authenticator without one refuses every request.
  std::string audience;
  // How far behind the server clock a timestamp may be. Five minutes, as in
  // AWS SigV4 and Kerberos: wide enough for unsynchronised phone clocks,
  // short enough to bound replays.
  int64_t window_ms = 5 * 60 * 1000;
  // How far ahead. Short: a request dated into the future stays valid (and
  // its nonce remembered) that much longer, so a wide bound only helps
  // someone filling the replay cache.
  int64_t max_future_ms = 60 * 1000;
  // Remembered nonces overall, ~250 B each (tree nodes and the key string),
  // so 256 Ki entries is ~64 MB at most. A nonce is kept for up to
  // window + max_future (6 min); at ~10 signed requests per client per round
  // that covers ~25k active clients before the flooding-client eviction
  // starts refusing old ones.
  size_t nonce_capacity = size_t{1} << 18;
  // Remembered nonces per client: far above an honest client's ~10 per
  // round, so only a client sending thousands of requests in a window ever
  // reaches it (and then only its own old requests are refused).
  size_t nonces_per_client = 4096;
};

class RequestAuthenticator {
 public:
  // Reads `clock` once: timestamps before that instant are refused.
  RequestAuthenticator(PublicKeyLookup lookup, UnixMillisClock clock, AuthenticatorOptions options);

  // The authenticated client and declared body hash, or PermissionDenied with
  // the reason.
  Result<AuthenticatedRequest> authenticate(const SignedRequest& request) const;

  size_t remembered_nonces() const { return nonces_.size(); }
  int64_t started_at_ms() const { return started_at_ms_; }

 private:
  PublicKeyLookup lookup_;
  UnixMillisClock clock_;
  AuthenticatorOptions options_;
  int64_t started_at_ms_;
  mutable NonceCache nonces_;
};

// Strict decimal parse: digits only, no sign, no leading zeros, no overflow.
std::optional<uint64_t> parse_decimal_u64(std::string_view text);

}  // namespace fl::auth
