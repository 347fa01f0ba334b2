// The round engine, driven in-process: clients check in, run the real secure
// aggregation client session against the engine, and the new global version
// must be the FedAvg of their updates; dropouts, deadlines, over-selection,
// bad input and restarts behave as a production coordinator must.
#include "coordinator/rounds/round_engine.h"

#include <gtest/gtest.h>

#include <map>

#include "aggregation/quantization.h"
#include "aggregation/secagg/client_session.h"
#include "coordinator/store/sqlite_store.h"
#include "crypto/ed25519.h"
#include "model/serialization.h"

namespace fl::coordinator {
namespace {

using aggregation::secagg::SecAggClient;

PopulationConfig small_population() {
  PopulationConfig c;
  c.population = "test";
  c.model_name = "tiny";
  c.model_spec = model::ModelSpec::softmax_regression(4, 3);
  c.rounds = 3;
  c.cohort_size = 5;
  c.over_selection = 1.2;  // selects 6
  c.min_cohort = 3;
  c.training.set_epochs(1);
  c.training.set_batch_size(8);
  c.training.set_learning_rate(0.1f);
  c.quantization = {.clip = 1.0, .bits = 20, .ring = crypto::RingBits::k64, .max_weight = 1000};
  c.optimizer.set_kind(proto::SERVER_OPTIMIZER_KIND_FEDAVG);
  return c;
}

struct FakeClient {
  uint64_t id = 0;
  crypto::Ed25519KeyPair identity;
  std::unique_ptr<crypto::SeededRng> rng;
  std::unique_ptr<SecAggClient> session;
  std::vector<float> update;
  double weight = 1;
};

class RoundEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store = std::move(*s);
  }

  std::unique_ptr<RoundEngine> make_engine(PopulationConfig config = small_population()) {
    auto e = RoundEngine::create(std::move(config), *store, rng, now);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    return e.ok() ? std::move(*e) : nullptr;
  }

  FakeClient& enroll(uint64_t seed) {
    FakeClient c;
    crypto::SeededRng krng(seed, "test.identity");
    c.identity = crypto::ed25519_keypair(krng);
    ClientPublicKey pk;
    std::copy(c.identity.public_key.begin(), c.identity.public_key.end(), pk.begin());
    auto id = store->enroll(pk, now, std::nullopt);
    EXPECT_TRUE(id.ok());
    c.id = *id;
    c.rng = std::make_unique<crypto::SeededRng>(seed, "test.client");
    clients[c.id] = std::move(c);
    return clients[*id];
  }

  // Checks in every client; returns the ids selected.
  std::vector<uint64_t> checkin_all(RoundEngine& e) {
    std::vector<uint64_t> chosen;
    for (auto& [id, c] : clients) {
      proto::CheckinRequest req;
      req.set_population("test");
      auto r = e.checkin(id, req, now);
      EXPECT_TRUE(r.ok());
      if (r->decision() == proto::CheckinResponse::SELECTED) chosen.push_back(id);
    }
    return chosen;
  }

  // Every selected client not in `absent_from` (by stage) fetches the task and
  // exchanges messages until the round ends. Returns the final response state.
  proto::SecAggExchangeResponse run_round(RoundEngine& e, const std::vector<uint64_t>& chosen,
                                          std::map<uint64_t, int> drop_at = {}) {
    const int64_t round = e.snapshot().round_id;
    for (uint64_t id : chosen) {
      auto task = e.task(id, round, now);
      EXPECT_TRUE(task.ok()) << task.status().to_string();
      FakeClient& c = clients[id];
      auto s = SecAggClient::create(task->secagg(), id, *c.rng, c.identity);
      EXPECT_TRUE(s.ok()) << s.status().to_string();
      c.session = std::move(*s);
      c.update.assign(dim, 0.0f);
      crypto::SeededRng urng(id * 17 + round, "test.update");
      for (auto& x : c.update) x = static_cast<float>(urng.uniform01() * 0.2 - 0.1);
      c.weight = 10 + static_cast<double>(id % 5) * 10;
    }
    proto::SecAggExchangeResponse last;
    // stage k: 0 advertise, 1 share, 2 masked input, 3 unmasking
    for (int stage = 0; stage < 4; ++stage) {
      for (uint64_t id : chosen) {
        FakeClient& c = clients[id];
        if (drop_at.count(id) && drop_at[id] <= stage) continue;
        proto::SecAggExchange x;
        if (stage == 0) {
          *x.mutable_message() = *c.session->start();
        }
        auto r = e.exchange(id, round, x, now);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        last = *r;
        for (auto& m : r->messages()) pending[id].push_back(m);
      }
      if (stage == 3) break;
      // Deliver what each client got; they answer in the next exchange.
      for (uint64_t id : chosen) {
        FakeClient& c = clients[id];
        if (drop_at.count(id) && drop_at[id] <= stage + 1) continue;
        // Poll once more in case the stage closed after this client's call.
        auto r = e.exchange(id, round, proto::SecAggExchange(), now);
        for (auto& m : r->messages()) pending[id].push_back(m);
        std::vector<proto::ServerToClient> inbox = std::move(pending[id]);
        pending[id].clear();
        for (auto& m : inbox) {
          if (m.has_masked_input()) {
            aggregation::QuantizationConfig q = small_population().quantization;
            crypto::SeededRng qrng(id, "test.quantize");
            auto v = aggregation::quantize(c.update, c.weight, q, qrng);
            EXPECT_TRUE(c.session->set_input(std::move(*v)).ok());
          }
          auto reply = c.session->handle(m);
          if (!reply.ok() || !reply->has_value()) continue;
          proto::SecAggExchange x;
          *x.mutable_message() = **reply;
          auto ack = e.exchange(id, round, x, now);
          // A masked input after the stage closed (over-selection) is refused.
          EXPECT_TRUE(ack.ok() || ack.status().code() == ErrorCode::kFailedPrecondition)
              << ack.status().to_string();
          if (ack.ok()) {
            last = *ack;
            for (auto& next : ack->messages()) pending[id].push_back(next);
          }
        }
      }
      now += 1;
      // Clients missing from this stage: its deadline fires.
      bool missing = false;
      for (auto& [id, at] : drop_at) missing |= at == stage + 1;
      if (missing) {
        now += 200'000;
        e.tick(now);
      }
    }
    // A client polling after the end learns the outcome.
    auto r = e.exchange(chosen.front(), round, proto::SecAggExchange(), now);
    EXPECT_TRUE(r.ok());
    return *r;
  }

