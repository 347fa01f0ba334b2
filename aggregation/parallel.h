// How the protocol core runs its few CPU-heavy loops (unmasking) in parallel
// without owning a thread: the caller hands in a ParallelExecutor (FCP's
// SecAggScheduler habit; DESIGN.md section 10), typically one ThreadPool shared
// by the whole coordinator. Each parallel_for returns only when every index has
// run, and tasks write to disjoint outputs, so results do not depend on the
// executor or on how many threads it has.
//
// Thread-safety: an executor may be shared by sessions on different threads
// (ThreadPoolExecutor is; InlineExecutor has no state).
#pragma once

#include <cstddef>
#include <functional>

#include "base/thread_pool.h"

namespace fl::aggregation {

class ParallelExecutor {
 public:
  virtual ~ParallelExecutor() = default;
  // Runs fn(i) for every i in [0, count) and returns when all have run.
  virtual void parallel_for(size_t count, const std::function<void(size_t)>& fn) = 0;
};

// Runs every index on the calling thread, in order.
class InlineExecutor final : public ParallelExecutor {
 public:
  void parallel_for(size_t count, const std::function<void(size_t)>& fn) override {
    for (size_t i = 0; i < count; ++i) fn(i);
  }
};

// Runs on a ThreadPool the caller owns (it must outlive this adapter); the
// calling thread works too.
class ThreadPoolExecutor final : public ParallelExecutor {
 public:
  explicit ThreadPoolExecutor(ThreadPool& pool) : pool_(pool) {}
  void parallel_for(size_t count, const std::function<void(size_t)>& fn) override {
    pool_.parallel_for(count, fn);
  }

 private:
  ThreadPool& pool_;
};

// Starts up to `threads` - 1 threads for this one call (the caller's thread
// included); threads <= 1 runs inline. For tools and the simulator's
// client-side loops only: services use a ParallelExecutor so that no request
// starts threads.
void parallel_for(size_t count, unsigned threads, const std::function<void(size_t)>& fn);

}  // namespace fl::aggregation
