#include "coordinator/http/upload_gate.h"

#include <utility>

namespace fl::http {

bool UploadGate::acquire_or_wait(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  if (free_ > 0 && waiters_.empty()) {
    --free_;
    return true;
  }
  waiters_.push_back(std::move(resume));
  return false;
}

void UploadGate::release() {
  std::function<void()> next;
  {
    std::lock_guard lock(mu_);
    if (waiters_.empty()) {
      ++free_;
      return;
    }
    next = std::move(waiters_.front());
    waiters_.pop_front();
  }
  next();  // the slot passes to the waiter without ever being free
}

void UploadGate::clear() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(waiters_);
  }
  // Destroyed outside the lock: a waiter may own the last reference to a
  // session whose destructor takes other locks.
}

size_t UploadGate::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace fl::http
