// Correctness of secure aggregation: the server learns exactly the sum of the
// inputs of the clients that sent a masked input, whoever drops out when.
#include <gtest/gtest.h>

#include "tests/aggregation/secagg_harness.h"

namespace fl::aggregation::secagg {
namespace {

using testing::RoundSetup;
using testing::TestRound;

TEST(SecAggServer, RecoversExactSumWithNoDropouts) {
  TestRound round({.clients = 10, .dim = 1000});
  auto r1 = round.advertise();
  auto r2 = round.step(r1);
  auto r3 = round.step(r2);
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({})));
}

// fl-sim's cohort shares one SessionConfig among its client sessions: the
// same exact sum, and a client not in the cohort is still refused.
TEST(SecAggServer, ClientsSharingOneConfigurationGiveTheExactSum) {
  TestRound round({.clients = 12, .dim = 300, .shared_config = true});
  auto r1 = round.advertise({0});
  auto r2 = round.step(r1);
  auto r3 = round.step(r2, {3});
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({0, 3})));
  auto shared = SessionConfig::create(round.config);
  ASSERT_TRUE(shared.ok());
  crypto::SeededRng rng(1, "test.outsider");
  auto outsider = SecAggClient::create(*shared, 99, rng);
  ASSERT_FALSE(outsider.ok());
  EXPECT_NE(outsider.status().message().find("not in the cohort"), std::string::npos);
}

TEST(SecAggServer, RecoversSumWhenClientsDropAtEveryStage) {
  // 20 clients, threshold 11: one drops before advertising, two before sharing
  // keys, two after sharing keys (their masks must be cancelled), two after
  // sending the masked input (their inputs count, their shares are missing).
  TestRound round({.clients = 20, .dim = 257});
  auto r1 = round.advertise({0});
  auto r2 = round.step(r1, {1, 2});
  auto r3 = round.step(r2, {3, 4});
  round.step(r3, {5, 6});
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({0, 1, 2, 3, 4})));
  auto counts = round.server->counts();
  EXPECT_EQ(counts.advertised, 19u);
  EXPECT_EQ(counts.shared_keys, 17u);
  EXPECT_EQ(counts.masked_input, 15u);
  EXPECT_EQ(counts.unmasked, 13u);
}

// Survivors reveal the pairwise seeds of their dropped peers, so the server
// runs an X25519 agreement only for a pair whose survivor sent its masked
// input and then dropped too; a client that reveals no seeds (one from before
// RevealedPairSeed) leaves every pair to the agreement, with the same sum.
TEST(SecAggServer, AgreesKeysOnlyForPairsWhoseSeedNoSurvivorRevealed) {
  for (const bool legacy : {false, true}) {
    SCOPED_TRACE(legacy ? "clients without pair seeds" : "clients with pair seeds");
    TestRound round({.clients = 20, .dim = 257, .reveal_pair_seeds = true});
    if (legacy)
      round.tamper = [](uint32_t, proto::ClientToServer& m) {
        if (m.has_unmasking_shares()) m.mutable_unmasking_shares()->clear_pair_seeds();
      };
    auto r1 = round.advertise({0});
    auto r2 = round.step(r1, {1, 2});
    auto r3 = round.step(r2, {3, 4});  // their pairwise masks are in 15 inputs
    round.step(r3, {5, 6});            // 13 survivors reveal; 5 and 6 do not
    ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted)
        << round.server->abort_reason();
    EXPECT_EQ(round.result(), round.plain_sum(round.all_but({0, 1, 2, 3, 4})));
    const auto& stats = round.server->unmasking_stats();
    EXPECT_EQ(stats.pairwise_masks_removed, 2u * 15u);
    EXPECT_EQ(stats.key_agreements, legacy ? 2u * 15u : 2u * 2u);
    EXPECT_EQ(stats.pair_seeds_used, legacy ? 0u : 2u * 13u);
  }
}

// When every survivor of a dropped client's peers revealed its seed, the
// server needs no share of that client's mask key at all.
TEST(SecAggServer, NeedsNoMaskKeySharesWhenEverySeedArrived) {
  TestRound round({.clients = 10, .dim = 64, .reveal_pair_seeds = true});
  round.tamper = [](uint32_t, proto::ClientToServer& m) {
    if (m.has_unmasking_shares()) {
      auto* shares = m.mutable_unmasking_shares()->mutable_shares();
      for (int i = shares->size() - 1; i >= 0; --i)
        if (shares->Get(i).kind() == proto::RevealedShare::MASK_SECRET_KEY)
          shares->DeleteSubrange(i, 1);
    }
  };
  auto r1 = round.advertise();
  auto r2 = round.step(r1);
  auto r3 = round.step(r2, {7});
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({7})));
  EXPECT_EQ(round.server->unmasking_stats().key_agreements, 0u);
  EXPECT_EQ(round.server->unmasking_stats().secrets_reconstructed, 9u);  // the b of each survivor
}

