// Security properties of secure aggregation, tested as properties: what an
// honest client refuses to do, and what bad input cannot change.
#include <gtest/gtest.h>

#include <cstring>

#include "crypto/mask_prg.h"
#include "crypto/shamir.h"
#include "tests/aggregation/secagg_harness.h"

namespace fl::aggregation::secagg {
namespace {

using testing::message_for;
using testing::TestRound;

// Runs rounds 0-2 and returns the unmasking requests.
std::vector<proto::ServerToClient> up_to_unmasking(TestRound& round,
                                                   const std::set<uint32_t>& drop_masked = {}) {
  auto r2 = round.step(round.advertise());
  return round.step(r2, drop_masked);
}

TEST(SecAggClient, RefusesToRevealBothSharesOfOnePeer) {
  TestRound round({.clients = 8, .dim = 16});
  auto r3 = up_to_unmasking(round);
  // A curious server names client 3 both a survivor and a dropout, hoping for
  // the share of b_3 and of s_3 at once: with t such answers it could unmask
  // client 3's input alone.
  proto::ServerToClient evil = message_for(r3, round.id(0));
  evil.mutable_unmasking()->add_dropped(round.id(3));
  auto reply = round.clients[0]->handle(evil);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kAborted);
  EXPECT_NE(reply.status().message().find("both"), std::string::npos);
  EXPECT_EQ(round.clients[0]->stage(), SecAggClient::Stage::kAborted);
  // Having aborted, it answers nothing more, even the honest request.
  EXPECT_FALSE(round.clients[0]->handle(message_for(r3, round.id(0))).ok());
}

TEST(SecAggClient, AnswersTheUnmaskingRequestOnlyOnce) {
  TestRound round({.clients = 8, .dim = 16});
  auto r3 = up_to_unmasking(round);
  const auto& honest = message_for(r3, round.id(0));
  auto first = round.clients[0]->handle(honest);
  ASSERT_TRUE(first.ok());
  // The same peers asked again, now as dropouts: the mask-key shares would
  // complete the picture. The client refuses.
  proto::ServerToClient second = honest;
  second.mutable_unmasking()->clear_survivors();
  for (uint64_t id : honest.unmasking().survivors()) second.mutable_unmasking()->add_dropped(id);
  auto again = round.clients[0]->handle(second);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAborted);
}

TEST(SecAggClient, RevealsOnlyOneKindOfShareForEachPeer) {
  TestRound round({.clients = 8, .dim = 16});
  auto r3 = up_to_unmasking(round, {5});  // 5 dropped after sharing keys
  for (uint32_t i = 0; i < 8; ++i) {
    if (i == 5) continue;
    auto reply = round.clients[i]->handle(message_for(r3, round.id(i)));
    ASSERT_TRUE(reply.ok());
    std::map<uint64_t, int> kinds;
    for (const auto& s : (*reply)->unmasking_shares().shares()) {
      EXPECT_EQ(++kinds[s.owner()], 1) << "two shares of one owner";
      EXPECT_EQ(s.kind(), s.owner() == round.id(5) ? proto::RevealedShare::MASK_SECRET_KEY
                                                   : proto::RevealedShare::SELF_MASK_SEED);
    }
  }
}

// The pairwise seeds a survivor reveals (so the server need not re-derive them
// with X25519) are exactly those of the peers the request listed as dropped,
// and each is the seed the client masked with: the one the server would derive
// from the dropped peer's reconstructed mask key.
TEST(SecAggClient, RevealsPairwiseSeedsOnlyForPeersListedAsDropped) {
  TestRound round({.clients = 8, .dim = 16, .reveal_pair_seeds = true});
  auto r3 = up_to_unmasking(round, {2, 5});  // 2 and 5 dropped after sharing keys
  for (uint32_t i = 0; i < 8; ++i) {
    if (i == 2 || i == 5) continue;
    auto reply = round.clients[i]->handle(message_for(r3, round.id(i)));
    ASSERT_TRUE(reply.ok());
    std::set<uint64_t> peers;
    for (const auto& p : (*reply)->unmasking_shares().pair_seeds()) {
      EXPECT_TRUE(peers.insert(p.peer()).second) << "two seeds for one peer";
      EXPECT_EQ(p.seed().size(), 32u);
    }
    EXPECT_EQ(peers, (std::set<uint64_t>{round.id(2), round.id(5)})) << "client " << i;
  }
}

