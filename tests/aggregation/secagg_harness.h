// A hand-driven secure aggregation round for tests: real client and server
// sessions, with every message passing through the test so it can drop,
// replay, tamper with or forge messages between the parties.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "aggregation/secagg/client_session.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/secagg/server_session.h"
#include "aggregation/secagg/session_config.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"

namespace fl::aggregation::secagg::testing {

struct RoundSetup {
  uint32_t clients = 8;
  uint64_t dim = 100;
  GraphKind graph = GraphKind::kComplete;
  uint32_t degree = 0;     // harary only
  uint32_t threshold = 0;  // 0: floor(m/2) + 1
  crypto::RingBits ring = crypto::RingBits::k32;
  crypto::MaskPrg prg = kDefaultMaskPrg;
  bool identities = false;
  unsigned server_threads = 1;
  ParallelExecutor* executor = nullptr;
  uint64_t seed = 42;
  bool shared_config = false;  // every client session on one SessionConfig (the simulator's way)
  bool reveal_pair_seeds = false;
};

class TestRound {
 public:
  explicit TestRound(const RoundSetup& s) : setup_(s) {
    crypto::SeededRng rng(s.seed, "test.round");
    const auto sid = rng.key32();
    std::vector<uint64_t> cohort;
    for (uint32_t i = 0; i < s.clients; ++i) cohort.push_back(100 + 7 * i);
    ProtocolParameters p;
    p.graph = s.graph;
    p.degree = s.graph == GraphKind::kComplete ? s.clients - 1 : s.degree;
    p.threshold = s.threshold ? s.threshold : (p.degree + 1) / 2 + 1;
    std::vector<crypto::Key32> ids;
    for (uint32_t i = 0; i < s.clients; ++i) {
      identities_.push_back(crypto::ed25519_keypair(rng));
      ids.push_back(identities_.back().public_key);
    }
    config = make_config(sid, cohort, p, s.dim, s.ring, s.prg,
                         s.identities ? ids : std::vector<crypto::Key32>{});
    config.set_reveal_pair_seeds(s.reveal_pair_seeds);
    auto server_or = SecAggServer::create(config, {s.server_threads, s.executor});
    EXPECT_TRUE(server_or.ok()) << server_or.status().to_string();
    server = std::move(*server_or);
    auto shared = SessionConfig::create(config);
    EXPECT_TRUE(shared.ok()) << shared.status().to_string();
    for (uint32_t i = 0; i < s.clients; ++i) {
      rngs.push_back(std::make_unique<crypto::SeededRng>(s.seed * 1000 + i, "test.client"));
      auto identity = s.identities ? std::optional(identities_[i]) : std::nullopt;
      auto c = s.shared_config ? SecAggClient::create(*shared, cohort[i], *rngs.back(), identity)
                               : SecAggClient::create(config, cohort[i], *rngs.back(), identity);
      EXPECT_TRUE(c.ok()) << c.status().to_string();
      clients.push_back(std::move(*c));
      crypto::SeededRng in(s.seed * 31 + i, "test.input");
      std::vector<uint64_t> v(s.dim);
      for (auto& x : v) x = in.next_u64() & crypto::ring_mask(s.ring);
      inputs.push_back(v);
    }
  }

  uint64_t id(uint32_t i) const { return config.cohort(static_cast<int>(i)); }
  uint32_t index(uint64_t client_id) const {
    for (int i = 0; i < config.cohort_size(); ++i)
      if (config.cohort(i) == client_id) return static_cast<uint32_t>(i);
    ADD_FAILURE() << "no client " << client_id;
    return 0;
  }

  // Round 0 for every client not in `absent`; returns the server's broadcast.
  std::vector<proto::ServerToClient> advertise(const std::set<uint32_t>& absent = {}) {
    std::vector<proto::ServerToClient> out;
    for (uint32_t i = 0; i < clients.size(); ++i) {
      if (absent.count(i)) continue;
      auto m = clients[i]->start();
      EXPECT_TRUE(m.ok());
      send(out, i, *m);
    }
    if (server->stage() == SecAggServer::Stage::kAdvertiseKeys) collect(out, server->close_stage());
    return out;
  }