TEST(SecAggServer, RecoversSumOnHararyGraphWithDropouts) {
  TestRound round(
      {.clients = 40, .dim = 300, .graph = GraphKind::kHarary, .degree = 10, .threshold = 7});
  auto r1 = round.advertise({7});
  auto r2 = round.step(r1, {11});
  auto r3 = round.step(r2, {13, 29});
  round.step(r3, {31});
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({7, 11, 13, 29})));
}

TEST(SecAggServer, RecoversSumWithEitherMaskPrgAndBothRings) {
  for (crypto::MaskPrg prg : {crypto::MaskPrg::kAes256Ctr, crypto::MaskPrg::kChaCha20})
    for (crypto::RingBits ring : {crypto::RingBits::k32, crypto::RingBits::k64}) {
      SCOPED_TRACE(std::string(crypto::mask_prg_name(prg)) + " ring " +
                   std::to_string(static_cast<int>(ring)));
      // 12 clients over two unmasking blocks: drops after sharing keys leave
      // pairwise masks for the server to remove, survivors their self masks.
      TestRound round({.clients = 12, .dim = 9000, .ring = ring, .prg = prg});
      auto r3 = round.step(round.step(round.advertise({0}), {1}), {2, 3});
      round.step(r3, {4});
      ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted)
          << round.server->abort_reason();
      EXPECT_EQ(round.result(), round.plain_sum(round.all_but({0, 1, 2, 3})));
    }
}

TEST(SecAggServer, WorksInThe64BitRing) {
  TestRound round({.clients = 6, .dim = 99, .ring = crypto::RingBits::k64});
  auto r3 = round.step(round.step(round.advertise(), {}), {2});
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted);
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({2})));
}

TEST(SecAggServer, UnmaskingOnSeveralThreadsGivesTheSameSum) {
  // A dimension spanning several unmasking blocks, with a ragged last block.
  for (unsigned threads : {1u, 2u, 4u}) {
    TestRound round({.clients = 8, .dim = 20000 + 13, .server_threads = threads});
    auto r3 = round.step(round.step(round.advertise(), {}), {1});
    round.step(r3, {2});
    ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted);
    EXPECT_EQ(round.result(), round.plain_sum(round.all_but({1}))) << threads << " threads";
  }
}

TEST(SecAggServer, AbortsWhenTooFewClientsAdvertiseKeys) {
  TestRound round({.clients = 10, .dim = 10, .threshold = 6});
  auto out = round.advertise({0, 1, 2, 3, 4});  // 5 < t = 6
  EXPECT_EQ(round.server->stage(), SecAggServer::Stage::kAborted);
  EXPECT_NE(round.server->abort_reason().find("threshold"), std::string::npos);
  ASSERT_EQ(out.size(), 5u);  // every client still there is told
  for (const auto& m : out) EXPECT_TRUE(m.has_abort());
}

TEST(SecAggServer, AbortsWhenTooFewMaskedInputsArrive) {
  TestRound round({.clients = 10, .dim = 10, .threshold = 6});
  auto r2 = round.step(round.advertise());
  round.step(r2, {0, 1, 2, 3, 4});
  EXPECT_EQ(round.server->stage(), SecAggServer::Stage::kAborted);
  EXPECT_TRUE(round.server->result().empty());
}

TEST(SecAggServer, FewerThanThresholdUnmaskingResponsesRevealNothing) {
  // Only t - 1 clients answer the unmasking request: no secret can be opened,
  // so the server aborts and exposes no sum.
  TestRound round({.clients = 10, .dim = 10, .threshold = 6});
  auto r3 = round.step(round.step(round.advertise()));
  round.step(r3, {0, 1, 2, 3, 4});  // 5 answer
  EXPECT_EQ(round.server->stage(), SecAggServer::Stage::kAborted);
  EXPECT_NE(round.server->abort_reason().find("threshold"), std::string::npos);
}

TEST(SecAggServer, KeepsOneRunningSumNotEveryUpdate) {
  // Peak state grows with dim + cohort x k, not with cohort x dim.
  const uint64_t dim = 50000;
  TestRound round(
      {.clients = 30, .dim = dim, .graph = GraphKind::kHarary, .degree = 6, .threshold = 4});
  auto r3 = round.step(round.step(round.advertise()));
  round.step(r3);
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted);
  const size_t peak = round.server->peak_state_bytes();
  EXPECT_GE(peak, dim * 8);
  EXPECT_LT(peak, dim * 8 + 30 * 7 * 1024);  // far below 30 x dim x 4 bytes
}

TEST(SecAggClient, SameSeedGivesTheSameMessages) {
  TestRound a({.clients = 5, .dim = 64, .seed = 9});
  TestRound b({.clients = 5, .dim = 64, .seed = 9});
  auto ra = a.step(a.advertise());
  auto rb = b.step(b.advertise());
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i)
    EXPECT_EQ(ra[i].SerializeAsString(), rb[i].SerializeAsString());
}

}  // namespace
}  // namespace fl::aggregation::secagg
