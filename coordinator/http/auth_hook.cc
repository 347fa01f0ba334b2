#include "coordinator/http/auth_hook.h"

namespace fl::http {

auth::SignedRequest signed_request_view(const Request& request) {
  auth::SignedRequest view;
  view.method = request.method;
  view.target = request.target;
  view.body = request.body;
  view.client = request.headers.get(auth::kClientHeader);
  view.timestamp = request.headers.get(auth::kTimestampHeader);
  view.nonce = request.headers.get(auth::kNonceHeader);
  view.signature = request.headers.get(auth::kSignatureHeader);
  return view;
}

Authorizer make_authorizer(std::shared_ptr<const auth::RequestAuthenticator> clients,
                           std::shared_ptr<const auth::AdminCredential> admin) {
  return [clients = std::move(clients), admin = std::move(admin)](
             Request& request, std::string_view auth_class) -> Status {
    if (auth_class == kClientAuthClass && clients) {
      Result<uint64_t> client_id = clients->authenticate(signed_request_view(request));
      if (!client_id.ok()) return client_id.status();
      request.client_id = *client_id;
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