  std::vector<float> weights_of(int64_t version) {
    auto v = store->get_version(version);
    EXPECT_TRUE(v.ok());
    auto m = model::load_model(v->model_bytes, "test");
    EXPECT_TRUE(m.ok());
    return std::vector<float>(m->params.data(), m->params.data() + m->params.size());
  }

  const size_t dim = 4 * 3 + 3;  // softmax(4 -> 3): weights + biases
  int64_t now = 1'700'000'000'000;
  crypto::SeededRng rng{7};
  std::unique_ptr<SqliteStore> store;
  std::map<uint64_t, FakeClient> clients;
  std::map<uint64_t, std::vector<proto::ServerToClient>> pending;
};

TEST_F(RoundEngineTest, NewVersionIsTheWeightedFedAvgOfTheClientsUpdates) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto e = make_engine();
  const int64_t v0 = e->snapshot().global_version;
  auto chosen = checkin_all(*e);
  ASSERT_EQ(chosen.size(), 6u);
  auto end = run_round(*e, chosen);
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  const int64_t v1 = end.new_version();
  EXPECT_GT(v1, v0);
  // The engine closes the masked-input stage once cohort_size (5) arrived.
  auto round = store->get_round(e->snapshot().round_id - 1);
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->state, RoundState::kCompleted);
  EXPECT_EQ(round->result_version_id, v1);
  std::vector<uint64_t> included(chosen.begin(), chosen.begin() + round->counts.masked_input);
  double total = 0;
  std::vector<double> expected(dim, 0);
  for (uint64_t id : included) {
    total += clients[id].weight;
    for (size_t j = 0; j < dim; ++j) expected[j] += clients[id].weight * clients[id].update[j];
  }
  auto w0 = weights_of(v0), w1 = weights_of(v1);
  const double tol = 2 * aggregation::quantization_step(small_population().quantization) *
                     small_population().quantization.max_weight / total * included.size();
  for (size_t j = 0; j < dim; ++j)
    EXPECT_NEAR(w1[j] - w0[j], expected[j] / total, tol + 1e-6) << j;
  // It is published: the registry serves it.
  auto published = store->latest_version("tiny", VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, v1);
}

TEST_F(RoundEngineTest, SurvivesClientsDroppingAfterSharingKeys) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto e = make_engine();
  auto chosen = checkin_all(*e);
  // Two drop after sharing keys (before masked input): their masks are removed.
  auto end = run_round(*e, chosen, {{chosen[0], 2}, {chosen[1], 2}});
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  auto r = store->get_round(e->snapshot().round_id - 1);
  EXPECT_EQ(r->counts.masked_input, 4u);
  EXPECT_EQ(r->counts.shared_keys, 6u);
}

TEST_F(RoundEngineTest, FailsTheRoundAndReRunsItWhenTooManyDrop) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto e = make_engine();
  const int64_t v0 = e->snapshot().global_version;
  auto chosen = checkin_all(*e);
  std::map<uint64_t, int> drops;
  for (size_t i = 0; i < 4; ++i) drops[chosen[i]] = 1;  // 4 of 6 never share keys
  auto end = run_round(*e, chosen, drops);
  EXPECT_EQ(end.state(), proto::SecAggExchangeResponse::FAILED);
  EXPECT_FALSE(end.failure_reason().empty());
  EXPECT_EQ(e->snapshot().global_version, v0);  // nothing published
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);  // re-run
  EXPECT_EQ(e->snapshot().rounds_failed, 1u);
}

