#include "base/thread_pool.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>

namespace fl {
namespace {

// One parallel_for call. Shared with the helper tasks it posts, so a helper
// that starts after the call returned finds the job closed and touches nothing
// of the caller's (fn lives on the caller's stack).
struct Job {
  const std::function<void(size_t)>* fn = nullptr;
  size_t count = 0;
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable idle;
  size_t active = 0;  // helpers inside run()
  bool closed = false;
  std::exception_ptr error;

  void run() {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
    }
  }
  void help() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (closed) return;
      ++active;
    }
    run();
    std::lock_guard<std::mutex> lock(mutex);
    if (--active == 0) idle.notify_all();
  }
};

}  // namespace

ThreadPool::ThreadPool(size_t threads, int nice) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    workers_.emplace_back([this, nice] {
      // Linux gives each thread its own nice value; best effort elsewhere (a
      // refusal leaves the worker at the process's priority).
      if (nice != 0) (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
      work();
    });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& w : workers_) w.join();
}

bool ThreadPool::try_post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
  }
  ready_.notify_one();
  return true;
}

void ThreadPool::work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and the queue is drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::parallel_for(size_t count, const std::function<void(size_t)>& fn) {
  if (count == 0) return;
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->count = count;
  // One helper per worker at most, and none for work the caller can do alone.
  const size_t helpers = std::min(workers_.size(), count - 1);
  for (size_t h = 0; h < helpers; ++h)
    if (!try_post([job] { job->help(); })) break;  // shutting down: the caller does it all
  job->run();
  std::unique_lock<std::mutex> lock(job->mutex);
  job->closed = true;  // helpers not yet started will do nothing
  job->idle.wait(lock, [&] { return job->active == 0; });
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace fl
