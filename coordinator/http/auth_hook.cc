#include "coordinator/http/auth_hook.h"

namespace fl::http {

auth::SignedRequest signed_request_view(const Request& request) {
  auth::SignedRequest view;
  view.method = request.method;
  view.target = request.target;
  view.client = request.headers.get(auth::kClientHeader);
  view.timestamp = request.headers.get(auth::kTimestampHeader);
  view.nonce = request.headers.get(auth::kNonceHeader);
  view.body_hash = request.headers.get(auth::kBodyHashHeader);
  view.signature = request.headers.get(auth::kSignatureHeader);
  return view;
}

Authorizer make_authorizer(std::shared_ptr<const auth::RequestAuthenticator> clients,
                           std::shared_ptr<const auth::AdminCredential> admin) {
  return [clients = std::move(clients), admin = std::move(admin)](
             Request& request, std::string_view auth_class) -> Status {
    if (auth_class == kClientAuthClass && clients) {
      // Headers only: this runs before the body is read, and the server
      // refuses a body whose digest differs from declared_body_hash.
      Result<auth::AuthenticatedRequest> who = clients->authenticate(signed_request_view(request));
      if (!who.ok()) return who.status();
      request.client_id = who->client_id;
      request.declared_body_hash = who->declared_body_hash;
      return Status::Ok();
    }
    if (auth_class == kAdminAuthClass && admin) {
      FL_RETURN_IF_ERROR(admin->check(request.headers.get("Authorization")));
      request.admin = true;
      return Status::Ok();
    }
    return PermissionDenied("no credential accepted for auth class '" + std::string(auth_class) +
                            "'");
  };
}

}  // namespace fl::http
