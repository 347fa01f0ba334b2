// The request-signing scheme "fl-request-v3": how an enrolled client proves
// that it sent a request, shared by the signer (SDK) and the verifier (server).
//
// A client enrols with an Ed25519 identity key and learns the coordinator's
// audience (EnrollResponse.audience). Every client request then carries five
// headers:
//
//   X-FL-Client:    the client id, decimal (no sign, no leading zeros but "0")
//   X-FL-Timestamp: the sender's clock, unix milliseconds, decimal
//   X-FL-Nonce:     16 random bytes as 32 lowercase hex characters
//   X-FL-Body-Hash: BLAKE3(body), 32 bytes, as 64 lowercase hex characters
//   X-FL-Signature: Ed25519 signature (RFC 8032) as 128 lowercase hex characters
//
// over the message
//
//   "fl-request-v3\n" AUDIENCE "\n" METHOD "\n" PATH_WITH_QUERY "\n"
//   TIMESTAMP "\n" NONCE "\n" BODY_HASH
//
// where AUDIENCE is the coordinator's id, METHOD the upper-case verb,
// PATH_WITH_QUERY the request target exactly as sent on the request line, and
// TIMESTAMP, NONCE and BODY_HASH the header values byte for byte.
//
// Why each part: the audience stops a request signed for one coordinator
// being replayed at another that knows the same client key; method and target
// stop a signature for one endpoint being used at another; the timestamp
// bounds how long a captured request stays valid, and the nonce (remembered
// by the server for that long) stops replays inside that time. The body is
// bound through its declared hash, which travels in a header, so the server
// verifies who sent a request from its header alone, before it reads (and
// pays for) a body of up to 64 MiB; it then refuses a body whose hash differs
// from the declared one. The client id is not in the message because the key
// that verifies the signature is looked up by it: a request carrying another
// client's id fails verification.
//
// Why BLAKE3 for the body (v3; v2 used BLAKE2b-256): the server hashes every
// byte of every upload before it may use it, and a masked input is megabytes.
// libsodium's BLAKE2b does 0.8 GB/s on one core of this project's machine,
// which alone held the coordinator's ingest under 0.8 GB per CPU-second;
// BLAKE3 (same security target, 128-bit collision resistance) does 8 GB/s
// there with AVX-512 and hashes as the body streams in (BodyHasher). The
// device signing its upload gains the same.
//
// v1 (no audience, hash not in a header) and v2 (BLAKE2b body hash) are not
// accepted: every SDK enrols again when it starts, and learns the audience
// then; a v2 signature fails verification.
//
// Not for: administrators (they use a bearer token, see
// coordinator/http/auth/admin_credential.h), or confidentiality (TLS's job).
//
// Thread-safety: pure functions and constants.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/bytes.h"

namespace fl::auth {

inline constexpr std::string_view kClientHeader = "X-FL-Client";
inline constexpr std::string_view kTimestampHeader = "X-FL-Timestamp";
inline constexpr std::string_view kNonceHeader = "X-FL-Nonce";
inline constexpr std::string_view kBodyHashHeader = "X-FL-Body-Hash";
inline constexpr std::string_view kSignatureHeader = "X-FL-Signature";
inline constexpr std::string_view kSchemeLabel = "fl-request-v3";

inline constexpr size_t kNonceBytes = 16;
inline constexpr size_t kNonceHexChars = 2 * kNonceBytes;
inline constexpr size_t kBodyHashHexChars = 64;
inline constexpr size_t kSignatureHexChars = 128;

// Wall-clock time in unix milliseconds. Injected everywhere so tests can set it.
using UnixMillisClock = std::function<int64_t()>;
int64_t system_unix_millis();

// BLAKE3 (32 bytes) of a body: what X-FL-Body-Hash declares, and what the
// server compares the body it reads with.
crypto::Key32 body_hash(std::string_view body);

// The same digest over a body that arrives in pieces: update() with each
// piece in order, then finish() once. The server hashes each read as it
// arrives, while the bytes are still in cache.
// Thread-safety: a value; one thread at a time.
class BodyHasher {
 public:
  BodyHasher();
  ~BodyHasher();
  BodyHasher(BodyHasher&&) noexcept;
  BodyHasher& operator=(BodyHasher&&) noexcept;
  void update(std::string_view piece);
  crypto::Key32 finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};
// The same as 64 lowercase hex characters (the header's value).
std::string body_hash_hex(std::string_view body);

// The exact bytes that are signed (see the paragraph above). `body_hash_hex`
// is the X-FL-Body-Hash value.
std::string canonical_request_message(std::string_view audience, std::string_view method,
                                      std::string_view target, std::string_view timestamp,
                                      std::string_view nonce, std::string_view body_hash_hex);

}  // namespace fl::auth
