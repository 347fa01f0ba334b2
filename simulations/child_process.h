// A child process fl-sim's network mode starts (fl-coordinator, fl-client):
// its output goes to a log file, and it never outlives fl-sim. The child asks
// the kernel for SIGTERM when fl-sim dies (PR_SET_PDEATHSIG), so even a
// SIGKILLed fl-sim leaves nothing behind; stop_all() is the orderly path:
// SIGTERM to every child at once, a grace period, then SIGKILL, and reaping.
//
// Not for: talking to the child (its log is the only channel).
//
// Thread-safety: one object per thread; start() forks, so call it while no
// other thread holds a lock the child could need (the child only calls
// async-signal-safe functions before exec).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace fl::sim {

class ChildProcess {
 public:
  // Fails when the binary cannot be executed (the message names it).
  static Result<std::unique_ptr<ChildProcess>> start(const std::string& binary,
                                                     const std::vector<std::string>& args,
                                                     const std::string& log_path);
  ~ChildProcess();  // stops the child if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // False once the child exited (it is then reaped).
  bool running();
  // The exit status once it exited: the code, or 128 + the signal.
  std::optional<int> exit_code() const { return exit_code_; }
  // The whole log so far, and its last `lines` lines (for error messages).
  std::string log() const;
  std::string log_tail(int lines) const;

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  friend void stop_all(const std::vector<ChildProcess*>&, std::chrono::milliseconds);

  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// SIGTERM to every running child, up to `grace` for all to exit, then SIGKILL
// for the rest; returns when every one is reaped.
void stop_all(const std::vector<ChildProcess*>& children, std::chrono::milliseconds grace);

}  // namespace fl::sim