// The attack reveal_pair_seeds opens, played: a coordinator that lies in the
// unmasking request, with no colluding client, recovers client 0's input. It
// tells client 0 that t - 1 peers survived and the rest dropped (which passes
// client 0's own checks), tells those t - 1 peers that client 0 dropped, and
// tells the others the truth. With the seeds it then holds t shares of b_0 and
// every pairwise seed of y_0. By default the same lies give it the shares of
// b_0 but only t - 1 shares of client 0's mask key and no seed: y_0 stays
// masked by its pairwise masks.
TEST(SecAggSecurity, LyingServerAloneRecoversAnInputOnlyWhenPairSeedsAreRevealed) {
  for (const bool reveal : {true, false}) {
    SCOPED_TRACE(reveal ? "reveal_pair_seeds on (weakened)" : "default");
    TestRound round({.clients = 5, .dim = 32, .reveal_pair_seeds = reveal});
    const uint32_t t = round.config.threshold();
    ASSERT_EQ(t, 3u);
    auto r3 = up_to_unmasking(round);  // everyone masked: the server holds y_0
    const std::string y0 = round.last_reply[0].masked_input().vector();
    auto lie = [&](uint32_t to, std::vector<uint32_t> survivors, std::vector<uint32_t> dropped) {
      proto::ServerToClient m = message_for(r3, round.id(to));
      auto* u = m.mutable_unmasking();
      u->clear_survivors();
      u->clear_dropped();
      for (uint32_t i : survivors) u->add_survivors(round.id(i));
      for (uint32_t i : dropped) u->add_dropped(round.id(i));
      return m;
    };
    const proto::ServerToClient requests[5] = {lie(0, {1, 2}, {3, 4}), lie(1, {2, 3, 4}, {0}),
                                               lie(2, {1, 3, 4}, {0}), message_for(r3, round.id(3)),
                                               message_for(r3, round.id(4))};
    std::vector<crypto::ShamirShare> b0, s0;
    std::vector<crypto::Secret32> seeds;  // of client 0's pairs
    for (uint32_t i = 0; i < 5; ++i) {
      auto reply = round.clients[i]->handle(requests[i]);
      ASSERT_TRUE(reply.ok()) << reply.status().to_string();  // no client notices
      for (const auto& r : (*reply)->unmasking_shares().shares()) {
        if (r.owner() != round.id(0)) continue;
        auto share = crypto::ShamirShare::parse(
            crypto::ByteSpan(reinterpret_cast<const uint8_t*>(r.share().data()), r.share().size()));
        ASSERT_TRUE(share.ok());
        (r.kind() == proto::RevealedShare::SELF_MASK_SEED ? b0 : s0).push_back(*share);
      }
      for (const auto& p : (*reply)->unmasking_shares().pair_seeds())
        if (i == 0 || p.peer() == round.id(0)) {
          crypto::Secret32 seed;
          std::memcpy(seed.data(), p.seed().data(), crypto::Secret32::size());
          seeds.push_back(seed);
        }
    }
    ASSERT_EQ(b0.size(), t);  // the self-mask opens either way
    if (!reveal) {
      EXPECT_LT(s0.size(), t);  // the mask key does not
      EXPECT_TRUE(seeds.empty());
      continue;
    }
    ASSERT_EQ(seeds.size(), 4u);  // one per peer of client 0
    auto b = crypto::shamir_reconstruct(b0);
    ASSERT_TRUE(b.ok());
    std::vector<uint64_t> x(32);
    for (size_t j = 0; j < x.size(); ++j) {
      uint32_t w = 0;
      std::memcpy(&w, y0.data() + 4 * j, 4);
      x[j] = w;
    }
    crypto::prg_subtract(round.config.prg() == proto::MASK_PRG_AES256_CTR
                             ? crypto::MaskPrg::kAes256Ctr
                             : crypto::MaskPrg::kChaCha20,
                         *b, crypto::RingBits::k32, x);
    for (const auto& seed : seeds)  // client 0 has the smallest id: it added every pair mask
      crypto::prg_subtract(kDefaultMaskPrg, seed, crypto::RingBits::k32, x);
    for (auto& v : x) v &= crypto::ring_mask(crypto::RingBits::k32);
    EXPECT_EQ(x, round.inputs[0]) << "the attack no longer works: update the threat model";
  }
}

