// fl-sim secagg-bench: bad options are refused with exit code 2 before any
// work; a real round exits 0 only when the unmasked sum is exact.
#include "simulations/secagg_bench.h"

#include <gtest/gtest.h>

#include "simulations/secagg_round.h"

namespace fl::sim {
namespace {

TEST(SecAggBench, RefusesBadOptions) {
  auto with = [](auto change) {
    SecAggBenchOptions o{.clients = 10, .dim = 10};
    change(o);
    return run_secagg_bench(o);
  };
  EXPECT_EQ(with([](auto& o) { o.clients = 1; }), 2);
  EXPECT_EQ(with([](auto& o) { o.dim = 0; }), 2);
  EXPECT_EQ(with([](auto& o) { o.dropout = 1.0; }), 2);
  EXPECT_EQ(with([](auto& o) { o.dropout = -0.1; }), 2);
  EXPECT_EQ(with([](auto& o) { o.graph = "star"; }), 2);
  EXPECT_EQ(with([](auto& o) { o.t = 11; }), 2);
  EXPECT_EQ(with([](auto& o) { o.ring_bits = 16; }), 2);
}

TEST(SecAggBench, SmallRoundWithDropoutsIsExact) {
  ::testing::internal::CaptureStdout();
  const int rc = run_secagg_bench(
      {.clients = 40, .dim = 5000, .dropout = 0.2, .graph = "harary", .threads = 2, .seed = 3});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"exact\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"chacha20_gbps\""), std::string::npos);
}

TEST(SecAggRound, AbortsCleanlyWhenTooManyDropBeforeMasking) {
  // Everyone but two drops after sharing keys: below any threshold, so the
  // round aborts with a reason and no sum.
  aggregation::secagg::ProtocolParameters p{aggregation::secagg::GraphKind::kComplete, 9, 6};
  SecAggRoundSpec spec;
  std::vector<uint64_t> cohort;
  for (uint64_t i = 0; i < 10; ++i) cohort.push_back(i + 1);
  spec.config = aggregation::secagg::make_config(std::vector<uint8_t>(32, 1), cohort, p, 8,
                                                 crypto::RingBits::k32);
  spec.drops.assign(10, DropPoint::kBeforeMaskedInput);
  spec.drops[0] = spec.drops[1] = DropPoint::kNone;
  spec.make_input = [](uint32_t) { return std::vector<uint64_t>(8, 1); };
  auto r = run_secagg_round(spec);
  EXPECT_EQ(r.status.code(), ErrorCode::kAborted);
  EXPECT_TRUE(r.sum.empty());
}

}  // namespace
}  // namespace fl::sim
