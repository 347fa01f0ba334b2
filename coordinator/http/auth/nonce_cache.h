// Remembers the nonces of accepted signed requests for as long as those
// requests could still be accepted, so each one is accepted at most once.
//
// A request with timestamp t is acceptable while |now - t| <= window, so its
// nonce is kept until now > t + window and then dropped. Memory is bounded by
// `capacity`: when full, the entry with the oldest timestamp is evicted and
// the cache raises a floor: from then on any request with a timestamp at or
// below the evicted one is refused. Evicting alone would let exactly the
// evicted request be replayed; with the floor, a flood can make the server
// stricter (old-but-in-window requests are refused and retried with a fresh
// timestamp) but never let a replay through. Nonces are keyed per client so one
// client's traffic cannot collide with another's.
//
// Not for: anything but replay protection of authenticated requests. Insert only
// after the signature has verified, so unauthenticated traffic cannot fill it.
//
// Thread-safety: thread-safe (one mutex; each call is O(log n)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace fl::auth {

class NonceCache {
 public:
  enum class Outcome { kFresh, kReplayed, kBelowFloor };

  NonceCache(int64_t window_ms, size_t capacity);

  // Records (client, nonce) with the request's timestamp if it is new.
  Outcome check_and_insert(uint64_t client_id, std::string_view nonce, int64_t timestamp_ms,
                           int64_t now_ms);

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  void expire(int64_t now_ms);
  void evict_oldest();

  const int64_t window_ms_;
  const size_t capacity_;
  mutable std::mutex mu_;
  // key -> timestamp, and (timestamp, the key inside by_key_'s node) ordered by
  // age for expiry and eviction; map nodes never move, so the pointer is stable.
  std::map<std::string, int64_t, std::less<>> by_key_;
  std::set<std::pair<int64_t, const std::string*>> by_time_;
  int64_t floor_ms_ = INT64_MIN;  // requests with timestamp <= floor are refused
};

}  // namespace fl::auth