// By default clients reveal no pairwise seeds, and the server refuses one.
TEST(SecAggServer, ByDefaultSessionsCarryNoPairwiseSeeds) {
  TestRound round({.clients = 6, .dim = 16});
  auto r3 = up_to_unmasking(round, {4});
  auto reply = round.clients[0]->handle(message_for(r3, round.id(0)));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ((*reply)->unmasking_shares().pair_seeds_size(), 0);
  proto::ClientToServer forged = **reply;
  auto* seed = forged.mutable_unmasking_shares()->add_pair_seeds();
  seed->set_peer(round.id(4));
  seed->set_seed(std::string(32, '\x01'));
  auto refused = round.server->handle(round.id(0), forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("reveal_pair_seeds is off"), std::string::npos);
  EXPECT_EQ(round.server->counts().unmasked, 0u);
  EXPECT_TRUE(round.server->handle(round.id(0), **reply).ok());
}

TEST(SecAggClient, RefusesToUnmaskFewerSurvivorsThanTheThreshold) {
  // Unmasking a "sum" of one input is unmasking that input: an honest client
  // demands at least t survivors before revealing self-mask shares.
  TestRound round({.clients = 8, .dim = 16, .threshold = 5});
  auto r3 = up_to_unmasking(round);
  proto::ServerToClient evil = message_for(r3, round.id(0));
  evil.mutable_unmasking()->clear_survivors();
  evil.mutable_unmasking()->add_survivors(round.id(1));
  auto reply = round.clients[0]->handle(evil);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kAborted);
}

TEST(SecAggClient, RejectsTooFewPeersAtKeySharing) {
  TestRound round({.clients = 8, .dim = 16, .threshold = 5});
  auto r1 = round.advertise();
  proto::ServerToClient evil = message_for(r1, round.id(0));
  while (evil.share_keys().peers_size() > 2)
    evil.mutable_share_keys()->mutable_peers()->RemoveLast();
  auto reply = round.clients[0]->handle(evil);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kAborted);
}

TEST(SecAggClient, TreatsAnUnusableCiphertextAsSharesItDoesNotHold) {
  // One peer's ciphertext is tampered with, another's truncated, a third's
  // sender swapped (the AD binds each ciphertext to its sender): that is those
  // peers' (or a tamperer's) fault, not a reason to abort. The client masks as
  // the server expects and, at unmasking, gives no share it does not hold.
  TestRound round({.clients = 6, .dim = 16});
  auto r2 = round.step(round.advertise());
  proto::ServerToClient bad = message_for(r2, round.id(2));
  auto* s = bad.mutable_masked_input()->mutable_shares();
  ASSERT_GE(s->size(), 4);
  (*s->Mutable(0)->mutable_ciphertext())[30] ^= 0x01;
  s->Mutable(1)->mutable_ciphertext()->resize(10);
  std::swap(*s->Mutable(2)->mutable_ciphertext(), *s->Mutable(3)->mutable_ciphertext());
  std::set<uint64_t> unusable;
  for (int i = 0; i < 4; ++i) unusable.insert(s->Get(i).sender());
  ASSERT_TRUE(round.clients[2]->set_input(round.inputs[2]).ok());
  auto reply = round.clients[2]->handle(bad);
  ASSERT_TRUE(reply.ok()) << reply.status().to_string();
  EXPECT_EQ(round.clients[2]->stage(), SecAggClient::Stage::kMaskedInputSent);
  // Let the other clients answer round 2 honestly, then unmask.
  ASSERT_TRUE(round.server->handle(round.id(2), **reply).ok());
  std::vector<proto::ServerToClient> r2_others;
  for (const auto& m : r2)
    if (m.recipient() != round.id(2)) r2_others.push_back(m);
  auto r3 = round.step(r2_others);
  auto shares = round.clients[2]->handle(message_for(r3, round.id(2)));
  ASSERT_TRUE(shares.ok()) << shares.status().to_string();
  std::set<uint64_t> revealed;
  for (const auto& share : (*shares)->unmasking_shares().shares()) revealed.insert(share.owner());
  for (uint64_t id : unusable) EXPECT_FALSE(revealed.count(id)) << id;
  EXPECT_TRUE(revealed.count(round.id(5)));  // the one usable peer
  EXPECT_TRUE(revealed.count(round.id(2)));  // its own self-mask share
}