  // Delivers server messages; the clients in `absent` do not answer. Each
  // client's reply goes to the server; returns what the server sends next.
  std::vector<proto::ServerToClient> step(const std::vector<proto::ServerToClient>& from_server,
                                          const std::set<uint32_t>& absent = {},
                                          bool close = true) {
    std::vector<proto::ServerToClient> out;
    const auto stage_before = server->stage();
    for (const auto& m : from_server) {
      const uint32_t i = index(m.recipient());
      if (absent.count(i)) continue;
      if (m.has_masked_input()) {
        EXPECT_TRUE(clients[i]->set_input(inputs[i]).ok());
      }
      auto reply = clients[i]->handle(m);
      EXPECT_TRUE(reply.ok()) << "client " << i << ": " << reply.status().to_string();
      if (!reply.ok() || !reply->has_value()) continue;
      last_reply[i] = **reply;
      send(out, i, **reply);
    }
    // The stage's deadline, unless every client answered and it closed itself.
    if (close && server->stage() == stage_before) collect(out, server->close_stage());
    return out;
  }

  // Client i's message to the server, rewritten by `tamper` first when set. The
  // server's answer to a hostile client's message is recorded, not checked.
  void send(std::vector<proto::ServerToClient>& out, uint32_t i, proto::ClientToServer m) {
    if (tamper) tamper(i, m);
    auto r = server->handle(id(i), m);
    if (hostile.count(i)) {
      if (!r.ok()) hostile_refusals.push_back(r.status());
      if (r.ok())
        for (auto& x : *r) out.push_back(std::move(x));
      return;
    }
    collect(out, std::move(r));
  }

  // Sum mod the ring of the inputs of clients at the given indices.
  std::vector<uint64_t> plain_sum(const std::set<uint32_t>& included) const {
    std::vector<uint64_t> sum(setup_.dim, 0);
    for (uint32_t i : included)
      for (size_t j = 0; j < sum.size(); ++j) sum[j] += inputs[i][j];
    for (auto& v : sum) v &= crypto::ring_mask(setup_.ring);
    return sum;
  }
  std::set<uint32_t> all_but(const std::set<uint32_t>& excluded) const {
    std::set<uint32_t> s;
    for (uint32_t i = 0; i < clients.size(); ++i)
      if (!excluded.count(i)) s.insert(i);
    return s;
  }
  std::vector<uint64_t> result() const {
    return std::vector<uint64_t>(server->result().begin(), server->result().end());
  }

  static void collect(std::vector<proto::ServerToClient>& out,
                      Result<std::vector<proto::ServerToClient>> r) {
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (r.ok())
      for (auto& m : *r) out.push_back(std::move(m));
  }
  static void collect(std::vector<proto::ServerToClient>& out,
                      std::vector<proto::ServerToClient> r) {
    for (auto& m : r) out.push_back(std::move(m));
  }

  RoundSetup setup_;
  proto::SecAggConfig config;
  std::unique_ptr<SecAggServer> server;
  std::vector<std::unique_ptr<crypto::SeededRng>> rngs;
  std::vector<std::unique_ptr<SecAggClient>> clients;
  std::vector<crypto::Ed25519KeyPair> identities_;
  std::vector<std::vector<uint64_t>> inputs;
  std::map<uint32_t, proto::ClientToServer> last_reply;
  // A hostile member: rewrites its messages; the server may refuse them.
  std::function<void(uint32_t index, proto::ClientToServer&)> tamper;
  std::set<uint32_t> hostile;
  std::vector<Status> hostile_refusals;
};

inline const proto::ServerToClient& message_for(const std::vector<proto::ServerToClient>& ms,
                                                uint64_t recipient) {
  for (const auto& m : ms)
    if (m.recipient() == recipient) return m;
  ADD_FAILURE() << "no message for " << recipient;
  return ms.front();
}

}  // namespace fl::aggregation::secagg::testing
