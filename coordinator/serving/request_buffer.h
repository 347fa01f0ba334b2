// The per-io-thread buffer a request's input floats are parsed into, so the
// hot path allocates nothing for its input once a thread has seen a batch of
// that size. A buffer grown past kKeepBytes (a large batch) is released after
// its request rather than pinned for the thread's lifetime.
//
// Not for: anything that outlives one handler call, or handlers that call
// each other (one buffer per thread).
//
// Thread-safety: one buffer per thread (thread_local).
#pragma once

#include <cstddef>
#include <vector>

namespace fl::serving {

class RequestBuffer {
 public:
  // 1 MiB: a batch of ~330 Fashion-MNIST rows; larger batches are rare.
  static constexpr size_t kKeepBytes = size_t{1} << 20;

  RequestBuffer() : values_(thread_values()) {}
  ~RequestBuffer() {
    if (values_.capacity() * sizeof(float) > kKeepBytes) std::vector<float>().swap(values_);
  }
  RequestBuffer(const RequestBuffer&) = delete;
  RequestBuffer& operator=(const RequestBuffer&) = delete;

  std::vector<float>& values() { return values_; }

 private:
  static std::vector<float>& thread_values() {
    thread_local std::vector<float> values;
    return values;
  }
  std::vector<float>& values_;
};

}  // namespace fl::serving
