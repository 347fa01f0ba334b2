// The administrator credential: `Authorization: Bearer <token>` compared with a
// configured token.
//
// Only BLAKE2b-256(token) is kept in memory, so a heap dump or core file does
// not reveal the token, and the comparison is of two fixed-size hashes in
// constant time (sodium_memcmp), so response timing says nothing about how
// many leading characters of a guess were right.
//
// Not for: clients (they sign requests, see request_authenticator.h).
//
// Thread-safety: immutable after construction; thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "base/status.h"
#include "crypto/bytes.h"

namespace fl::auth {

class AdminCredential {
 public:
  // InvalidArgument for a token shorter than 16 characters: a short admin
  // token is guessable online.
  static Result<AdminCredential> from_token(std::string_view token);

  // Checks an Authorization header value. PermissionDenied("missing bearer
  // token") or PermissionDenied("wrong admin token").
  Status check(std::optional<std::string_view> authorization_header) const;

 private:
  explicit AdminCredential(const crypto::Key32& token_hash) : token_hash_(token_hash) {}
  crypto::Key32 token_hash_;
};

}  // namespace fl::auth
