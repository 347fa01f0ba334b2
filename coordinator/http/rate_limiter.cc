#include "coordinator/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace fl::http {

RateLimiter::RateLimiter(RateLimit limit, Clock clock, size_t max_keys)
    : limit_(limit), clock_(std::move(clock)), max_keys_(std::max<size_t>(max_keys, 1)) {
  limit_.burst = std::max(limit_.burst, 1.0);
  limit_.tokens_per_second = std::max(limit_.tokens_per_second, 1e-9);
}

void RateLimiter::refill(Bucket& bucket, std::chrono::steady_clock::time_point now) const {
  if (now <= bucket.updated) return;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(limit_.burst, bucket.tokens + elapsed * limit_.tokens_per_second);
  bucket.updated = now;
}

void RateLimiter::shrink(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= limit_.burst ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < max_keys_) return;
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  buckets_.erase(oldest);
}

RateLimiter::Decision RateLimiter::acquire(std::string_view key) {
  const auto now = clock_();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) shrink(now);
    it = buckets_.emplace(std::string(key), Bucket{limit_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  refill(bucket, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return {};
  }
  const double wait_seconds = (1.0 - bucket.tokens) / limit_.tokens_per_second;
  const auto wait = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait_seconds * 1000)));
  return Decision{false, std::max(wait, std::chrono::milliseconds(1))};
}

std::string RateLimiter::retry_after_seconds(std::chrono::milliseconds wait) {
  const int64_t seconds = std::max<int64_t>(1, (wait.count() + 999) / 1000);
  return std::to_string(seconds);
}

size_t RateLimiter::tracked_keys() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace fl::http
