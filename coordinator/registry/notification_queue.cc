#include "coordinator/registry/notification_queue.h"

#include <utility>

namespace fl::coordinator {

void NotificationQueue::post(Notification notification) {
  std::lock_guard lock(mu_);
  pending_.push_back(std::move(notification));
}

void NotificationQueue::deliver() {
  std::unique_lock lock(mu_);
  if (delivering_) return;
  delivering_ = true;
  while (!pending_.empty()) {
    Notification next = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    // A throwing callback must not leave delivering_ set (every later
    // notification would be stranded); callbacks are the service's, so
    // swallow rather than unwind through the registry.
    try {
      if (next) next();
    } catch (...) {
    }
    lock.lock();
  }
  delivering_ = false;
}

}  // namespace fl::coordinator
