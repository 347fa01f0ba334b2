// Which examples of a local dataset one client of N trains on.
//
//  - shard_indices: the IID shard of fl-client's --shard I/N. The examples
//    are shuffled with a seed every client shares, then cut into N contiguous
//    pieces whose sizes differ by at most one. Disjoint, and together exactly
//    the dataset, so N clients given the same seed simulate one IID partition.
//  - partition_shard_indices: fl-client's --partition, the simulator's
//    partitions (model/partition.h: IID, Dirichlet over labels, label shards,
//    quantity skew). Client I of N gets exactly the examples fl-sim gives its
//    client I for the same seed, including fl-sim's data.train_limit subset,
//    so a network-mode run trains each process on the in-process client's data.
//    (Its IID is the partitioner's, not shard_indices': the two deal different
//    examples for the same seed.)
//
// Not for: loading data or training.
//
// Thread-safety: pure functions.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "base/status.h"
#include "model/partition.h"

namespace fl::client_sdk {

// Example indices of shard `index` of `count` over `n` examples.
Result<std::vector<int64_t>> shard_indices(int64_t n, uint32_t index, uint32_t count,
                                           uint64_t seed);

struct PartitionedShard {
  model::PartitionSpec spec;
  int64_t clients = 1;
  int64_t index = 0;  // 0 <= index < clients
  uint64_t seed = 1;  // fl-sim's scenario seed
  // > 0: partition only a seeded subset of this many examples, the one
  // fl-sim's data.train_limit takes (the first `data_limit` of a shuffle).
  int64_t data_limit = 0;
};

// Client `shard.index`'s example indices into `labels` (the whole dataset),
// in the order fl-sim's client sees them.
Result<std::vector<int64_t>> partition_shard_indices(const Eigen::VectorXi& labels, int num_classes,
                                                     const PartitionedShard& shard);

}  // namespace fl::client_sdk
