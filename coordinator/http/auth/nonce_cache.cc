#include "coordinator/http/auth/nonce_cache.h"

#include <algorithm>

namespace fl::auth {

NonceCache::NonceCache(int64_t window_ms, size_t capacity, size_t per_client_capacity)
    : window_ms_(window_ms),
      capacity_(std::max<size_t>(capacity, 1)),
      per_client_capacity_(std::max<size_t>(per_client_capacity, 1)) {}

void NonceCache::drop_oldest(std::map<uint64_t, ClientNonces>::iterator client, bool raise_floor) {
  ClientNonces& c = client->second;
  const auto oldest = c.by_time.begin();
  const int64_t ts = oldest->first;
  const std::string* key = oldest->second;
  if (raise_floor) c.floor_ms = std::max(c.floor_ms, ts);
  by_time_.erase({ts, client->first, key});
  by_count_.erase({c.by_nonce.size(), client->first});
  c.by_time.erase(oldest);
  c.by_nonce.erase(c.by_nonce.find(*key));
  --size_;
  if (!c.by_nonce.empty()) by_count_.emplace(c.by_nonce.size(), client->first);
}

void NonceCache::forget_if_empty(std::map<uint64_t, ClientNonces>::iterator client,
                                 int64_t now_ms) {
  ClientNonces& c = client->second;
  if (!c.by_nonce.empty()) return;
  if (c.floor_ms != INT64_MIN && c.floor_ms + window_ms_ >= now_ms) {
    floors_only_.emplace(c.floor_ms, client->first);  // its floor still refuses something
    return;
  }
  clients_.erase(client);
}

void NonceCache::expire(int64_t now_ms) {
  while (!by_time_.empty() && std::get<0>(*by_time_.begin()) + window_ms_ < now_ms) {
    // Expiry runs in timestamp order, so a client's oldest nonce is the one.
    const auto client = clients_.find(std::get<1>(*by_time_.begin()));
    drop_oldest(client, /*raise_floor=*/false);
    forget_if_empty(client, now_ms);
  }
  while (!floors_only_.empty() && floors_only_.begin()->first + window_ms_ < now_ms) {
    clients_.erase(floors_only_.begin()->second);
    floors_only_.erase(floors_only_.begin());
  }
}

NonceCache::Outcome NonceCache::check_and_insert(uint64_t client_id, std::string_view nonce,
                                                 int64_t timestamp_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  expire(now_ms);
  auto client = clients_.try_emplace(client_id).first;
  ClientNonces* c = &client->second;
  if (c->by_nonce.find(nonce) != c->by_nonce.end()) return Outcome::kReplayed;
  if (timestamp_ms <= c->floor_ms) return Outcome::kBelowFloor;
  if (c->by_nonce.empty()) floors_only_.erase({c->floor_ms, client_id});

  while (c->by_nonce.size() >= per_client_capacity_) drop_oldest(client, /*raise_floor=*/true);
  while (size_ >= capacity_) {
    // The client holding the most pays: a flood only ever costs the flooder.
    const auto largest = clients_.find(by_count_.rbegin()->second);
    drop_oldest(largest, /*raise_floor=*/true);
    if (largest != client) forget_if_empty(largest, now_ms);
  }
  if (timestamp_ms <= c->floor_ms) {
    // This request is older than what was just evicted to make room for it.
    forget_if_empty(client, now_ms);
    return Outcome::kBelowFloor;
  }

  by_count_.erase({c->by_nonce.size(), client_id});
  const auto inserted = c->by_nonce.emplace(std::string(nonce), timestamp_ms).first;
  c->by_time.emplace(timestamp_ms, &inserted->first);
  by_time_.emplace(timestamp_ms, client_id, &inserted->first);
  by_count_.emplace(c->by_nonce.size(), client_id);
  ++size_;
  return Outcome::kFresh;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

size_t NonceCache::size_for(uint64_t client_id) const {
  std::lock_guard lock(mu_);
  const auto it = clients_.find(client_id);
  return it == clients_.end() ? 0 : it->second.by_nonce.size();
}

}  // namespace fl::auth