TEST(SecAggClient, RejectsMessagesForAnotherSessionRecipientOrStage) {
  TestRound round({.clients = 6, .dim = 16});
  auto r1 = round.advertise();
  proto::ServerToClient m = message_for(r1, round.id(1));
  proto::ServerToClient other_session = m;
  other_session.set_session_id(std::string(32, 'x'));
  EXPECT_EQ(round.clients[1]->handle(other_session).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(round.clients[0]->handle(m).status().code(), ErrorCode::kInvalidArgument);
  proto::ServerToClient early = m;
  early.mutable_unmasking();  // replaces the body: a round-3 request in round 1
  EXPECT_EQ(round.clients[1]->handle(early).status().code(), ErrorCode::kFailedPrecondition);
  proto::ServerToClient unknown_peer = m;
  unknown_peer.mutable_share_keys()->mutable_peers(0)->set_client(999999);
  EXPECT_EQ(round.clients[1]->handle(unknown_peer).status().code(), ErrorCode::kNotFound);
  proto::ServerToClient short_key = m;
  short_key.mutable_share_keys()->mutable_peers(0)->set_mask_public_key("short");
  EXPECT_EQ(round.clients[1]->handle(short_key).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(round.clients[1]->stage(), SecAggClient::Stage::kAdvertised);
  EXPECT_TRUE(round.clients[1]->handle(m).ok());
}

TEST(SecAggClient, DetectsSubstitutedKeysWhenIdentitiesAreKnown) {
  TestRound round({.clients = 6, .dim = 16, .identities = true});
  auto r1 = round.advertise();
  proto::ServerToClient m = message_for(r1, round.id(0));
  // The server swaps in a key pair of its own for peer 1 (a man in the middle).
  crypto::SeededRng rng(5);
  auto mitm = crypto::x25519_keypair(rng);
  m.mutable_share_keys()->mutable_peers(0)->set_mask_public_key(
      std::string(mitm.public_key.begin(), mitm.public_key.end()));
  auto reply = round.clients[0]->handle(m);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(round.clients[0]->handle(message_for(r1, round.id(0))).ok());
}

TEST(SecAggServer, RejectsBadMessagesWithoutChangingState) {
  TestRound round({.clients = 6, .dim = 16});
  auto r1 = round.advertise();
  auto r2 = round.step(r1);
  // Round 2 is open. Build one honest masked input to corrupt in many ways.
  ASSERT_TRUE(round.clients[0]->set_input(round.inputs[0]).ok());
  auto reply = round.clients[0]->handle(message_for(r2, round.id(0)));
  ASSERT_TRUE(reply.ok());
  const proto::ClientToServer honest = **reply;
  const auto before = round.server->counts();
  const size_t state_before = round.server->state_bytes();

  auto expect_rejected = [&](uint64_t sender, const proto::ClientToServer& m, ErrorCode code) {
    auto r = round.server->handle(sender, m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_EQ(round.server->counts().masked_input, before.masked_input);
    EXPECT_EQ(round.server->state_bytes(), state_before);
  };

  proto::ClientToServer m = honest;
  m.set_session_id(std::string(32, 'z'));
  expect_rejected(round.id(0), m, ErrorCode::kInvalidArgument);
  m = honest;
  m.set_protocol_version(99);
  expect_rejected(round.id(0), m, ErrorCode::kInvalidArgument);
  expect_rejected(round.id(1), honest, ErrorCode::kPermissionDenied);  // claims another sender
  m = honest;
  m.set_sender(424242);
  expect_rejected(424242, m, ErrorCode::kNotFound);  // not in the cohort
  m = honest;
  m.mutable_masked_input()->mutable_vector()->resize(15 * 4);  // wrong dimension
  expect_rejected(round.id(0), m, ErrorCode::kInvalidArgument);
  m = honest;
  m.mutable_advertise_keys();  // a round-0 message in round 2: that stage is closed
  expect_rejected(round.id(0), m, ErrorCode::kFailedPrecondition);
  m = honest;
  m.mutable_unmasking_shares();  // too early
  expect_rejected(round.id(0), m, ErrorCode::kFailedPrecondition);

  // The honest message is accepted once; its replay is refused and adds nothing.
  ASSERT_TRUE(round.server->handle(round.id(0), honest).ok());
  const auto after_one = round.server->counts();
  const size_t state_after_one = round.server->state_bytes();
  auto replay = round.server->handle(round.id(0), honest);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(round.server->counts().masked_input, after_one.masked_input);
  EXPECT_EQ(round.server->state_bytes(), state_after_one);
  EXPECT_TRUE(round.server->result().empty());  // no partial sum is ever exposed
}

TEST(SecAggServer, ReplayedMessagesDoNotChangeTheSum) {
  TestRound round({.clients = 6, .dim = 32});
  auto r1 = round.advertise();
  auto r2 = round.step(r1);
  auto r3 = round.step(r2, {}, /*close=*/false);
  // Replays of every round-2 message after the stage closed, and a replay of
  // an unmasking reply, are rejected and leave the result exact.
  for (auto& [i, reply] : round.last_reply)
    EXPECT_FALSE(round.server->handle(round.id(i), reply).ok());
  round.step(r3, {5}, /*close=*/false);
  EXPECT_FALSE(round.server->handle(round.id(0), round.last_reply[0]).ok());
  round.server->close_stage();
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted);
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({})));
}

