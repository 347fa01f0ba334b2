// The client's update pipeline: the L2 clip bounds what one client can add to
// the sum, leaves short updates alone, is applied before the FedAvg weight, and
// bad input is refused before any randomness is drawn.
#include "aggregation/client_update.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace fl::aggregation {
namespace {

double norm(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::vector<float> random_update(crypto::Rng& rng, size_t n, double scale) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((rng.uniform01() * 2 - 1) * scale);
  return v;
}

ClientUpdateConfig config(double l2_clip, uint64_t max_weight = 0) {
  ClientUpdateConfig c;
  c.quantization = {
      .clip = 1.0, .bits = 24, .ring = crypto::RingBits::k64, .max_weight = max_weight};
  c.l2_clip = l2_clip;
  return c;
}

TEST(ClientUpdate, ClippingBoundsTheNormExactlyAndKeepsTheDirection) {
  // Scaling by C/norm and rounding to float lands above C about half the
  // time, so many random vectors and bounds are tried.
  crypto::SeededRng rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = trial == 0 ? 100000 : 1 + rng.uniform(trial % 2 ? 5 : 2000);
    const std::vector<float> delta = random_update(rng, n, 3.0);
    const double before = norm(delta);
    const double c = before * (0.1 + 0.8 * rng.uniform01());
    auto clipped = clip_and_weigh(delta, 10, config(c));
    ASSERT_TRUE(clipped.ok()) << clipped.status().to_string();
    EXPECT_TRUE(clipped->stats.clipped);
    EXPECT_DOUBLE_EQ(clipped->stats.l2_norm, before);
    const double after = norm(clipped->delta);
    EXPECT_LE(after, c) << n;  // never above C, not even by a float rounding
    EXPECT_GE(after, c * (1 - 1e-6)) << n;
    for (size_t i = 0; i < n; i += n / 10 + 1)
      EXPECT_NEAR(clipped->delta[i], delta[i] * c / before, 1e-6 * std::abs(delta[i]) + 1e-30);
  }
}

TEST(ClientUpdate, AnUpdateUnderTheBoundIsUnchanged) {
  crypto::SeededRng rng(8);
  const std::vector<float> delta = random_update(rng, 500, 0.01);
  const double c = norm(delta) * 1.01;
  auto kept = clip_and_weigh(delta, 3, config(c));
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->stats.clipped);
  EXPECT_EQ(kept->delta, delta);
  // In the ring too: the same vector as with clipping off, draw for draw.
  crypto::SeededRng a(9), b(9);
  auto with_clip = build_client_update(delta, 3, config(c), a);
  auto without = build_client_update(delta, 3, config(0), b);
  ASSERT_TRUE(with_clip.ok() && without.ok());
  EXPECT_EQ(with_clip->ring, without->ring);
  EXPECT_FALSE(without->stats.clipped);
  EXPECT_DOUBLE_EQ(without->stats.l2_norm, norm(delta));
}

TEST(ClientUpdate, TheClipComesBeforeTheWeightSoACountCannotLoosenIt) {
  // Norm 1.6, C = 1, half the maximum weight. Weighting first would shrink it
  // to 0.8 and escape the clip; the decoded mean (weight divided out again)
  // must have norm C.
  const std::vector<float> delta = {1.2f, -0.8f, 0.6f, -0.4f, 0.2f};  // norm 1.6
  const ClientUpdateConfig c = config(1.0, 100);
  crypto::SeededRng rng(1);
  auto update = build_client_update(delta, 50, c, rng);
  ASSERT_TRUE(update.ok());
  EXPECT_TRUE(update->stats.clipped);
  EXPECT_DOUBLE_EQ(update->stats.weight, 50);
  auto decoded = dequantize_sum(update->ring, 1, c.quantization);
  ASSERT_TRUE(decoded.ok());
  EXPECT_NEAR(norm(decoded->mean), 1.0, 3 * quantization_step(c.quantization));
}

TEST(ClientUpdate, FromWeightsEqualsFromTheDelta) {
  crypto::SeededRng data(3);
  const std::vector<float> global = random_update(data, 300, 1.0);
  std::vector<float> trained = global;
  for (auto& x : trained) x += static_cast<float>(data.uniform01() - 0.5);
  std::vector<float> delta(global.size());
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = trained[i] - global[i];
  crypto::SeededRng a(4), b(4);
  auto from_weights = build_client_update(global, trained, 20, config(2.0, 40), a);
  auto from_delta = build_client_update(delta, 20, config(2.0, 40), b);
  ASSERT_TRUE(from_weights.ok() && from_delta.ok());
  EXPECT_EQ(from_weights->ring, from_delta->ring);
  EXPECT_EQ(from_weights->ring.back(), 20u);  // the weight coordinate
}

TEST(ClientUpdate, BadInputIsRefusedBeforeAnyRandomnessIsDrawn) {
  crypto::SeededRng rng(5);
  const std::vector<float> ok = {0.1f, 0.2f};
  auto expect_refused = [&](Result<ClientUpdate> r, std::string_view names) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(names), std::string::npos) << r.status().message();
  };
  expect_refused(build_client_update(std::vector<float>{0.1f, NAN}, 1, config(1), rng),
                 "coordinate 1");
  expect_refused(build_client_update(std::vector<float>{INFINITY}, 1, config(0), rng),
                 "coordinate 0");
  expect_refused(build_client_update(ok, std::vector<float>{0.1f}, 1, config(1), rng),
                 "model of 2");
  expect_refused(build_client_update(ok, 1, config(-1), rng), "l2_clip");
  expect_refused(build_client_update(ok, 1, config(NAN), rng), "l2_clip");
  ClientUpdateConfig bad_bits = config(1);
  bad_bits.quantization.bits = 1;
  expect_refused(build_client_update(ok, 1, bad_bits, rng), "bits");
  EXPECT_FALSE(clip_and_weigh(std::vector<float>{NAN}, 1, config(1)).ok());
  crypto::SeededRng fresh(5);
  EXPECT_EQ(rng.next_u64(), fresh.next_u64());  // no draw was consumed
}

TEST(ClientUpdate, SameSeedSameRingVector) {
  crypto::SeededRng data(6);
  const std::vector<float> delta = random_update(data, 1000, 0.5);
  crypto::SeededRng a(42), b(42), c(43);
  auto x = build_client_update(delta, 7, config(1.0, 10), a);
  auto y = build_client_update(delta, 7, config(1.0, 10), b);
  auto z = build_client_update(delta, 7, config(1.0, 10), c);
  EXPECT_EQ(x->ring, y->ring);
  EXPECT_NE(x->ring, z->ring);  // stochastic rounding does depend on the stream
}

}  // namespace
}  // namespace fl::aggregation
