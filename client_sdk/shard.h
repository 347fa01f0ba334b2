// The IID shard of a dataset that one client of N holds: the examples are
// shuffled with a seed every client shares, then cut into N contiguous pieces
// whose sizes differ by at most one. Disjoint, and together exactly the
// dataset, so N clients given the same seed simulate one IID partition.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace fl::client_sdk {

// Example indices of shard `index` of `count` over `n` examples.
Result<std::vector<int64_t>> shard_indices(int64_t n, uint32_t index, uint32_t count,
                                           uint64_t seed);

}  // namespace fl::client_sdk
