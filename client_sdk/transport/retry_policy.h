// How the SDK waits between attempts: capped exponential backoff with full
// jitter (the variant AWS's "Exponential Backoff and Jitter" found to spread
// a thundering herd best), or the server's Retry-After when it sends one.
//
// Not for: deciding *whether* to retry (send_with_retry.h does that).
//
// Thread-safety: values and pure functions (the Rng is the caller's).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "crypto/rng.h"

namespace fl::transport {

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30'000};
  double multiplier = 2.0;
  bool full_jitter = true;  // wait uniform in [0, cap] instead of cap
  // A Retry-After longer than this ends the retries (the server is asking for
  // more patience than this caller has).
  std::chrono::milliseconds max_retry_after{300'000};
};

// The wait before retry number `retry` (1 = the first retry):
// cap = min(max_delay, base_delay * multiplier^(retry-1)); with full jitter a
// uniform draw from [0, cap] milliseconds, else cap.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, crypto::Rng& rng);

// Retry-After in delta-seconds form (RFC 9110 10.2.3); nullopt for an
// HTTP-date or garbage (the caller then uses its own backoff).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace fl::transport
