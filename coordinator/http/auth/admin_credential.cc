#include "coordinator/http/auth/admin_credential.h"
#include "base/ascii.h"

#include <sodium.h>

#include <cctype>

#include "crypto/kdf.h"

namespace fl::auth {
namespace {

crypto::Key32 hash_token(std::string_view token) {
  return crypto::blake2b_256(
      crypto::ByteSpan(reinterpret_cast<const uint8_t*>(token.data()), token.size()));
}

}  // namespace

Result<AdminCredential> AdminCredential::from_token(std::string_view token) {
  if (token.size() < 16)
    return InvalidArgument("admin token must be at least 16 characters, got " +
                           std::to_string(token.size()));
  return AdminCredential(hash_token(token));
}

Status AdminCredential::check(std::optional<std::string_view> authorization_header) const {
  constexpr std::string_view kScheme = "Bearer ";  // RFC 6750: scheme is case-insensitive
  if (!authorization_header || authorization_header->size() <= kScheme.size() ||
      !iequals(authorization_header->substr(0, kScheme.size()), kScheme))
    return PermissionDenied("missing bearer token");
  const crypto::Key32 presented = hash_token(authorization_header->substr(kScheme.size()));
  crypto::ensure_sodium();
  if (sodium_memcmp(presented.data(), token_hash_.data(), presented.size()) != 0)
    return PermissionDenied("wrong admin token");
  return Status::Ok();
}

}  // namespace fl::auth
