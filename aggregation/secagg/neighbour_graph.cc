#include "aggregation/secagg/neighbour_graph.h"

#include <algorithm>

#include "crypto/kdf.h"
#include "crypto/rng.h"

namespace fl::aggregation::secagg {

NeighbourGraph::NeighbourGraph(GraphKind kind, uint32_t size, uint32_t degree,
                               crypto::ByteSpan session_id)
    : kind_(kind), size_(size), degree_(degree) {
  if (degree_ + 1 >= size_) {
    kind_ = GraphKind::kComplete;
    degree_ = size_ - 1;
  }
  if (kind_ == GraphKind::kComplete) return;
  crypto::Bytes label = {'f', 'l', '.', 'g', 'r', 'a', 'p', 'h'};
  label.insert(label.end(), session_id.begin(), session_id.end());
  crypto::SeededRng rng(crypto::blake2b_256(label));
  at_.resize(size_);
  for (uint32_t i = 0; i < size_; ++i) at_[i] = i;
  for (uint32_t i = size_ - 1; i > 0; --i)
    std::swap(at_[i], at_[static_cast<uint32_t>(rng.uniform(i + 1))]);
  position_.resize(size_);
  for (uint32_t p = 0; p < size_; ++p) position_[at_[p]] = p;
}

std::vector<uint32_t> NeighbourGraph::neighbours(uint32_t index) const {
  std::vector<uint32_t> out;
  if (kind_ == GraphKind::kComplete) {
    out.reserve(size_ - 1);
    for (uint32_t i = 0; i < size_; ++i)
      if (i != index) out.push_back(i);
    return out;
  }
  const uint32_t half = degree_ / 2, p = position_[index];
  out.reserve(2 * half);
  for (uint32_t d = 1; d <= half; ++d) {
    out.push_back(at_[(p + d) % size_]);
    out.push_back(at_[(p + size_ - d) % size_]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool NeighbourGraph::adjacent(uint32_t a, uint32_t b) const {
  if (a == b) return false;
  if (kind_ == GraphKind::kComplete) return true;
  const uint32_t d = (position_[a] + size_ - position_[b]) % size_;
  return std::min(d, size_ - d) <= degree_ / 2;
}

}  // namespace fl::aggregation::secagg
