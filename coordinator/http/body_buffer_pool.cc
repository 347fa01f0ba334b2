#include "coordinator/http/body_buffer_pool.h"

namespace fl::http {

std::string BodyBufferPool::acquire(size_t bytes) {
  {
    std::lock_guard lock(mu_);
    size_t best = idle_.size();
    for (size_t i = 0; i < idle_.size(); ++i) {
      if (idle_[i].capacity() < bytes) continue;
      if (best == idle_.size() || idle_[i].capacity() < idle_[best].capacity()) best = i;
    }
    if (best != idle_.size()) {
      std::string buffer = std::move(idle_[best]);
      idle_[best] = std::move(idle_.back());
      idle_.pop_back();
      idle_bytes_ -= buffer.capacity();
      return buffer;
    }
  }
  std::string buffer;
  buffer.reserve(bytes);
  return buffer;
}

void BodyBufferPool::release(std::string&& buffer) {
  std::string taken = std::move(buffer);
  taken.clear();
  std::lock_guard lock(mu_);
  if (idle_.size() >= max_buffers_ || taken.capacity() > max_bytes_ - idle_bytes_) return;
  idle_bytes_ += taken.capacity();
  idle_.push_back(std::move(taken));
}

void BodyBufferPool::clear() {
  std::vector<std::string> freed;
  {
    std::lock_guard lock(mu_);
    freed.swap(idle_);
    idle_bytes_ = 0;
  }
}

size_t BodyBufferPool::idle_buffers() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

size_t BodyBufferPool::idle_bytes() const {
  std::lock_guard lock(mu_);
  return idle_bytes_;
}

}  // namespace fl::http
