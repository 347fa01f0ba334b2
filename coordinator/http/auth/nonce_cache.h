// Remembers the nonces of accepted signed requests for as long as those
// requests could still be accepted, so each one is accepted at most once.
//
// A request with timestamp t is acceptable while now - window <= t (and not
// too far ahead, which the authenticator checks), so its nonce is kept until
// now > t + window and then dropped.
//
// Memory is bounded twice, and each bound can only hurt the client that
// causes it:
//   - per client, at most `per_client_capacity` nonces: when a client is at
//     its bound, its own oldest nonce is evicted and that client's floor is
//     raised to its timestamp;
//   - overall, at most `capacity` nonces: when full, the oldest nonce of the
//     client holding the most is evicted, raising that client's floor.
// A client's floor refuses its requests with a timestamp at or below it:
// evicting alone would let exactly the evicted request be replayed; with the
// floor, a flood makes the server stricter with the flooding client (its
// old-but-in-window requests are refused and retried with a fresh timestamp)
// and never lets a replay through. Floors are per client, so a client that
// signs requests dated into the future cannot raise anyone else's floor.
// A client whose nonces all expired is forgotten with its floor (the floor is
// then below the window and refuses nothing the window does not).
//
// Not for: anything but replay protection of authenticated requests. Insert
// only after the signature has verified, so unauthenticated traffic cannot
// fill it. It starts empty: see request_authenticator.h for why nothing signed
// before a restart is accepted after it.
//
// Thread-safety: thread-safe (one mutex; each call is O(log n) amortised).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace fl::auth {

class NonceCache {
 public:
  enum class Outcome { kFresh, kReplayed, kBelowFloor };

  NonceCache(int64_t window_ms, size_t capacity, size_t per_client_capacity);

  // Records (client, nonce) with the request's timestamp if it is new.
  Outcome check_and_insert(uint64_t client_id, std::string_view nonce, int64_t timestamp_ms,
                           int64_t now_ms);

  size_t size() const;
  // Nonces remembered for one client (tests, metrics).
  size_t size_for(uint64_t client_id) const;
  size_t capacity() const { return capacity_; }

 private:
  struct ClientNonces {
    std::map<std::string, int64_t, std::less<>> by_nonce;
    // (timestamp, the key inside by_nonce's node): map nodes never move.
    std::set<std::pair<int64_t, const std::string*>> by_time;
    int64_t floor_ms = INT64_MIN;  // this client's requests with timestamp <= floor are refused
  };

  void expire(int64_t now_ms);
  // Drops `client`'s oldest nonce; raises its floor to that timestamp if `raise_floor`.
  void drop_oldest(std::map<uint64_t, ClientNonces>::iterator client, bool raise_floor);
  void forget_if_empty(std::map<uint64_t, ClientNonces>::iterator client, int64_t now_ms);

  const int64_t window_ms_;
  const size_t capacity_;
  const size_t per_client_capacity_;
  mutable std::mutex mu_;
  std::map<uint64_t, ClientNonces> clients_;
  size_t size_ = 0;
  // Every nonce by (timestamp, client, nonce) for expiry across clients.
  std::set<std::tuple<int64_t, uint64_t, const std::string*>> by_time_;
  // (nonces held, client) to find the client holding the most.
  std::set<std::pair<size_t, uint64_t>> by_count_;
  // Clients with no nonces left (evicted, not expired) whose floor still
  // matters: (floor, client), forgotten once the floor leaves the window.
  std::set<std::pair<int64_t, uint64_t>> floors_only_;
};

}  // namespace fl::auth
