#include "aggregation/parallel.h"

#include <atomic>
#include <thread>
#include <vector>

namespace fl::aggregation {

void parallel_for(size_t count, unsigned threads, const std::function<void(size_t)>& fn) {
  if (threads <= 1 || count <= 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  const unsigned extra = static_cast<unsigned>(std::min<size_t>(threads, count)) - 1;
  pool.reserve(extra);
  for (unsigned t = 0; t < extra; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

}  // namespace fl::aggregation
