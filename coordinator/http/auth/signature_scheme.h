// The request-signing scheme "fl-request-v1": how an enrolled client proves
// that it sent a request, shared by the signer (SDK) and the verifier (server).
//
// A client enrols with an Ed25519 identity key. Every client request then
// carries four headers:
//
//   X-FL-Client:    the client id, decimal (no sign, no leading zeros but "0")
//   X-FL-Timestamp: the sender's clock, unix milliseconds, decimal
//   X-FL-Nonce:     16 random bytes as 32 lowercase hex characters
//   X-FL-Signature: Ed25519 signature (RFC 8032) as 128 lowercase hex characters
//
// over the message
//
//   "fl-request-v1\n" METHOD "\n" PATH_WITH_QUERY "\n" TIMESTAMP "\n" NONCE "\n"
//   hex(BLAKE2b-256(body))
//
// where METHOD is the upper-case verb, PATH_WITH_QUERY the request target
// exactly as sent on the request line, TIMESTAMP and NONCE the header values
// byte for byte, and hex lower case. Binding the body through its hash keeps
// the signed message small for 64 MiB model updates; binding method and target
// stops a signature for one endpoint being replayed at another; the timestamp
// bounds how long a captured request stays valid, and the nonce (remembered by
// the server for that long) stops replays inside the window. The client id is
// not in the message because the key that verifies the signature is looked up
// by it: a request carrying another client's id fails verification.
//
// Not for: administrators (they use a bearer token, see admin_credential.h),
// or confidentiality (that is TLS's job).
//
// Thread-safety: pure functions and constants.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace fl::auth {

inline constexpr std::string_view kClientHeader = "X-FL-Client";
inline constexpr std::string_view kTimestampHeader = "X-FL-Timestamp";
inline constexpr std::string_view kNonceHeader = "X-FL-Nonce";
inline constexpr std::string_view kSignatureHeader = "X-FL-Signature";
inline constexpr std::string_view kSchemeLabel = "fl-request-v1";

inline constexpr size_t kNonceBytes = 16;
inline constexpr size_t kNonceHexChars = 2 * kNonceBytes;
inline constexpr size_t kSignatureHexChars = 128;

// Wall-clock time in unix milliseconds. Injected everywhere so tests can set it.
using UnixMillisClock = std::function<int64_t()>;
int64_t system_unix_millis();

// The exact bytes that are signed (see the paragraph above).
std::string canonical_request_message(std::string_view method, std::string_view target,
                                      std::string_view timestamp, std::string_view nonce,
                                      std::string_view body);

}  // namespace fl::auth
