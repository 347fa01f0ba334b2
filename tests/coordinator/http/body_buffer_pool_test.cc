// BodyBufferPool: what an idle server keeps from finished uploads is bounded,
// and a reused buffer never shows the bytes of the body it last held.
#include "coordinator/http/body_buffer_pool.h"

#include <gtest/gtest.h>

namespace fl::http {
namespace {

TEST(BodyBufferPool, ReusesABufferEmptyAndLargeEnough) {
  BodyBufferPool pool(2, 1 << 20);
  std::string body = pool.acquire(100'000);
  EXPECT_GE(body.capacity(), 100'000u);
  body.assign(100'000, 'x');
  const char* storage = body.data();
  pool.release(std::move(body));
  EXPECT_EQ(pool.idle_buffers(), 1u);

  std::string again = pool.acquire(50'000);
  EXPECT_EQ(again.data(), storage);  // the same memory, not a new allocation
  EXPECT_TRUE(again.empty());        // and none of the earlier body visible
  EXPECT_EQ(pool.idle_buffers(), 0u);
  // Larger than any idle buffer: a new one.
  pool.release(std::move(again));
  EXPECT_GE(pool.acquire(200'000).capacity(), 200'000u);
  EXPECT_EQ(pool.idle_buffers(), 1u);
}

TEST(BodyBufferPool, KeepsAtMostItsBuffersAndBytes) {
  BodyBufferPool pool(2, 300'000);
  std::string a, b, c;
  a.reserve(100'000);
  b.reserve(100'000);
  c.reserve(100'000);
  pool.release(std::move(a));
  pool.release(std::move(b));
  pool.release(std::move(c));  // a third buffer: over max_buffers, freed
  EXPECT_EQ(pool.idle_buffers(), 2u);
  EXPECT_LE(pool.idle_bytes(), 300'000u);

  BodyBufferPool small(4, 150'000);
  std::string big;
  big.reserve(200'000);
  small.release(std::move(big));  // over max_bytes on its own: freed
  EXPECT_EQ(small.idle_buffers(), 0u);

  pool.clear();
  EXPECT_EQ(pool.idle_buffers(), 0u);
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

}  // namespace
}  // namespace fl::http
