// The device's long-lived Ed25519 identity, kept in a 32-byte seed file.
//
// Created on first use with O_EXCL and mode 0600 (owner read/write only), so
// two processes racing to create it cannot both win and no other user can
// read it; reused afterwards, so the coordinator keeps recognising the device
// (enrolment of the same key returns the same client id). A file of the wrong
// size is refused rather than overwritten: it may be someone's real key.
//
// Not for: key rotation or hardware-backed keys (an app with a keystore can
// keep the seed there and write it to a tmpfs file).
//
// Thread-safety: reentrant; the file system arbitrates concurrent creators.
#pragma once

#include <string>

#include "base/status.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"

namespace fl::client_sdk {

struct LoadedIdentity {
  crypto::Ed25519KeyPair key;
  bool created = false;  // this call created the file
  // Non-empty when the file is readable by group or others (kept, but worth
  // telling the operator).
  std::string warning;
};

// Reads the seed at `path`, or draws one from `rng` and writes it there.
Result<LoadedIdentity> load_or_create_identity(const std::string& path, crypto::Rng& rng);

}  // namespace fl::client_sdk
