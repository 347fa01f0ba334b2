// Who shares secrets and masks with whom.
//
// Complete graph: everyone. Harary graph H(k, n) with k even: the cohort is laid
// on a ring in a random order and each client is joined to the k/2 nearest on
// each side. The order is a Fisher-Yates shuffle seeded from the session id, so
// every party derives the same graph and the server cannot pick it per client.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "aggregation/secagg/parameters.h"
#include "crypto/bytes.h"

namespace fl::aggregation::secagg {

class NeighbourGraph {
 public:
  NeighbourGraph(GraphKind kind, uint32_t size, uint32_t degree, crypto::ByteSpan session_id);

  uint32_t size() const { return size_; }
  uint32_t degree() const { return degree_; }
  // Cohort indices adjacent to `index`, ascending, excluding index itself.
  std::vector<uint32_t> neighbours(uint32_t index) const;
  bool adjacent(uint32_t a, uint32_t b) const;

 private:
  GraphKind kind_;
  uint32_t size_;
  uint32_t degree_;
  std::vector<uint32_t> position_;  // cohort index -> place on the ring
  std::vector<uint32_t> at_;        // place on the ring -> cohort index
};

}  // namespace fl::aggregation::secagg
