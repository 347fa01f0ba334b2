// A fixed pool of worker threads: the executor that slow work is handed to
// (DESIGN.md section 10; FCP's SecAggScheduler habit), so the code that needs
// parallelism never starts threads of its own.
//
// For: fire-and-forget tasks (post) such as finishing a round off the HTTP io
// threads, and blocking fork-join loops (parallel_for) such as unmasking. Not
// for: timers, priorities or cancellation; a task that blocks on I/O holds a
// worker for as long as it blocks.
//
// parallel_for may be called from inside a pool task without deadlock: the
// caller works through the indices itself and only waits for helpers that have
// already started an index, so it finishes even when every worker is busy.
//
// Shutdown: the destructor stops accepting tasks (try_post returns false from
// then on), RUNS every task already queued, then joins the workers. Tasks must
// not throw; an exception thrown by fn inside parallel_for is rethrown to its
// caller.
//
// Thread-safety: every member function may be called from any thread,
// including from the pool's own tasks; destroy the pool from a thread that is
// not one of its workers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/executor.h"

namespace fl {

class ThreadPool final : public Executor {
 public:
  // `threads` workers, created now and kept until destruction (at least one).
  // `nice` > 0 lowers the workers' scheduling priority (Linux: per thread),
  // so CPU-bound batch work yields the cores to latency-sensitive threads
  // (the coordinator's HTTP io threads) whenever those are runnable.
  explicit ThreadPool(size_t threads, int nice = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task` to run on a worker. False (task dropped) once shutting down.
  bool try_post(std::function<void()> task);
  // Executor: the same, for callers that only post while the pool lives.
  void post(std::function<void()> task) override { (void)try_post(std::move(task)); }

  // Runs fn(i) for every i in [0, count), on the calling thread and up to
  // size() workers at once; returns when all have run. Which thread runs which
  // index is unspecified: fn must write only to outputs of its own index.
  void parallel_for(size_t count, const std::function<void(size_t)>& fn);

  size_t size() const { return workers_.size(); }

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fl
