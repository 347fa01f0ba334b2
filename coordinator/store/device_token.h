// A one-time enrolment token issued to one device (DESIGN.md section 9,
// "Outsider: cannot enrol at will"). The store keeps only the token's
// BLAKE2b-256 hash: whoever reads the database (a backup, a support bundle)
// learns nothing that enrols. The token itself is printed once, by
// `fl-coordinator devices issue`, and handed to the device.
//
// Lifecycle: unused -> spent (by exactly one client, in the enrolment's own
// transaction) and unused|spent -> revoked. A spent token keeps working for
// the identity key that spent it, so a restarting device gets its id back.
//
// Not for: hashing (the caller hashes: the store links no crypto library) or
// deciding who may enrol (coordinator/service/enrollment.h).
//
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl::coordinator {

using DeviceTokenHash = std::array<uint8_t, 32>;

enum class DeviceTokenState { kUnused, kSpent, kRevoked };
std::string_view device_token_state_name(DeviceTokenState state);

struct DeviceToken {
  int64_t id = 0;  // assigned by the store, in issue order
  DeviceTokenHash hash{};
  std::optional<std::string> label;  // given at issue time, e.g. a batch or site name
  int64_t issued_at_ms = 0;
  std::optional<uint64_t> client_id;  // set when spent
  std::optional<int64_t> spent_at_ms;
  std::optional<int64_t> revoked_at_ms;

  DeviceTokenState state() const {
    if (revoked_at_ms) return DeviceTokenState::kRevoked;
    return client_id ? DeviceTokenState::kSpent : DeviceTokenState::kUnused;
  }
};

}  // namespace fl::coordinator