TEST_F(RoundEngineTest, TellsUnselectedClientsToRetryLater) {
  for (uint64_t s = 1; s <= 8; ++s) enroll(s);
  auto e = make_engine();
  proto::CheckinRequest req;
  req.set_population("test");
  int selected = 0, retry = 0;
  for (auto& [id, c] : clients) {
    auto r = e->checkin(id, req, now);
    ASSERT_TRUE(r.ok());
    if (r->decision() == proto::CheckinResponse::SELECTED) ++selected;
    if (r->decision() == proto::CheckinResponse::RETRY_LATER) {
      ++retry;
      EXPECT_GT(r->retry_after_ms(), 0u);
    }
  }
  EXPECT_EQ(selected, 6);  // ceil(5 x 1.2)
  EXPECT_EQ(retry, 2);
}

TEST_F(RoundEngineTest, StartsWithMinCohortAtTheSelectionDeadline) {
  for (uint64_t s = 1; s <= 3; ++s) enroll(s);
  auto e = make_engine();
  checkin_all(*e);
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);
  EXPECT_EQ(e->task(clients.begin()->first, e->snapshot().round_id, now).status().code(),
            ErrorCode::kUnavailable);
  now += small_population().deadlines.selection_ms;
  e->tick(now);
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kRunning);
}

TEST_F(RoundEngineTest, RejectsBadInputWithoutChangingState) {
  for (uint64_t s = 1; s <= 7; ++s) enroll(s);
  auto e = make_engine();
  auto chosen = checkin_all(*e);
  const int64_t round = e->snapshot().round_id;
  const uint64_t outsider = clients.rbegin()->first;  // the 7th was not selected
  proto::CheckinRequest wrong;
  wrong.set_population("nope");
  EXPECT_EQ(e->checkin(chosen[0], wrong, now).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(e->task(outsider, round, now).status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(e->task(chosen[0], round + 5, now).status().code(), ErrorCode::kFailedPrecondition);
  proto::SecAggExchange x;
  x.mutable_message()->set_protocol_version(1);
  EXPECT_FALSE(e->exchange(chosen[0], round, x, now).ok());  // a malformed protocol message
  EXPECT_FALSE(e->exchange(outsider, round, proto::SecAggExchange(), now).ok());
  EXPECT_FALSE(e->exchange(chosen[0], round + 1, proto::SecAggExchange(), now).ok());
  auto snap = e->snapshot();
  EXPECT_EQ(snap.counts.advertised, 0u);
  EXPECT_EQ(snap.phase, RoundEngine::Phase::kRunning);
  // The round still completes afterwards.
  auto end = run_round(*e, chosen);
  EXPECT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
}

TEST_F(RoundEngineTest, RestartFailsTheInterruptedRoundAndKeepsEveryVersion) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  int64_t v1 = 0, interrupted = 0;
  {
    auto e = make_engine();
    auto end = run_round(*e, checkin_all(*e));
    ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED);
    v1 = end.new_version();
    checkin_all(*e);  // the next round starts...
    interrupted = e->snapshot().round_id;
    // ...and the process dies here.
  }
  auto e = make_engine();
  EXPECT_EQ(e->snapshot().global_version, v1);
  EXPECT_EQ(e->snapshot().rounds_completed, 1u);
  auto r = store->get_round(interrupted);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, RoundState::kFailed);
  auto end = run_round(*e, checkin_all(*e));
  EXPECT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  EXPECT_GT(end.new_version(), v1);
}

TEST_F(RoundEngineTest, AnswersFinishedAfterTheLastRound) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto config = small_population();
  config.rounds = 1;
  auto e = make_engine(config);
  auto end = run_round(*e, checkin_all(*e));
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED);
  proto::CheckinRequest req;
  req.set_population("test");
  EXPECT_EQ(e->checkin(clients.begin()->first, req, now)->decision(),
            proto::CheckinResponse::FINISHED);
}

TEST(PopulationConfig, RefusesImpossibleSettings) {
  auto c = small_population();
  c.cohort_size = 1;
  EXPECT_FALSE(validate_population(c).ok());
  c = small_population();
  c.quantization.bits = 63;  // overflows for 6 clients in the 2^64 ring
  EXPECT_FALSE(validate_population(c).ok());
  c = small_population();
  c.min_cohort = 50;
  EXPECT_FALSE(validate_population(c).ok());
  c = small_population();
  c.optimizer.set_kind(proto::SERVER_OPTIMIZER_KIND_UNSPECIFIED);
  EXPECT_FALSE(validate_population(c).ok());
}

}  // namespace
}  // namespace fl::coordinator
