#include "coordinator/http/rate_limiter.h"

#include <gtest/gtest.h>

namespace fl::http {
namespace {

using namespace std::chrono_literals;

struct ManualClock {
  std::chrono::steady_clock::time_point now{};
  RateLimiter::Clock function() {
    return [this] { return now; };
  }
};

TEST(RateLimiter, AllowsTheBurstThenRefusesWithTimeUntilTheNextToken) {
  ManualClock clock;
  RateLimiter limiter(RateLimit{2.0, 3.0}, clock.function());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.acquire("client-1").allowed) << i;
  const RateLimiter::Decision refused = limiter.acquire("client-1");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 500ms);  // one token at 2 per second
  EXPECT_EQ(RateLimiter::retry_after_seconds(refused.retry_after), "1");
}

TEST(RateLimiter, RecoversAsTheClockAdvances) {
  ManualClock clock;
  RateLimiter limiter(RateLimit{1.0, 1.0}, clock.function());
  EXPECT_TRUE(limiter.acquire("k").allowed);
  EXPECT_FALSE(limiter.acquire("k").allowed);
  clock.now += 999ms;
  EXPECT_FALSE(limiter.acquire("k").allowed);
  clock.now += 1ms;
  EXPECT_TRUE(limiter.acquire("k").allowed);
}

TEST(RateLimiter, KeysHaveIndependentBuckets) {
  ManualClock clock;
  RateLimiter limiter(RateLimit{1.0, 1.0}, clock.function());
  EXPECT_TRUE(limiter.acquire("a").allowed);
  EXPECT_FALSE(limiter.acquire("a").allowed);
  EXPECT_TRUE(limiter.acquire("b").allowed);
}

TEST(RateLimiter, MemoryStaysBoundedUnderManyKeys) {
  ManualClock clock;
  RateLimiter limiter(RateLimit{1.0, 2.0}, clock.function(), /*max_keys=*/100);
  for (int i = 0; i < 10'000; ++i) {
    limiter.acquire("peer-" + std::to_string(i));
    clock.now += 1ms;
  }
  EXPECT_LE(limiter.tracked_keys(), 100u);
}

TEST(RateLimiter, RetryAfterRoundsUpToWholeSeconds) {
  EXPECT_EQ(RateLimiter::retry_after_seconds(1ms), "1");
  EXPECT_EQ(RateLimiter::retry_after_seconds(1000ms), "1");
  EXPECT_EQ(RateLimiter::retry_after_seconds(1001ms), "2");
}

}  // namespace
}  // namespace fl::http
