// Bounds how many large request bodies the server reads at once.
//
// Why: a body is read whole into memory before its handler runs, so a cohort
// uploading 4 MB masked inputs at the same moment would make the server hold
// clients x update size. Past the limit a connection waits, with its body
// still in the client's socket (TCP flow control pushes back on the client),
// until an upload finishes; memory is then O(slots x update size) whatever
// the cohort. Waiters are served first come, first served. The server takes
// a slot only for an authenticated (or unauthenticated-by-design) request, and
// a waiter gives up after HttpServerOptions::upload_slot_wait (cancel()), so
// stalled uploads cannot queue honest ones behind them for ever.
//
// Not for: small bodies (check-ins, polls) — the server only gates bodies
// larger than HttpServerOptions::large_body_bytes, so polls never queue
// behind uploads.
//
// Thread-safety: all methods are thread-safe; `resume` callbacks run on the
// thread that calls release() (post to a strand from them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

namespace fl::http {

class UploadGate {
 public:
  explicit UploadGate(size_t slots) : slots_(slots == 0 ? 1 : slots), free_(slots_) {}

  // Identifies a queued waiter, for cancel().
  using Ticket = uint64_t;

  // Takes a slot and returns nullopt, or queues `resume` (called once a slot
  // is handed over) and returns the waiter's ticket.
  std::optional<Ticket> acquire_or_wait(std::function<void()> resume);
  // Gives the slot back, or hands it straight to the oldest waiter. True
  // when every slot is now free and nobody waits (no large upload in flight).
  bool release();
  // Removes a waiter that has not been handed a slot: true if it was still
  // queued (its `resume` will never run), false if a slot was already handed
  // to it (its `resume` has run or is running: it owns a slot).
  bool cancel(Ticket ticket);
  // Drops every waiter without calling it (the server is gone).
  void clear();

  size_t waiting() const;

 private:
  struct Waiter {
    Ticket ticket;
    std::function<void()> resume;
  };
  const size_t slots_;
  mutable std::mutex mu_;
  size_t free_;
  Ticket next_ticket_ = 0;
  std::deque<Waiter> waiters_;
};

}  // namespace fl::http
