// A client device or site enrolled with the coordinator: the store assigns
// its id and remembers its Ed25519 identity key (DESIGN.md section 3).
//
// Not for: authentication itself (verifying signatures is crypto/ed25519.h's
// job) or per-round participation, which rounds record as counts.
//
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace fl::coordinator {

// The same type as crypto::Key32, spelt out so the store needs no crypto library.
using ClientPublicKey = std::array<uint8_t, 32>;

struct ClientEnrolment {
  uint64_t client_id = 0;  // assigned by the store; increasing, never reused
  ClientPublicKey public_key{};
  int64_t enrolled_at_ms = 0;
  std::optional<std::string> label;  // e.g. a site name, for people reading dashboards
  // Set by revoke_client: the client can no longer authenticate or enrol again.
  std::optional<int64_t> revoked_at_ms;
};

}  // namespace fl::coordinator