TEST(SecAggServer, RejectsForgedUnmaskingShares) {
  TestRound round({.clients = 6, .dim = 16});
  auto r3 = up_to_unmasking(round, {4});
  auto reply = round.clients[0]->handle(message_for(r3, round.id(0)));
  ASSERT_TRUE(reply.ok());
  const proto::ClientToServer honest = **reply;
  auto expect_bad = [&](const proto::ClientToServer& m) {
    auto r = round.server->handle(round.id(0), m);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(round.server->counts().unmasked, 0u);
  };
  proto::ClientToServer m = honest;
  // Asking for the other kind of share of a survivor: refused by the server too.
  for (auto& s : *m.mutable_unmasking_shares()->mutable_shares())
    if (s.owner() != round.id(4)) s.set_kind(proto::RevealedShare::MASK_SECRET_KEY);
  expect_bad(m);
  m = honest;
  m.mutable_unmasking_shares()->mutable_shares(0)->mutable_share()->resize(40);  // wrong size
  expect_bad(m);
  m = honest;
  *m.mutable_unmasking_shares()->add_shares() = honest.unmasking_shares().shares(0);  // duplicate
  expect_bad(m);
  m = honest;
  m.mutable_unmasking_shares()->mutable_shares(0)->set_owner(777);  // unknown owner
  expect_bad(m);
  EXPECT_TRUE(round.server->handle(round.id(0), honest).ok());
}

