#include "client_sdk/shard.h"

#include <string>

#include "model/dataset.h"

namespace fl::client_sdk {

Result<std::vector<int64_t>> shard_indices(int64_t n, uint32_t index, uint32_t count,
                                           uint64_t seed) {
  if (count == 0 || index >= count)
    return InvalidArgument("shard " + std::to_string(index) + "/" + std::to_string(count) +
                           ": need 0 <= index < count");
  if (n < static_cast<int64_t>(count))
    return InvalidArgument("cannot cut " + std::to_string(n) + " examples into " +
                           std::to_string(count) + " non-empty shards");
  const std::vector<int64_t> order = model::shuffled_indices(n, seed);
  // Piece boundaries floor(i n / count): sizes differ by at most one.
  const int64_t begin = static_cast<int64_t>(index) * n / count;
  const int64_t end = (static_cast<int64_t>(index) + 1) * n / count;
  return std::vector<int64_t>(order.begin() + begin, order.begin() + end);
}

Result<std::vector<int64_t>> partition_shard_indices(const Eigen::VectorXi& labels, int num_classes,
                                                     const PartitionedShard& shard) {
  if (shard.clients < 1 || shard.index < 0 || shard.index >= shard.clients)
    return InvalidArgument("client " + std::to_string(shard.index) + " of " +
                           std::to_string(shard.clients) + ": need 0 <= index < clients");
  if (shard.data_limit < 0) return InvalidArgument("the data limit must be >= 0");
  // fl-sim's FederatedData: head(shuffled(train, seed), limit), i.e. the first
  // `limit` of shuffled_indices(n, seed), relabelled 0..limit-1.
  const int64_t n = labels.size();
  std::vector<int64_t> pool;
  Eigen::VectorXi pool_labels = labels;
  if (shard.data_limit > 0 && shard.data_limit < n) {
    pool = model::shuffled_indices(n, shard.seed);
    pool.resize(static_cast<size_t>(shard.data_limit));
    pool_labels.resize(shard.data_limit);
    for (int64_t i = 0; i < shard.data_limit; ++i)
      pool_labels[i] = labels[pool[static_cast<size_t>(i)]];
  }
  auto parts =
      model::make_partition(pool_labels, num_classes, shard.clients, shard.spec, shard.seed);
  if (!parts.ok()) return parts.status();
  std::vector<int64_t> mine = std::move((*parts)[static_cast<size_t>(shard.index)]);
  if (!pool.empty())
    for (int64_t& i : mine) i = pool[static_cast<size_t>(i)];
  return mine;
}

}  // namespace fl::client_sdk
