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

}  // namespace fl::client_sdk