TEST(SecAggServer, RejectsForgedPairwiseSeedsWithoutChangingState) {
  TestRound round({.clients = 6, .dim = 16, .reveal_pair_seeds = true});
  auto r3 = up_to_unmasking(round, {4});
  auto reply = round.clients[0]->handle(message_for(r3, round.id(0)));
  ASSERT_TRUE(reply.ok());
  const proto::ClientToServer honest = **reply;
  ASSERT_EQ(honest.unmasking_shares().pair_seeds_size(), 1);
  auto expect_bad = [&](const proto::ClientToServer& m, const std::string& why) {
    auto r = round.server->handle(round.id(0), m);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().to_string();
    EXPECT_EQ(round.server->counts().unmasked, 0u);
  };
  proto::ClientToServer m = honest;
  // A seed for a peer whose masked input arrived would strip its pairwise mask.
  m.mutable_unmasking_shares()->mutable_pair_seeds(0)->set_peer(round.id(1));
  expect_bad(m, "not a dropped peer");
  m = honest;
  m.mutable_unmasking_shares()->mutable_pair_seeds(0)->set_peer(round.id(0));  // itself
  expect_bad(m, "not a dropped peer");
  m = honest;
  m.mutable_unmasking_shares()->mutable_pair_seeds(0)->set_peer(777);
  expect_bad(m, "unknown client");
  m = honest;
  m.mutable_unmasking_shares()->mutable_pair_seeds(0)->mutable_seed()->resize(31);
  expect_bad(m, "not 32");
  m = honest;
  *m.mutable_unmasking_shares()->add_pair_seeds() = honest.unmasking_shares().pair_seeds(0);
  expect_bad(m, "two pairwise seeds");
  EXPECT_TRUE(round.server->handle(round.id(0), honest).ok());
  // The rest answer; the sum is exact: nothing refused above was kept.
  for (uint32_t i = 1; i < 6; ++i) {
    if (i == 4) continue;
    auto r = round.clients[i]->handle(message_for(r3, round.id(i)));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(round.server->handle(round.id(i), **r).ok());
  }
  ASSERT_EQ(round.server->stage(), SecAggServer::Stage::kCompleted) << round.server->abort_reason();
  EXPECT_EQ(round.result(), round.plain_sum(round.all_but({4})));
  EXPECT_EQ(round.server->unmasking_stats().key_agreements, 0u);
}

TEST(SecAggSessionConfig, RefusesThresholdsThatWouldLetTheServerOpenBothSecrets) {
  TestRound round({.clients = 6, .dim = 4});
  proto::SecAggConfig c = round.config;
  c.set_threshold(3);  // = 6 / 2: two disjoint halves could each reach t
  EXPECT_FALSE(SessionConfig::create(c).ok());
  c.set_threshold(7);  // more than the cohort
  EXPECT_FALSE(SessionConfig::create(c).ok());
  c.set_threshold(4);
  EXPECT_TRUE(SessionConfig::create(c).ok());
}

TEST(SecAggSessionConfig, RefusesAMaskPrgItDoesNotKnowNamingPrg) {
  // A client that masked with a PRG other than the server's would send noise.
  TestRound round({.clients = 6, .dim = 4});
  proto::SecAggConfig c = round.config;
  c.set_prg(static_cast<proto::MaskPrg>(7));  // a value from a newer server
  auto refused = SessionConfig::create(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("prg: ", 0), 0u) << refused.status().message();
  EXPECT_NE(refused.status().message().find("7"), std::string::npos);
}

TEST(SecAggSessionConfig, OnlyChaCha20SessionsAreVersion1SoOlderClientsRefuseTheRest) {
  // Clients from before SecAggConfig.prg ignore the field and mask with
  // ChaCha20; they accept only version 1, so an AES session must not be one.
  for (crypto::MaskPrg prg : {crypto::MaskPrg::kAes256Ctr, crypto::MaskPrg::kChaCha20}) {
    TestRound round({.clients = 6, .dim = 4, .prg = prg});
    proto::SecAggConfig c = round.config;
    auto config = SessionConfig::create(c);
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    EXPECT_EQ((*config)->prg(), prg);
    const uint32_t version = prg == crypto::MaskPrg::kChaCha20 ? 1 : 2;
    EXPECT_EQ(c.protocol_version(), version);
    c.set_protocol_version(3 - version);  // the other one
    auto refused = SessionConfig::create(c);
    ASSERT_FALSE(refused.ok()) << crypto::mask_prg_name(prg);
    EXPECT_NE(refused.status().message().find("prg"), std::string::npos);
  }
  // A config written before the field (version 1, prg absent) is ChaCha20.
  TestRound round({.clients = 6, .dim = 4, .prg = crypto::MaskPrg::kChaCha20});
  proto::SecAggConfig old = round.config;
  old.clear_prg();
  auto config = SessionConfig::create(old);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)->prg(), crypto::MaskPrg::kChaCha20);
}

}  // namespace
}  // namespace fl::aggregation::secagg
