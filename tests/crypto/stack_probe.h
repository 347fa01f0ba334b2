// Reads what earlier, returned frames left on the stack, to test that code
// which held secrets wiped them. The stack is read back through a fresh
// uninitialised frame, so the probe is off (FL_STACK_PROBE_UNRELIABLE) where a
// sanitizer moves or poisons frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_MEMORY__)
#define FL_STACK_PROBE_UNRELIABLE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define FL_STACK_PROBE_UNRELIABLE 1
#endif
#endif

#ifndef FL_STACK_PROBE_UNRELIABLE
namespace fl::testing {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// How many times the 16 bytes at needle appear in the 64 KiB below the
// caller's frame, at offsets that are multiples of stride.
[[gnu::noinline]] inline int copies_on_stack(const uint8_t* needle, size_t stride = 16) {
  volatile uint8_t below[65536];  // read uninitialised on purpose: what earlier frames left
  int hits = 0;
  for (size_t i = 0; i + 16 <= sizeof(below); i += stride) {
    uint8_t lane[16];
    for (size_t j = 0; j < 16; ++j) lane[j] = below[i + j];
    if (std::memcmp(lane, needle, 16) == 0) ++hits;
  }
  return hits;
}
#pragma GCC diagnostic pop

}  // namespace fl::testing
#endif
