// Where slow work runs. An Executor takes tasks and runs them on threads it
// owns (fl::ThreadPool). Code that has slow work to do (the round engine's
// unmasking, evaluation and store commit) is handed one and never starts threads of its own, after
// FCP's SecAggScheduler: the coordinator passes a pool so HTTP io threads stay free; tests pass
// their own queue, or none, to stay deterministic.
//
// Thread-safety: post() may be called from any thread.
#pragma once

#include <functional>

namespace fl {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` once, now or later. Tasks may post further tasks.
  virtual void post(std::function<void()> task) = 0;
};

}  // namespace fl
