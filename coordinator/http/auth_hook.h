// Wires fl_auth into the server: an Authorizer for the two auth classes the
// coordinator's routes use.
//   "client": an fl-request-v3 signed request (request_authenticator.h),
//             verified from the header alone (never reads Request::body); sets
//             Request::client_id and Request::declared_body_hash, which the
//             server checks the body against once it has read it.
//   "admin":  Authorization: Bearer <admin token> (admin_credential.h); sets
//             Request::admin.
// Any other class is refused (fail closed), as is a class whose verifier was
// not configured.
//
// Not for: authorisation decisions (which client may do what): handlers make
// those from client_id.
//
// Thread-safety: the returned Authorizer is thread-safe; the verifiers must
// outlive the server.
#pragma once

#include <memory>
#include <string_view>

#include "coordinator/http/auth/admin_credential.h"
#include "coordinator/http/auth/request_authenticator.h"
#include "coordinator/http/http_server.h"

namespace fl::http {

inline constexpr std::string_view kClientAuthClass = "client";
inline constexpr std::string_view kAdminAuthClass = "admin";

Authorizer make_authorizer(std::shared_ptr<const auth::RequestAuthenticator> clients,
                           std::shared_ptr<const auth::AdminCredential> admin);

// The signed parts of `request` (request line and X-FL-* headers), as views
// into it.
auth::SignedRequest signed_request_view(const Request& request);

}  // namespace fl::http
