#include "coordinator/http/auth/request_authenticator.h"

#include <algorithm>
#include <limits>
#include <string>

#include "crypto/ed25519.h"

namespace fl::auth {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status missing(std::string_view header) {
  return PermissionDenied("missing header " + std::string(header));
}

Status malformed(std::string_view header, std::string_view expected) {
  return PermissionDenied("malformed header " + std::string(header) + ": expected " +
                          std::string(expected));
}

}  // namespace

std::optional<uint64_t> parse_decimal_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

RequestAuthenticator::RequestAuthenticator(PublicKeyLookup lookup, UnixMillisClock clock,
                                           AuthenticatorOptions options)
    : lookup_(std::move(lookup)),
      clock_(std::move(clock)),
      options_(std::move(options)),
      started_at_ms_(clock_()),
      nonces_(options_.window_ms, options_.nonce_capacity, options_.nonces_per_client) {}

Result<AuthenticatedRequest> RequestAuthenticator::authenticate(
    const SignedRequest& request) const {
  if (options_.audience.empty())
    return PermissionDenied("client authentication is not configured: no audience");
  if (!request.client) return missing(kClientHeader);
  if (!request.timestamp) return missing(kTimestampHeader);
  if (!request.nonce) return missing(kNonceHeader);
  if (!request.body_hash) return missing(kBodyHashHeader);
  if (!request.signature) return missing(kSignatureHeader);

  const std::optional<uint64_t> client_id = parse_decimal_u64(*request.client);
  if (!client_id) return malformed(kClientHeader, "a decimal client id");
  const std::optional<uint64_t> timestamp = parse_decimal_u64(*request.timestamp);
  if (!timestamp || *timestamp > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return malformed(kTimestampHeader, "unix milliseconds in decimal");
  if (request.nonce->size() != kNonceHexChars || !is_lower_hex(*request.nonce))
    return malformed(kNonceHeader, "32 lowercase hex characters");
  if (request.body_hash->size() != kBodyHashHexChars || !is_lower_hex(*request.body_hash))
    return malformed(kBodyHashHeader, "64 lowercase hex characters");
  if (request.signature->size() != kSignatureHexChars || !is_lower_hex(*request.signature))
    return malformed(kSignatureHeader, "128 lowercase hex characters");

  const int64_t now = clock_();
  const int64_t ts = static_cast<int64_t>(*timestamp);
  // Written as comparisons of in-range values so neither side can overflow.
  if (ts < now - options_.window_ms)
    return PermissionDenied("stale request: timestamp " + std::to_string(ts) + " ms is more than " +
                            std::to_string(options_.window_ms) + " ms behind the server clock " +
                            std::to_string(now));
  if (ts > now + options_.max_future_ms)
    return PermissionDenied("stale request: timestamp " + std::to_string(ts) + " ms is more than " +
                            std::to_string(options_.max_future_ms) +
                            " ms ahead of the server clock " + std::to_string(now));
  if (ts < started_at_ms_)
    return PermissionDenied("stale request: signed at " + std::to_string(ts) +
                            " ms, before the server started at " + std::to_string(started_at_ms_) +
                            " ms; sign it again");

  const std::optional<crypto::Key32> public_key = lookup_(*client_id);
  if (!public_key) return PermissionDenied("unknown client " + std::to_string(*client_id));

  crypto::Bytes signature_bytes;
  crypto::Sig64 signature;
  if (!crypto::from_hex(std::string(*request.signature), signature_bytes) ||
      signature_bytes.size() != signature.size())
    return malformed(kSignatureHeader, "128 lowercase hex characters");
  std::copy(signature_bytes.begin(), signature_bytes.end(), signature.begin());
  AuthenticatedRequest out;
  out.client_id = *client_id;
  crypto::Bytes hash_bytes;
  if (!crypto::from_hex(std::string(*request.body_hash), hash_bytes) ||
      hash_bytes.size() != out.declared_body_hash.size())
    return malformed(kBodyHashHeader, "64 lowercase hex characters");
  std::copy(hash_bytes.begin(), hash_bytes.end(), out.declared_body_hash.begin());

  const std::string message =
      canonical_request_message(options_.audience, request.method, request.target,
                                *request.timestamp, *request.nonce, *request.body_hash);
  if (!crypto::ed25519_verify(
          *public_key,
          crypto::ByteSpan(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
          signature))
    return PermissionDenied("bad signature for client " + std::to_string(*client_id) +
                            " (signed for another coordinator, or altered)");

  switch (nonces_.check_and_insert(*client_id, *request.nonce, ts, now)) {
    case NonceCache::Outcome::kFresh:
      return out;
    case NonceCache::Outcome::kReplayed:
      return PermissionDenied("replayed nonce");
    case NonceCache::Outcome::kBelowFloor:
      // This client filled its share of the replay cache, which can no longer
      // vouch for its requests this old; a retry with a fresh timestamp is
      // accepted.
      return PermissionDenied("stale request: too old for this client's saturated replay cache");
  }
  return Internal("unreachable");
}

}  // namespace fl::auth
