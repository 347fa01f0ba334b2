// Bounds how many large request bodies the server reads at once.
//
// Why: a body is read whole into memory before its handler runs, so a cohort
// uploading 4 MB masked inputs at the same moment would make the server hold
// clients x update size. Past the limit a connection waits, with its body
// still in the client's socket (TCP flow control pushes back on the client),
// until an upload finishes; memory is then O(slots x update size) whatever
// the cohort. Waiters are served first come, first served.
//
// Not for: small bodies (check-ins, polls) — the server only gates bodies
// larger than HttpServerOptions::large_body_bytes, so polls never queue
// behind uploads.
//
// Thread-safety: all methods are thread-safe; `resume` callbacks run on the
// thread that calls release() (post to a strand from them).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace fl::http {

class UploadGate {
 public:
  explicit UploadGate(size_t slots) : free_(slots == 0 ? 1 : slots) {}

  // Takes a slot and returns true, or queues `resume` (called once a slot is
  // handed over) and returns false.
  bool acquire_or_wait(std::function<void()> resume);
  // Gives the slot back, or hands it straight to the oldest waiter.
  void release();
  // Drops every waiter without calling it (the server is gone).
  void clear();

  size_t waiting() const;

 private:
  mutable std::mutex mu_;
  size_t free_;
  std::deque<std::function<void()>> waiters_;
};

}  // namespace fl::http
