// The injected executor: fl::ThreadPool's contract, and unmasking results that
// do not depend on which executor runs them.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "aggregation/parallel.h"
#include "base/thread_pool.h"
#include "tests/aggregation/secagg_harness.h"

namespace fl::aggregation::secagg {
namespace {

using testing::TestRound;

TEST(ThreadPool, ParallelForRunsEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(hits.size(), [&](size_t i) { hits[i].fetch_add(1); });
  for (size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i].load(), 1) << i;
}

TEST(ThreadPool, ParallelForInsideAPoolTaskDoesNotDeadlock) {
  // The coordinator posts round completion to the pool, and unmasking inside it
  // calls parallel_for on the same pool: with every worker busy the caller
  // still finishes the loop alone.
  ThreadPool pool(1);
  std::promise<long> done;
  ASSERT_TRUE(pool.try_post([&] {
    std::atomic<long> sum{0};
    pool.parallel_for(100, [&](size_t i) { sum += static_cast<long>(i); });
    done.set_value(sum.load());
  }));
  EXPECT_EQ(done.get_future().get(), 4950);
}

TEST(ThreadPool, DestructorRunsTasksAlreadyQueued) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    std::promise<void> gate;
    auto opened = gate.get_future().share();
    ASSERT_TRUE(pool.try_post([opened] { opened.wait(); }));  // holds the only worker
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.try_post([&] { ++ran; }));
    gate.set_value();
  }
  EXPECT_EQ(ran.load(), 5);
}

TEST(ThreadPool, ParallelForRethrowsToItsCaller) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(50,
                                 [](size_t i) {
                                   if (i == 17) throw std::runtime_error("bad index");
                                 }),
               std::runtime_error);
}

TEST(SecAggServer, UnmaskingIsBitIdenticalWhicheverExecutorRunsIt) {
  // Dropouts after sharing keys and after masking, so both kinds of secret are
  // reconstructed, over a dimension of several unmasking blocks.
  ThreadPool pool(3);
  ThreadPoolExecutor on_pool(pool);
  InlineExecutor inline_executor;
  std::vector<std::vector<uint64_t>> results;
  std::vector<SecAggServer::UnmaskingStats> stats;
  auto run = [&](testing::RoundSetup setup) {
    TestRound round(setup);
    auto r3 = round.step(round.step(round.advertise()), {1});
    round.step(r3, {2});
    ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted)
        << round.server->abort_reason();
    EXPECT_EQ(round.result(), round.plain_sum(round.all_but({1})));
    results.push_back(round.result());
    stats.push_back(round.server->unmasking_stats());
  };
  const testing::RoundSetup base{.clients = 9, .dim = 20000 + 13};
  auto with = [&](ParallelExecutor* e, unsigned threads) {
    auto s = base;
    s.executor = e;
    s.server_threads = threads;
    return s;
  };
  run(with(nullptr, 1));           // inline, no executor
  run(with(&inline_executor, 1));  // an injected inline executor
  run(with(&on_pool, 1));          // the shared pool
  run(with(nullptr, 4));           // the session's own pool (Options::threads)
  ASSERT_EQ(results.size(), 4u);
  for (size_t i = 1; i < results.size(); ++i) {
    EXPECT_EQ(results[i], results[0]) << "executor " << i;
    EXPECT_EQ(stats[i].mask_bytes_expanded, stats[0].mask_bytes_expanded);
  }
}

}  // namespace
}  // namespace fl::aggregation::secagg
