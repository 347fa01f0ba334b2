// Keeps the buffers of finished large request bodies for the next ones.
//
// Why: a masked input is a few MB. A fresh buffer per upload costs the
// allocator an mmap, a page fault and a kernel page-zeroing per 4 KiB, and an
// munmap when it is freed: at 100 uploads of 4 MB that was a fifth of the
// coordinator's CPU in the ingest window. Large bodies are read at most
// HttpServerOptions::max_concurrent_large_bodies at a time (upload_gate.h), so
// that many buffers cover every upload in flight.
//
// Memory: at most `max_buffers` idle buffers and `max_bytes` of idle capacity
// (HttpServerOptions::body_pool_bytes); a buffer that does not fit is freed.
// The session clears the pool when the last large upload in flight ends, so
// the buffers live only as long as a burst of uploads does.
// Buffers are handed out cleared (size 0), never with an earlier body's bytes
// visible through size(); their stale capacity is not zeroed (request bodies
// here are client messages, not server secrets).
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace fl::http {

class BodyBufferPool {
 public:
  BodyBufferPool(size_t max_buffers, size_t max_bytes)
      : max_buffers_(max_buffers), max_bytes_(max_bytes) {}

  // An empty string with capacity() >= `bytes`: the smallest idle buffer that
  // fits, or a new one.
  std::string acquire(size_t bytes);
  // Takes `buffer` back for later acquire() calls, or frees it.
  void release(std::string&& buffer);
  // Frees every idle buffer.
  void clear();

  size_t idle_buffers() const;
  size_t idle_bytes() const;

 private:
  const size_t max_buffers_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> idle_;
  size_t idle_bytes_ = 0;
};

}  // namespace fl::http
