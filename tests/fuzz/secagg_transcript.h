// A recorded secure aggregation round between 4 deterministic clients and a
// server, for the fuzzers: they replay it to a chosen stage, then inject one
// mutated message. Recorded once per process. Client 3 drops after sharing
// keys (its masked input never comes; the masked-input stage is closed at its
// "deadline"), so the unmasking messages carry mask-key shares and, with
// reveal_pair_seeds on, pairwise seeds for it.
#pragma once

#include <memory>
#include <vector>

#include "aggregation/secagg/client_session.h"
#include "aggregation/secagg/server_session.h"
#include "crypto/rng.h"
#include "proto/secagg.pb.h"

namespace fl::fuzz {

struct Transcript {
  proto::SecAggConfig config;
  // up[stage][i]: client i's message of that stage (0 advertise .. 3 unmasking);
  // empty (no body) where client i sent none.
  std::vector<std::vector<proto::ClientToServer>> up;
  // down[stage][i]: the server's message to client i that opened stage+1.
  std::vector<std::vector<proto::ServerToClient>> down;
};

inline constexpr int kDropsAfterSharing = 3;

// Replays the transcript's client messages of stages [0, stage] into a fresh
// server, all but `skip`'s at `stage`, closing the masked-input stage as the
// recording did.
template <typename Server>
void replay(const Transcript& t, Server& server, int stage, int skip) {
  for (int s = 0; s <= stage; ++s) {
    for (int i = 0; i < 4; ++i) {
      if (s == stage && i == skip) continue;
      if (t.up[s][i].body_case() == proto::ClientToServer::BODY_NOT_SET) continue;
      (void)server.handle(t.config.cohort(i), t.up[s][i]);
    }
    if (s == 2 && s < stage) (void)server.close_stage();
  }
}

inline std::unique_ptr<crypto::SeededRng> client_rng(int i) {
  return std::make_unique<crypto::SeededRng>(1000 + i, "fuzz.client");
}

inline const Transcript& transcript() {
  static const Transcript t = [] {
    using namespace aggregation::secagg;
    Transcript t;
    ProtocolParameters p{GraphKind::kComplete, 3, 3};
    t.config = make_config(std::vector<uint8_t>(32, 9), {11, 22, 33, 44}, p, 64,
                           crypto::RingBits::k32, kDefaultMaskPrg);
    t.config.set_reveal_pair_seeds(true);
    auto server = std::move(*SecAggServer::create(t.config, {1}));
    std::vector<std::unique_ptr<crypto::SeededRng>> rngs;
    std::vector<std::unique_ptr<SecAggClient>> clients;
    for (int i = 0; i < 4; ++i) {
      rngs.push_back(client_rng(i));
      clients.push_back(std::move(*SecAggClient::create(t.config, t.config.cohort(i), *rngs[i])));
    }
    t.up.resize(4);
    t.down.resize(3);
    std::vector<proto::ServerToClient> pending;
    for (int i = 0; i < 4; ++i) {
      t.up[0].push_back(*clients[i]->start());
      auto sent = server->handle(t.config.cohort(i), t.up[0][i]);
      for (auto& m : *sent) pending.push_back(m);
    }
    for (int stage = 1; stage < 4; ++stage) {
      t.down[stage - 1] = pending;
      std::vector<proto::ServerToClient> next;
      for (int i = 0; i < 4; ++i) {
        if (i >= static_cast<int>(pending.size()) || (stage >= 2 && i == kDropsAfterSharing)) {
          t.up[stage].emplace_back();  // client 3 sends nothing from the masked input on
          continue;
        }
        const auto& m = pending[i];
        if (m.has_masked_input()) clients[i]->set_input(std::vector<uint64_t>(64, i + 1)).ok();
        t.up[stage].push_back(**clients[i]->handle(m));
        auto sent = server->handle(t.config.cohort(i), t.up[stage][i]);
        for (auto& o : *sent) next.push_back(o);
      }
      if (stage == 2)
        for (auto& o : server->close_stage()) next.push_back(o);
      pending = next;
    }
    return t;
  }();
  return t;
}

}  // namespace fl::fuzz
