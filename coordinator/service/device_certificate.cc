#include "coordinator/service/device_certificate.h"

#include <algorithm>
#include <string_view>

namespace fl::coordinator {
namespace {

constexpr std::string_view kDomain = "fl-device-certificate-v1";

void append_le(crypto::Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void append(crypto::Bytes& out, const std::string& bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

std::string as_string(const crypto::Key32& key) { return std::string(key.begin(), key.end()); }

crypto::Key32 as_key(const std::string& bytes) {
  crypto::Key32 key{};
  std::copy_n(bytes.begin(), key.size(), key.begin());
  return key;
}

}  // namespace

crypto::Bytes device_certificate_signing_input(const proto::DeviceCertificate& c) {
  crypto::Bytes out(kDomain.begin(), kDomain.end());
  out.push_back(0);
  append(out, c.identity_public_key());
  append_le(out, static_cast<uint64_t>(c.not_after_ms()), 8);
  append(out, c.operator_key_id());
  append_le(out, c.label().size(), 4);
  append(out, c.label());
  return out;
}

Result<proto::DeviceCertificate> certify_device(const crypto::Ed25519KeyPair& operator_key,
                                                const crypto::Key32& identity, int64_t not_after_ms,
                                                const std::string& label) {
  if (label.size() > kMaxCertificateLabelBytes)
    return InvalidArgument("a certificate label has at most " +
                           std::to_string(kMaxCertificateLabelBytes) + " bytes");
  proto::DeviceCertificate c;
  c.set_identity_public_key(as_string(identity));
  c.set_not_after_ms(not_after_ms);
  c.set_label(label);
  c.set_operator_key_id(as_string(operator_key.public_key));
  const crypto::Sig64 signature =
      crypto::ed25519_sign(operator_key, device_certificate_signing_input(c));
  c.set_signature(std::string(signature.begin(), signature.end()));
  return c;
}

Status verify_device_certificate(const proto::DeviceCertificate& c,
                                 const std::vector<crypto::Key32>& operator_keys,
                                 const crypto::Key32& enrolling_key, int64_t now_ms) {
  if (c.identity_public_key().size() != 32)
    return InvalidArgument("device_certificate.identity_public_key must be 32 bytes");
  if (c.operator_key_id().size() != 32)
    return InvalidArgument("device_certificate.operator_key_id must be 32 bytes");
  if (c.signature().size() != 64)
    return InvalidArgument("device_certificate.signature must be 64 bytes");
  if (c.label().size() > kMaxCertificateLabelBytes)
    return InvalidArgument("device_certificate.label is longer than " +
                           std::to_string(kMaxCertificateLabelBytes) + " bytes");
  const crypto::Key32 operator_key = as_key(c.operator_key_id());
  if (std::find(operator_keys.begin(), operator_keys.end(), operator_key) == operator_keys.end())
    return PermissionDenied(
        "the device certificate's operator key is not one this coordinator trusts");
  crypto::Sig64 signature{};
  std::copy_n(c.signature().begin(), signature.size(), signature.begin());
  if (!crypto::ed25519_verify(operator_key, device_certificate_signing_input(c), signature))
    return PermissionDenied("the device certificate's signature does not verify");
  if (as_key(c.identity_public_key()) != enrolling_key)
    return PermissionDenied("the device certificate is for another identity key");
  if (now_ms > c.not_after_ms())
    return PermissionDenied("the device certificate expired at " +
                            std::to_string(c.not_after_ms()) + " (unix ms)");
  return Status::Ok();
}

}  // namespace fl::coordinator
