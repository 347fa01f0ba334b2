// POST /v1/enroll and the device tokens it accepts: who may become a client
// (DESIGN.md section 9, "Outsider: cannot enrol at will").
//
// Without this an outsider enrols as many identities as it likes and can
// fill a round's cohort with them, isolating one honest client's update (the
// n-1 attack). enrollment.mode (config.h) decides what a device presents:
//   token        a one-time device token (issue_device_tokens). The store keeps
//                only its BLAKE2b-256 hash and marks it spent by the new
//                client in the enrolment's transaction; the same identity
//                presenting it again (a restart) gets its id back, anyone
//                else is refused.
//   certificate  a DeviceCertificate (device_certificate.h) for the enrolling
//                identity key, signed by a configured operator key, unexpired.
//   open         nothing; the service warns at every start.
// Refusals are 403 with a message saying what was wrong; malformed requests
// 400. A refused request changes no stored state. A revoked client cannot
// enrol again in any mode.
//
// Not for: authenticating enrolled clients' requests (http/auth) or cohort
// selection (rounds/).
//
// Thread-safety: the route's handler is safe to run on any io thread (the
// store is thread-safe); the other functions are pure or use the store only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/http/router.h"
#include "coordinator/service/config.h"
#include "coordinator/store/store.h"
#include "crypto/rng.h"

namespace fl::coordinator {

// A device token is 32 random bytes written as 64 lowercase hex digits.
inline constexpr size_t kDeviceTokenBytes = 32;

// The BLAKE2b-256 hash the store keeps for a token's text. InvalidArgument
// unless `token` is 64 hex digits.
Result<DeviceTokenHash> hash_device_token(std::string_view token);

// Draws `count` fresh tokens from `rng`, records their hashes in `store` (one
// transaction) and returns the tokens' text: the only copy there will be.
// InvalidArgument for a count of 0 or above 100000.
Result<std::vector<std::string>> issue_device_tokens(Store& store, crypto::Rng& rng, size_t count,
                                                     int64_t issued_at_ms,
                                                     std::optional<std::string> label);

// Adds POST /v1/enroll to `router`, enrolling into `store` as `config` says;
// `now_ms` is the clock for enrolment times and certificate expiry. The
// response tells the device `audience`, the coordinator id its request
// signatures must cover (fl-request-v3).
Status add_enroll_route(http::Router& router, const EnrollmentConfig& config, Store& store,
                        std::function<int64_t()> now_ms, std::string audience);

}  // namespace fl::coordinator
