// Delivers the registry's notifications (a version was published, an alert)
// to the embedding service in the order their causes committed, on no lock of
// the registry's.
//
// Why a queue rather than calling back directly after unlocking: two threads
// that publish v1 then v2 could otherwise call back in the order v2, v1 and
// leave the service serving v1 while the store says v2. Notifications are
// posted under the registry's lock (so their order is commit order) and run
// after it is released, one at a time: whichever thread finds the queue idle
// delivers everything pending, including what other threads post meanwhile.
// A callback may therefore run on another thread than the one whose call
// caused it, and a call may return before its notification has run (another
// thread is delivering it). A callback may call back into the registry: what
// it causes is queued behind it, never run inside it.
//
// Not for: anything slow; a callback holds up every later notification.
//
// Thread-safety: thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

namespace fl::coordinator {

class NotificationQueue {
 public:
  using Notification = std::function<void()>;

  void post(Notification notification);
  // Runs pending notifications in post order until none is left, unless
  // another thread is already doing so.
  void deliver();

 private:
  std::mutex mu_;
  std::deque<Notification> pending_;
  bool delivering_ = false;
};

}  // namespace fl::coordinator
