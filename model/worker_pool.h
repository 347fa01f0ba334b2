// A fixed set of threads that run one sharded task at a time, for splitting a
// minibatch across cores during training.
//
// Not a general task queue: run() blocks until every shard is done, and the
// calling thread computes shard 0 itself, so a pool of 1 starts no thread.
// Threads are started once and reused across the thousands of steps of a
// training run; starting two threads per step would cost more than a
// softmax step's arithmetic.
//
// Thread-safety: run() may be called by one thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fl::model {

class WorkerPool {
 public:
  explicit WorkerPool(int num_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return num_threads_; }

  // Calls fn(shard) for every shard in [0, num_shards), num_shards <= size(),
  // concurrently, and returns when all calls have returned.
  void run(int num_shards, const std::function<void(int)>& fn);

 private:
  void worker_loop(int index);

  const int num_threads_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int)>* task_ = nullptr;  // guarded by mu_
  int num_shards_ = 0;                              // guarded by mu_
  int pending_ = 0;                                 // guarded by mu_
  uint64_t generation_ = 0;                         // guarded by mu_
  bool stop_ = false;                               // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace fl::model
