// X25519 (RFC 7748) eight at a time on AVX-512 IFMA: one Montgomery ladder per
// 64-bit lane, field elements as five 51-bit limbs, products with the 52-bit
// multiply-add instructions (vpmadd52luq/huq). The secure aggregation server
// runs thousands of independent agreements when it removes dropped clients'
// pairwise masks, and each client runs two per neighbour: both go through
// x25519_agree_batch (crypto/x25519.h), which uses this kernel when the CPU has
// IFMA and libsodium otherwise. Tests check it against libsodium on random and
// adversarial inputs (non-canonical and small-order points, the top bit set).
//
// Constant time: the scalar's bits only choose lanes in masked blends; there
// is no branch or memory index that depends on a secret.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fl::crypto {

// True when this CPU runs the IFMA code (and it has not been turned off).
bool ifma_x25519_enabled();
// Turns the IFMA path off or back on (only if the CPU has it), so tests and
// benchmarks can compare it with libsodium on the same machine. Returns the
// previous setting.
bool set_ifma_x25519_enabled(bool enabled);

// Only when ifma_x25519_enabled(). out[i] = X25519(scalars[i], points[i]) for
// i < count <= 8 (a larger count is taken as 8): the scalar is clamped and the
// point's bit 255 ignored as RFC 7748 says; the output is the canonical 32-byte
// u-coordinate (all zero for a small-order point: the caller refuses that).
// Wipes its own stack frame's secrets before returning. On a CPU without IFMA
// every output is all zero, which callers refuse.
void ifma_x25519_eight(const uint8_t* const scalars[], const uint8_t* const points[],
                       uint8_t* const out[], size_t count);

}  // namespace fl::crypto
