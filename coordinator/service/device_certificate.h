// Operator-signed device certificates (enrollment.mode: certificate): an
// operator key, kept offline, signs "identity key K belongs to one of our
// devices until T"; the coordinator enrols K only when such a certificate
// verifies under a key named in enrollment.operator_keys (DESIGN.md
// section 9: an outsider cannot enrol at will).
//
// The signature covers a fixed, domain-separated encoding, not protobuf bytes
// (protobuf serialisation is not canonical, and the domain string keeps a
// certificate signature from ever verifying as a request signature):
//   "fl-device-certificate-v1" 0x00 || identity_public_key (32)
//   || not_after_ms (int64, little-endian) || operator_key_id (32)
//   || label length (uint32, little-endian) || label bytes
//
// Not for: revocation (revoke the enrolled client: `devices revoke`) or
// chains of trust; one level, operator -> device.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/ed25519.h"
#include "proto/coordinator.pb.h"

namespace fl::coordinator {

// Labels longer than this are refused: a certificate is small by design.
inline constexpr size_t kMaxCertificateLabelBytes = 200;

crypto::Bytes device_certificate_signing_input(const proto::DeviceCertificate& certificate);

// Signs `identity` with `operator_key`. InvalidArgument for a label over
// kMaxCertificateLabelBytes.
Result<proto::DeviceCertificate> certify_device(const crypto::Ed25519KeyPair& operator_key,
                                                const crypto::Key32& identity, int64_t not_after_ms,
                                                const std::string& label);

// Checks that `certificate` certifies `enrolling_key`, was signed by one of
// `operator_keys` and has not expired at `now_ms`. InvalidArgument for a
// malformed certificate (wrong field sizes); PermissionDenied for a
// well-formed one that does not allow this enrolment. Messages say which.
Status verify_device_certificate(const proto::DeviceCertificate& certificate,
                                 const std::vector<crypto::Key32>& operator_keys,
                                 const crypto::Key32& enrolling_key, int64_t now_ms);

}  // namespace fl::coordinator
