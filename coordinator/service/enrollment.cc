#include "coordinator/service/enrollment.h"

#include <algorithm>

#include "coordinator/http/response.h"
#include "coordinator/service/device_certificate.h"
#include "crypto/bytes.h"
#include "crypto/kdf.h"
#include "proto/coordinator.pb.h"

namespace fl::coordinator {
namespace {

using http::Request;
using http::Response;

// Labels are for people reading dashboards; a long one is cut, not refused.
constexpr size_t kMaxLabelBytes = 200;

Response refused(const Status& status) { return http::json_error(status); }

// What the current mode wants, for the 403 a device without it gets.
std::string what_mode_wants(EnrollmentMode mode) {
  return mode == EnrollmentMode::kToken
             ? "this coordinator enrols devices with a one-time device token (device_token); ask "
               "its operator for one"
             : "this coordinator enrols devices with an operator-signed device certificate "
               "(device_certificate); ask its operator for one";
}

class EnrollHandler {
 public:
  EnrollHandler(EnrollmentConfig config, Store& store, std::function<int64_t()> now_ms,
                std::string audience)
      : config_(std::move(config)),
        store_(store),
        now_ms_(std::move(now_ms)),
        audience_(std::move(audience)) {}

  Response operator()(const Request& r) const {
    proto::EnrollRequest req;
    if (!req.ParseFromString(r.body))
      return http::json_error(400, "malformed protobuf body: expected EnrollRequest");
    if (req.identity_public_key().size() != 32)
      return http::json_error(400, "identity_public_key must be 32 bytes (Ed25519)");
    ClientPublicKey key;
    std::copy(req.identity_public_key().begin(), req.identity_public_key().end(), key.begin());
    std::optional<std::string> label;
    if (!req.label().empty()) label = req.label().substr(0, kMaxLabelBytes);

    Result<uint64_t> id = InvalidArgument("unreachable");
    switch (config_.mode) {
      case EnrollmentMode::kToken: {
        if (req.device_token().empty()) return http::json_error(403, what_mode_wants(config_.mode));
        auto hash = hash_device_token(req.device_token());
        if (!hash.ok()) return http::json_error(400, "device_token: " + hash.status().message());
        id = store_.enroll_with_token(*hash, key, now_ms_(), label);
        break;
      }
      case EnrollmentMode::kCertificate: {
        if (!req.has_device_certificate())
          return http::json_error(403, what_mode_wants(config_.mode));
        crypto::Key32 identity;
        std::copy(key.begin(), key.end(), identity.begin());
        if (Status st = verify_device_certificate(req.device_certificate(), config_.operator_keys,
                                                  identity, now_ms_());
            !st.ok())
          return refused(st);
        id = enroll_or_find(key, label);
        break;
      }
      case EnrollmentMode::kOpen:
        id = enroll_or_find(key, label);
        break;
    }
    if (!id.ok()) return refused(id.status());
    proto::EnrollResponse resp;
    resp.set_client_id(*id);
    resp.set_audience(audience_);  // what the device's signatures must cover from now on
    return http::protobuf_response(resp.SerializeAsString());
  }

 private:
  // A key enrolls once; enrolling it again (a device restarting) returns its
  // id, unless it was revoked.
  Result<uint64_t> enroll_or_find(const ClientPublicKey& key,
                                  const std::optional<std::string>& label) const {
    auto id = store_.enroll(key, now_ms_(), label);
    if (id.ok() || id.status().code() != ErrorCode::kAlreadyExists) return id;
    auto existing = store_.find_client_by_key(key);
    if (!existing.ok()) return existing.status();
    if (existing->revoked_at_ms) return PermissionDenied("this client was revoked");
    return existing->client_id;
  }

  const EnrollmentConfig config_;
  Store& store_;
  const std::function<int64_t()> now_ms_;
  const std::string audience_;
};

}  // namespace

Result<DeviceTokenHash> hash_device_token(std::string_view token) {
  crypto::Bytes bytes;
  if (token.size() != 2 * kDeviceTokenBytes || !crypto::from_hex(std::string(token), bytes))
    return InvalidArgument("a device token is " + std::to_string(2 * kDeviceTokenBytes) +
                           " hex digits");
  const DeviceTokenHash hash = crypto::blake2b_256(bytes);
  crypto::wipe(bytes.data(), bytes.size());
  return hash;
}

Result<std::vector<std::string>> issue_device_tokens(Store& store, crypto::Rng& rng, size_t count,
                                                     int64_t issued_at_ms,
                                                     std::optional<std::string> label) {
  if (count == 0 || count > 100000)
    return InvalidArgument("the number of tokens must be in [1, 100000]");
  std::vector<std::string> tokens;
  std::vector<DeviceTokenHash> hashes;
  tokens.reserve(count);
  hashes.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    crypto::Secret32 secret;
    rng.fill(secret.mutable_bytes());
    tokens.push_back(crypto::to_hex(secret.bytes()));
    hashes.push_back(crypto::blake2b_256(secret.bytes()));
  }
  if (auto ids = store.add_device_tokens(hashes, issued_at_ms, std::move(label)); !ids.ok()) {
    for (std::string& t : tokens) crypto::wipe(t.data(), t.size());
    return ids.status();
  }
  return tokens;
}

Status add_enroll_route(http::Router& router, const EnrollmentConfig& config, Store& store,
                        std::function<int64_t()> now_ms, std::string audience) {
  // Unsigned (the device has no id yet) but rate-limited per IP, with a
  // body far smaller than any legitimate one can grow.
  return router.add("POST", "/v1/enroll",
                    EnrollHandler(config, store, std::move(now_ms), std::move(audience)),
                    {.max_body_bytes = 4096, .auth_class = "", .rate_limited = true});
}

}  // namespace fl::coordinator
