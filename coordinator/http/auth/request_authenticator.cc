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
      options_(options),
      nonces_(options.window_ms, options.nonce_capacity) {}

Result<uint64_t> RequestAuthenticator::authenticate(const SignedRequest& request) const {
  if (!request.client) return missing(kClientHeader);
  if (!request.timestamp) return missing(kTimestampHeader);
  if (!request.nonce) return missing(kNonceHeader);
  if (!request.signature) return missing(kSignatureHeader);

  const std::optional<uint64_t> client_id = parse_decimal_u64(*request.client);
  if (!client_id) return malformed(kClientHeader, "a decimal client id");
  const std::optional<uint64_t> timestamp = parse_decimal_u64(*request.timestamp);
  if (!timestamp || *timestamp > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return malformed(kTimestampHeader, "unix milliseconds in decimal");
  if (request.nonce->size() != kNonceHexChars || !is_lower_hex(*request.nonce))
    return malformed(kNonceHeader, "32 lowercase hex characters");
  if (request.signature->size() != kSignatureHexChars || !is_lower_hex(*request.signature))
    return malformed(kSignatureHeader, "128 lowercase hex characters");

  const int64_t now = clock_();
  const int64_t ts = static_cast<int64_t>(*timestamp);
  // Written as two comparisons so neither side can overflow.
  if (ts < now - options_.window_ms || ts > now + options_.window_ms)
    return PermissionDenied("stale request: timestamp " + std::to_string(ts) + " ms is outside +-" +
                            std::to_string(options_.window_ms) + " ms of the server clock " +
                            std::to_string(now));

  const std::optional<crypto::Key32> public_key = lookup_(*client_id);
  if (!public_key) return PermissionDenied("unknown client " + std::to_string(*client_id));

  crypto::Bytes signature_bytes;
  crypto::Sig64 signature;
  if (!crypto::from_hex(std::string(*request.signature), signature_bytes) ||
      signature_bytes.size() != signature.size())
    return malformed(kSignatureHeader, "128 lowercase hex characters");
  std::copy(signature_bytes.begin(), signature_bytes.end(), signature.begin());

  const std::string message = canonical_request_message(
      request.method, request.target, *request.timestamp, *request.nonce, request.body);
  if (!crypto::ed25519_verify(
          *public_key,
          crypto::ByteSpan(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
          signature))
    return PermissionDenied("bad signature for client " + std::to_string(*client_id));

  switch (nonces_.check_and_insert(*client_id, *request.nonce, ts, now)) {
    case NonceCache::Outcome::kFresh:
      return *client_id;
    case NonceCache::Outcome::kReplayed:
      return PermissionDenied("replayed nonce");
    case NonceCache::Outcome::kBelowFloor:
      // The replay cache is saturated and can no longer vouch for requests this
      // old; a retry with a fresh timestamp is accepted.
      return PermissionDenied("stale request: too old for the saturated replay cache");
  }
  return Internal("unreachable");
}

}  // namespace fl::auth
