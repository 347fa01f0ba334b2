#include "coordinator/http/auth/nonce_cache.h"

#include <algorithm>

namespace fl::auth {

NonceCache::NonceCache(int64_t window_ms, size_t capacity)
    : window_ms_(window_ms), capacity_(std::max<size_t>(capacity, 1)) {}

void NonceCache::expire(int64_t now_ms) {
  while (!by_time_.empty() && by_time_.begin()->first + window_ms_ < now_ms) evict_oldest();
}

void NonceCache::evict_oldest() {
  const auto oldest = by_time_.begin();
  by_key_.erase(by_key_.find(*oldest->second));
  by_time_.erase(oldest);
}

NonceCache::Outcome NonceCache::check_and_insert(uint64_t client_id, std::string_view nonce,
                                                 int64_t timestamp_ms, int64_t now_ms) {
  std::string key = std::to_string(client_id);
  key.push_back(':');
  key.append(nonce);

  std::lock_guard lock(mu_);
  expire(now_ms);
  if (by_key_.find(key) != by_key_.end()) return Outcome::kReplayed;
  if (timestamp_ms <= floor_ms_) return Outcome::kBelowFloor;
  while (by_key_.size() >= capacity_) {
    floor_ms_ = std::max(floor_ms_, by_time_.begin()->first);
    evict_oldest();
  }
  if (timestamp_ms <= floor_ms_) return Outcome::kBelowFloor;
  const auto inserted = by_key_.emplace(std::move(key), timestamp_ms).first;
  by_time_.emplace(timestamp_ms, &inserted->first);
  return Outcome::kFresh;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mu_);
  return by_key_.size();
}

}  // namespace fl::auth
