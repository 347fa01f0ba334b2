#include "coordinator/http/upload_gate.h"

#include <algorithm>
#include <utility>

namespace fl::http {

std::optional<UploadGate::Ticket> UploadGate::acquire_or_wait(std::function<void()> resume) {
  std::lock_guard lock(mu_);
  if (free_ > 0 && waiters_.empty()) {
    --free_;
    return std::nullopt;
  }
  const Ticket ticket = next_ticket_++;
  waiters_.push_back(Waiter{ticket, std::move(resume)});
  return ticket;
}

bool UploadGate::release() {
  std::function<void()> next;
  {
    std::lock_guard lock(mu_);
    if (waiters_.empty()) {
      ++free_;
      return free_ == slots_;
    }
    next = std::move(waiters_.front().resume);
    waiters_.pop_front();
  }
  next();  // the slot passes to the waiter without ever being free
  return false;
}

bool UploadGate::cancel(Ticket ticket) {
  std::function<void()> dropped;  // destroyed outside the lock, as in clear()
  std::lock_guard lock(mu_);
  const auto it = std::find_if(waiters_.begin(), waiters_.end(),
                               [ticket](const Waiter& w) { return w.ticket == ticket; });
  if (it == waiters_.end()) return false;
  dropped = std::move(it->resume);
  waiters_.erase(it);
  return true;
}

void UploadGate::clear() {
  std::deque<Waiter> dropped;
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
