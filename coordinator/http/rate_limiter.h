// Per-key token buckets: each key (a client id, a peer IP: the caller decides)
// may make `burst` requests at once and `tokens_per_second` sustained. An
// over-limit request is told how long until a token is available, which the
// server sends as Retry-After.
//
// The clock is injected, so tests advance time by hand. Memory is bounded:
// beyond `max_keys` buckets, buckets that have refilled completely (their key
// has been idle long enough to be indistinguishable from a new one) are
// dropped; if none has, the least recently used is dropped, which can only
// make that key's next request more likely to pass, never block anyone.
//
// Not for: global concurrency limits (HttpServerOptions::max_connections) or
// fairness between keys.
//
// Thread-safety: thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fl::http {

struct RateLimit {
  double tokens_per_second = 10.0;
  double burst = 20.0;  // bucket capacity; at least 1
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit RateLimiter(RateLimit limit, Clock clock = &std::chrono::steady_clock::now,
                       size_t max_keys = 100'000);

  struct Decision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  // > 0 when refused
  };
  // Takes one token from `key`'s bucket if it has one.
  Decision acquire(std::string_view key);

  // Retry-After header value: whole seconds, rounded up, at least 1.
  static std::string retry_after_seconds(std::chrono::milliseconds wait);

  size_t tracked_keys() const;

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  void refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const;
  void shrink(std::chrono::steady_clock::time_point now);

  RateLimit limit_;
  Clock clock_;
  size_t max_keys_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace fl::http
