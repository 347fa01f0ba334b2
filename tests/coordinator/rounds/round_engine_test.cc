// The round engine, driven in-process: clients check in, run the real secure
// aggregation client session against the engine, and the new global version
// must be the FedAvg of their updates; dropouts, deadlines, over-selection,
// bad input and restarts behave as a production coordinator must.
#include "coordinator/rounds/round_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "aggregation/client_update.h"
#include "aggregation/dp/rdp_accountant.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/client_session.h"
#include "coordinator/rounds/cohort_selection.h"
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
  c.allow_small_cohorts = true;  // a handful of in-process clients
  c.training.set_epochs(1);
  c.training.set_batch_size(8);
  c.training.set_learning_rate(0.1f);
  c.training.set_optimizer("sgd");
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
  proto::QuantizationPlan plan;  // from the task
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

  // Checks in every client (each joins the selection window's pool), lets the
  // window close, and checks everyone in again; returns the ids selected.
  std::vector<uint64_t> checkin_all(RoundEngine& e) {
    auto checkin_everyone = [&] {
      std::vector<uint64_t> chosen;
      for (auto& [id, c] : clients) {
        proto::CheckinRequest req;
        req.set_population("test");
        auto r = e.checkin(id, req, now);
        EXPECT_TRUE(r.ok());
        if (r->decision() == proto::CheckinResponse::SELECTED) chosen.push_back(id);
      }
      return chosen;
    };
    auto chosen = checkin_everyone();
    if (!chosen.empty() || e.snapshot().phase != RoundEngine::Phase::kSelecting) return chosen;
    now += e.config().deadlines.selection_ms;
    e.tick(now);
    return checkin_everyone();
  }

  // Every selected client not in `absent_from` (by stage) fetches the task and
  // exchanges messages until the round ends. Returns the final response state.
  proto::SecAggExchangeResponse run_round(
      RoundEngine& e, const std::vector<uint64_t>& chosen, std::map<uint64_t, int> drop_at = {},
      const std::map<uint64_t, double>& zero_update_weight = {}) {
    const int64_t round = e.snapshot().round_id;
    for (uint64_t id : chosen) {
      auto task = e.task(id, round, now);
      EXPECT_TRUE(task.ok()) << task.status().to_string();
      FakeClient& c = clients[id];
      c.plan = task->quantization();
      auto s = SecAggClient::create(task->secagg(), id, *c.rng, c.identity);
      EXPECT_TRUE(s.ok()) << s.status().to_string();
      c.session = std::move(*s);
      c.update.assign(dim, 0.0f);
      crypto::SeededRng urng(id * 17 + round, "test.update");
      for (auto& x : c.update) x = static_cast<float>(urng.uniform01() * 0.2 - 0.1);
      c.weight = 10 + static_cast<double>(id % 5) * 10;
      if (auto z = zero_update_weight.find(id); z != zero_update_weight.end()) {
        std::fill(c.update.begin(), c.update.end(), 0.0f);  // a sybil's known input
        c.weight = z->second;
      }
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
            // The client's pipeline, configured by the task as the SDK's is.
            auto config = aggregation::client_update_config(c.plan);
            EXPECT_TRUE(config.ok()) << config.status().to_string();
            crypto::SeededRng qrng(id, "test.quantize");
            // SCAFFOLD: [delta_y, delta_c], every delta_c coordinate kScaffoldDeltaC.
            std::vector<float> input = c.update;
            if (config->control_variate) input.resize(2 * dim, kScaffoldDeltaC);
            auto v = aggregation::build_client_update(input, static_cast<uint64_t>(c.weight),
                                                      *config, qrng);
            EXPECT_TRUE(v.ok()) << v.status().to_string();
            EXPECT_TRUE(c.session->set_input(std::move(v->ring)).ok());
          }
          auto reply = c.session->handle(m);
          if (!reply.ok() || !reply->has_value()) continue;
          proto::SecAggExchange x;
          *x.mutable_message() = **reply;
          if (id == lengthen_masked_input_of && x.message().has_masked_input()) {
            // One ring element too many: an upload for a longer model.
            x.mutable_message()->mutable_masked_input()->mutable_vector()->append(8, '\0');
            lengthened_ack = e.exchange(id, round, x, now).status();
            continue;
          }
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

  size_t dim = 4 * 3 + 3;  // softmax(4 -> 3): weights + biases (set for other models)
  // run_round sends this client's masked input one element too long and
  // keeps the engine's answer here.
  uint64_t lengthen_masked_input_of = 0;
  Status lengthened_ack;
  static constexpr float kScaffoldDeltaC = 0.05f;
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
  for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(w1[j] - w0[j], expected[j] / total, tol + 1e-6) << j;
  // It is published: the registry serves it.
  auto published = store->latest_version("tiny", VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, v1);
}

TEST_F(RoundEngineTest, ClientsClipTheirUpdatesToTheL2BoundTheTaskCarries) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  PopulationConfig config = small_population();
  config.l2_clip = 0.05;  // the fake updates have norm ~0.22: every one is clipped
  auto e = make_engine(config);
  const int64_t v0 = e->snapshot().global_version;
  auto chosen = checkin_all(*e);
  ASSERT_EQ(chosen.size(), 6u);
  auto task = e->task(chosen[0], e->snapshot().round_id, now);
  ASSERT_TRUE(task.ok());
  EXPECT_DOUBLE_EQ(task->quantization().l2_clip(), 0.05);
  auto end = run_round(*e, chosen);
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  auto round = store->get_round(e->snapshot().round_id - 1);
  ASSERT_TRUE(round.ok());
  std::vector<uint64_t> included(chosen.begin(), chosen.begin() + round->counts.masked_input);
  double total = 0;
  std::vector<double> expected(dim, 0);
  for (uint64_t id : included) {
    double norm = 0;
    for (float x : clients[id].update) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    ASSERT_GT(norm, 0.05);
    total += clients[id].weight;
    for (size_t j = 0; j < dim; ++j)
      expected[j] += clients[id].weight * clients[id].update[j] * 0.05 / norm;
  }
  auto w0 = weights_of(v0), w1 = weights_of(end.new_version());
  const double tol = 2 * aggregation::quantization_step(config.quantization) *
                     config.quantization.max_weight / total * included.size();
  for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(w1[j] - w0[j], expected[j] / total, tol + 1e-6) << j;
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
  EXPECT_EQ(e->snapshot().global_version, v0);                     // nothing published
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);  // re-run
  EXPECT_EQ(e->snapshot().rounds_failed, 1u);
}

TEST_F(RoundEngineTest, TellsUnselectedClientsToRetryLater) {
  for (uint64_t s = 1; s <= 8; ++s) enroll(s);
  auto e = make_engine();
  proto::CheckinRequest req;
  req.set_population("test");
  // During the window nobody is selected yet: everyone is told to come back
  // when it closes.
  for (auto& [id, c] : clients) {
    auto r = e->checkin(id, req, now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->decision(), proto::CheckinResponse::RETRY_LATER);
    EXPECT_GE(r->retry_after_ms(), static_cast<uint32_t>(e->config().deadlines.selection_ms));
  }
  EXPECT_EQ(e->snapshot().pool, 8u);
  now += e->config().deadlines.selection_ms;
  e->tick(now);
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

TEST_F(RoundEngineTest, ExtendsTheWindowUntilMinCohortCheckedIn) {
  for (uint64_t s = 1; s <= 3; ++s) enroll(s);
  auto config = small_population();
  config.min_cohort = 4;
  auto e = make_engine(config);
  proto::CheckinRequest req;
  req.set_population("test");
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(e->checkin(id, req, now).ok());
  now += config.deadlines.selection_ms;
  e->tick(now);
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);  // 3 < 4: wait on
  EXPECT_EQ(e->snapshot().pool, 3u);                               // keeping the pool
  enroll(4);
  ASSERT_TRUE(e->checkin(4, req, now).ok());
  now += config.deadlines.selection_ms;
  e->tick(now);
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kRunning);
  EXPECT_EQ(e->snapshot().selected, 4u);
}

// The property an outsider cares about: checking in first buys nothing. Over
// many windows each of 12 clients is chosen about half the time (6 of 12),
// whatever its arrival order, which is always the same here.
TEST_F(RoundEngineTest, DrawsTheCohortUniformlyNotByArrivalOrder) {
  for (uint64_t s = 1; s <= 12; ++s) enroll(s);
  auto config = small_population();
  config.rounds = 1'000;
  auto e = make_engine(config);
  std::map<uint64_t, int> chosen_count;
  const int windows = 300;
  for (int w = 0; w < windows; ++w) {
    auto chosen = checkin_all(*e);
    ASSERT_EQ(chosen.size(), 6u);
    for (uint64_t id : chosen) ++chosen_count[id];
    // Nobody answers: the advertise deadline fails the round and a new
    // window opens.
    now += config.deadlines.advertise_keys_ms;
    e->tick(now);
    ASSERT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);
  }
  // Each count is Binomial(300, 0.5): mean 150, sd 8.7. First-come would
  // give the first six 300 and the rest 0.
  for (uint64_t id = 1; id <= 12; ++id) {
    EXPECT_GT(chosen_count[id], 150 - 45) << id;
    EXPECT_LT(chosen_count[id], 150 + 45) << id;
  }
}

TEST_F(RoundEngineTest, OnceInRoundsMakesASelectedClientSitOut) {
  for (uint64_t s = 1; s <= 12; ++s) enroll(s);
  auto config = small_population();
  config.rounds = 100;
  config.selection.once_in_rounds = 2;  // chosen in window w: not before w + 2
  auto e = make_engine(config);
  std::set<uint64_t> previous;
  for (int w = 0; w < 20; ++w) {
    auto chosen = checkin_all(*e);
    ASSERT_EQ(chosen.size(), 6u);
    for (uint64_t id : chosen) EXPECT_FALSE(previous.count(id)) << "window " << w << ": " << id;
    previous = std::set<uint64_t>(chosen.begin(), chosen.end());
    now += config.deadlines.advertise_keys_ms;
    e->tick(now);
  }
}

TEST_F(RoundEngineTest, StartsWithMinCohortAtTheSelectionDeadline) {
  for (uint64_t s = 1; s <= 3; ++s) enroll(s);
  auto e = make_engine();
  proto::CheckinRequest req;
  req.set_population("test");
  for (auto& [id, c] : clients) ASSERT_TRUE(e->checkin(id, req, now).ok());
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kSelecting);
  EXPECT_EQ(e->task(clients.begin()->first, e->snapshot().round_id, now).status().code(),
            ErrorCode::kPermissionDenied);  // not selected (yet)
  now += small_population().deadlines.selection_ms;
  e->tick(now);
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kRunning);
  EXPECT_EQ(e->snapshot().selected, 3u);
}

TEST_F(RoundEngineTest, FirstComeSelectsOnArrivalWhenExplicitlyChosen) {
  for (uint64_t s = 1; s <= 8; ++s) enroll(s);
  auto config = small_population();
  config.selection.policy = SelectionPolicy::kFirstCome;
  auto e = make_engine(config);
  proto::CheckinRequest req;
  req.set_population("test");
  std::vector<uint64_t> selected;
  for (auto& [id, c] : clients)
    if (e->checkin(id, req, now)->decision() == proto::CheckinResponse::SELECTED)
      selected.push_back(id);
  EXPECT_EQ(selected, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));  // the first six, at once
  EXPECT_EQ(e->snapshot().phase, RoundEngine::Phase::kRunning);
}

// Where slow work runs: the call that delivers the last unmasking share
// returns at once; unmasking, the optimiser step and the commit wait for the
// executor, and meanwhile the engine keeps answering.
TEST_F(RoundEngineTest, AggregatesOnTheExecutorNotInTheCallThatClosedTheRound) {
  struct QueueExecutor final : Executor {
    std::vector<std::function<void()>> tasks;
    void post(std::function<void()> task) override { tasks.push_back(std::move(task)); }
  } executor;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  EngineHooks hooks;
  hooks.executor = &executor;
  auto created = RoundEngine::create(small_population(), *store, rng, now, hooks);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& e = **created;
  const int64_t v0 = e.snapshot().global_version;
  auto chosen = checkin_all(e);
  auto end = run_round(e, chosen);
  EXPECT_EQ(end.state(), proto::SecAggExchangeResponse::RUNNING);  // not yet aggregated
  ASSERT_EQ(executor.tasks.size(), 1u);
  EXPECT_EQ(e.snapshot().phase, RoundEngine::Phase::kAggregating);
  EXPECT_EQ(e.snapshot().secagg_stage, "aggregating");
  EXPECT_EQ(e.snapshot().global_version, v0);
  // Still answering: check-ins, polls, model downloads.
  proto::CheckinRequest req;
  req.set_population("test");
  EXPECT_TRUE(e.checkin(chosen[0], req, now).ok());
  EXPECT_TRUE(e.model_bytes(v0).ok());
  auto poll = e.exchange(chosen[0], e.snapshot().round_id, proto::SecAggExchange(), now);
  ASSERT_TRUE(poll.ok());
  EXPECT_EQ(poll->state(), proto::SecAggExchangeResponse::RUNNING);
  EXPECT_GE(poll->poll_after_ms(), 1'000u);  // nothing will come for a while: poll less
  e.tick(now + 10'000'000);                  // no deadline fires on a round being aggregated
  EXPECT_EQ(e.snapshot().phase, RoundEngine::Phase::kAggregating);

  auto task = std::move(executor.tasks.front());
  executor.tasks.clear();
  task();
  auto after = e.exchange(chosen[0], e.snapshot().round_id - 1, proto::SecAggExchange(), now);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state(), proto::SecAggExchangeResponse::COMPLETED);
  EXPECT_GT(after->new_version(), v0);
  EXPECT_EQ(e.snapshot().global_version, after->new_version());
  EXPECT_EQ(e.snapshot().phase, RoundEngine::Phase::kSelecting);
}

TEST_F(RoundEngineTest, RejectsBadInputWithoutChangingState) {
  for (uint64_t s = 1; s <= 7; ++s) enroll(s);
  auto e = make_engine();
  auto chosen = checkin_all(*e);
  const int64_t round = e->snapshot().round_id;
  uint64_t outsider = 0;  // the one of the 7 the draw left out
  for (auto& [id, c] : clients)
    if (std::find(chosen.begin(), chosen.end(), id) == chosen.end()) outsider = id;
  ASSERT_NE(outsider, 0u);
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

// SCAFFOLD: the task carries c and asks for [delta_y, delta_c]; the round
// moves c by |S|/N of the mean delta_c; the version keeps c, so a restarted
// engine sends the same c.
TEST_F(RoundEngineTest, ScaffoldSendsTheGlobalControlVariateAndResumesItAfterARestart) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto config = small_population();
  config.training.set_algorithm("scaffold");
  config.population_size = 12;
  std::vector<float> sent;
  {
    auto e = make_engine(config);
    auto chosen = checkin_all(*e);
    auto first = e->task(chosen.front(), e->snapshot().round_id, now);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    EXPECT_EQ(std::vector<float>(first->control_variate().begin(), first->control_variate().end()),
              std::vector<float>(dim, 0.0f));  // c starts at 0
    EXPECT_TRUE(first->quantization().control_variate());
    EXPECT_EQ(first->secagg().dimension(), 2 * dim + 1);  // [delta_y, delta_c, weight]
    auto end = run_round(*e, chosen);
    ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
    auto version = store->get_version(end.new_version());
    ASSERT_TRUE(version.ok());
    const double included = version->metrics.at("clients");
    auto next = e->task(checkin_all(*e).front(), e->snapshot().round_id, now);
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    ASSERT_EQ(next->control_variate_size(), static_cast<int>(dim));
    for (float v : next->control_variate()) EXPECT_NEAR(v, included / 12.0 * kScaffoldDeltaC, 1e-5);
    sent.assign(next->control_variate().begin(), next->control_variate().end());
  }
  auto e = make_engine(config);  // a restart
  auto chosen = checkin_all(*e);
  auto resumed = e->task(chosen.front(), e->snapshot().round_id, now);
  ASSERT_TRUE(resumed.ok()) << resumed.status().to_string();
  EXPECT_EQ(
      std::vector<float>(resumed->control_variate().begin(), resumed->control_variate().end()),
      sent);
}

// The task's learning rate follows training.lr_schedule over completed
// rounds (model::round_learning_rate, which fl-sim uses too): a failed round
// is retried at its rate, not the next one's.
TEST_F(RoundEngineTest, TaskLearningRateFollowsTheScheduleOverCompletedRounds) {
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto config = small_population();
  config.lr_schedule.kind = model::RoundLrScheduleKind::kExponential;
  config.lr_schedule.lr_decay = 0.5;
  auto e = make_engine(config);
  auto rate_of_current_round = [&](const std::vector<uint64_t>& chosen) {
    auto task = e->task(chosen.front(), e->snapshot().round_id, now);
    EXPECT_TRUE(task.ok()) << task.status().to_string();
    return task.ok() ? task->training().learning_rate() : 0.0f;
  };
  auto chosen = checkin_all(*e);
  EXPECT_FLOAT_EQ(rate_of_current_round(chosen), 0.1f);
  ASSERT_EQ(run_round(*e, chosen).state(), proto::SecAggExchangeResponse::COMPLETED);

  chosen = checkin_all(*e);
  EXPECT_FLOAT_EQ(rate_of_current_round(chosen), 0.05f);
  std::map<uint64_t, int> drops;
  for (size_t i = 0; i < 4; ++i) drops[chosen[i]] = 1;  // too few share keys: the round fails
  ASSERT_EQ(run_round(*e, chosen, drops).state(), proto::SecAggExchangeResponse::FAILED);

  chosen = checkin_all(*e);
  EXPECT_FLOAT_EQ(rate_of_current_round(chosen), 0.05f);
}

TEST_F(RoundEngineTest, RefusesABadLearningRateScheduleNamingTheKey) {
  auto config = small_population();
  config.lr_schedule.kind = model::RoundLrScheduleKind::kExponential;
  config.lr_schedule.lr_decay = 1.5;
  auto e = RoundEngine::create(config, *store, rng, now);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("training.lr_decay"), std::string::npos)
      << e.status().message();
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

// The n-1 attack on secure aggregation (DESIGN.md section 9, "Outsider"),
// played against the engine. An attacker who can enrol identities at will
// (open enrolment) and colludes with the curious coordinator checks in
// selection_target - 1 sybils the moment selection opens; they follow the
// protocol with a known input (a zero update of known weight). When the one
// remaining seat goes to an honest client, the secure sum minus the sybils'
// inputs is that client's update: secure aggregation intact and useless.
class NMinusOneAttackTest : public RoundEngineTest {
 protected:
  static PopulationConfig attacked_population(SelectionPolicy policy) {
    auto c = small_population();
    c.cohort_size = 6;
    c.over_selection = 1.0;  // six seats
    c.rounds = 1'000;
    c.selection.policy = policy;
    return c;
  }
  static constexpr double kSybilWeight = 10;
};

TEST_F(NMinusOneAttackTest, RecoversTheHonestUpdateUnderFirstComeSelection) {
  // The weakened setting, kept as this test's control: first-come selection.
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);  // ids 1..5 the sybils, 6 the victim
  const uint64_t victim = 6;
  auto e = make_engine(attacked_population(SelectionPolicy::kFirstCome));
  const int64_t v0 = e->snapshot().global_version;
  auto chosen = checkin_all(*e);  // arrival order: the sybils first
  ASSERT_EQ(chosen.size(), 6u);
  std::map<uint64_t, double> sybils;
  for (uint64_t id = 1; id <= 5; ++id) sybils[id] = kSybilWeight;
  auto end = run_round(*e, chosen, {}, sybils);
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  // The coordinator's view: the new version, the old one, and the sum's
  // total weight (it unmasks it); the sybils' weights are the attacker's own.
  auto version = store->get_version(end.new_version());
  ASSERT_TRUE(version.ok());
  const double total = version->metrics.at("total_weight");
  const double sybil_total = kSybilWeight * 5;
  auto w0 = weights_of(v0), w1 = weights_of(end.new_version());
  double max_error = 0, max_update = 0;
  for (size_t j = 0; j < dim; ++j) {
    const double recovered = (w1[j] - w0[j]) * total / (total - sybil_total);
    max_error = std::max(max_error, std::abs(recovered - clients[victim].update[j]));
    max_update = std::max(max_update, std::abs(static_cast<double>(clients[victim].update[j])));
  }
  EXPECT_GT(max_update, 0.05);
  EXPECT_LT(max_error, 1e-3) << "the attack should recover the victim's update";
}

// With uniform selection the attacker needs every seat but one, and the draw
// decides: its success rate over many windows matches the hypergeometric
// probability that exactly one honest client is drawn.
TEST_F(NMinusOneAttackTest, UniformSelectionLeavesOnlyTheComputedChance) {
  const uint64_t honest = 4, sybils = 8;
  for (uint64_t s = 1; s <= honest + sybils; ++s) enroll(s);  // ids 1..8 sybils, 9..12 honest
  auto config = attacked_population(SelectionPolicy::kUniform);
  auto e = make_engine(config);
  const int windows = 400;
  int isolated = 0;
  for (int w = 0; w < windows; ++w) {
    auto chosen = checkin_all(*e);  // sybils check in first, to no avail
    ASSERT_EQ(chosen.size(), 6u);
    const auto honest_drawn =
        std::count_if(chosen.begin(), chosen.end(), [&](uint64_t id) { return id > sybils; });
    isolated += honest_drawn == 1;
    now += config.deadlines.advertise_keys_ms;  // nobody plays on: next window
    e->tick(now);
  }
  const double p = isolation_probability(honest, sybils, 6);
  EXPECT_NEAR(p, 4.0 * 56 / 924, 1e-12);  // 4 C(8,5) / C(12,6)
  const double measured = static_cast<double>(isolated) / windows;
  const double sd = std::sqrt(p * (1 - p) / windows);
  std::printf(
      "n-1 attack, uniform selection, %llu honest + %llu sybils, 6 seats: measured %.4f, "
      "computed %.4f (first-come: 1.0000)\n",
      static_cast<unsigned long long>(honest), static_cast<unsigned long long>(sybils), measured,
      p);
  EXPECT_NEAR(measured, p, 4 * sd);
}

TEST(CohortSelection, IsolationProbabilityIsTheHypergeometricTerm) {
  EXPECT_DOUBLE_EQ(isolation_probability(1, 5, 6), 1.0);  // only one honest: always isolated
  EXPECT_DOUBLE_EQ(isolation_probability(0, 5, 6), 0.0);
  EXPECT_DOUBLE_EQ(isolation_probability(3, 2, 4), 0.0);  // too few sybils to fill 3 seats
  // 10 seats, an attacker with a fifth of 1,000 check-ins: m(1-f)f^(m-1) ~ 4.1e-6.
  EXPECT_NEAR(isolation_probability(800, 200, 10), 10 * 0.8 * std::pow(0.2, 9), 1e-6);
}

TEST(CohortSelection, EverySubsetIsEquallyLikely) {
  crypto::SeededRng rng(3);
  std::map<std::vector<uint64_t>, int> seen;
  const int draws = 20'000;
  for (int i = 0; i < draws; ++i) {
    auto c = draw_cohort({1, 2, 3, 4, 5}, 2, rng);
    std::sort(c.begin(), c.end());
    ++seen[c];
  }
  ASSERT_EQ(seen.size(), 10u);  // C(5,2)
  // Chi-square with 9 degrees of freedom; 27.9 is its 0.999 quantile.
  double chi2 = 0;
  for (auto& [subset, n] : seen) chi2 += std::pow(n - draws / 10.0, 2) / (draws / 10.0);
  EXPECT_LT(chi2, 27.9);
}

// A client's chance of joining a Poisson-sampled round is the rate, however
// many others checked in (the property the DP accountant relies on), and
// joins are independent: the cohort size is Binomial(pool, rate).
TEST(CohortSelection, PoissonInclusionIsTheRateWhateverThePoolSize) {
  crypto::SeededRng rng(5);
  const double rate = 0.1;
  const int draws = 20'000;
  for (uint64_t pool_size : {12u, 400u}) {
    std::vector<uint64_t> pool(pool_size);
    for (uint64_t i = 0; i < pool_size; ++i) pool[i] = i + 1;
    int target_in = 0;
    double size_sum = 0, size_sq = 0;
    for (int i = 0; i < draws; ++i) {
      const auto c = draw_poisson_cohort(pool, rate, rng);
      target_in += std::count(c.begin(), c.end(), uint64_t{1}) > 0;
      size_sum += static_cast<double>(c.size());
      size_sq += static_cast<double>(c.size() * c.size());
    }
    const double sd = std::sqrt(rate * (1 - rate) / draws);
    EXPECT_NEAR(target_in / double(draws), rate, 4 * sd) << "pool " << pool_size;
    const double mean = size_sum / draws;
    const double var = size_sq / draws - mean * mean;
    EXPECT_NEAR(mean, rate * pool_size, 4 * std::sqrt(rate * (1 - rate) * pool_size / draws));
    EXPECT_NEAR(var, rate * (1 - rate) * pool_size, 0.1 * rate * (1 - rate) * pool_size);
  }
  EXPECT_TRUE(draw_poisson_cohort({1, 2, 3}, 0.0, rng).empty());
  EXPECT_EQ(draw_poisson_cohort({1, 2, 3}, 1.0, rng).size(), 3u);
}

// One set of bounds, shared by config loading and RoundEngine::create; each
// refusal names the YAML key under population: that has to change.
TEST(PopulationConfig, RefusesImpossibleSettingsNamingTheKey) {
  auto error_of = [](PopulationConfig c) { return validate_population(c).message(); };
  auto c = small_population();
  ASSERT_TRUE(validate_population(c).ok()) << validate_population(c).to_string();
  c.cohort_size = 1;
  EXPECT_EQ(error_of(c).rfind("population.cohort_size: ", 0), 0u) << error_of(c);
  c = small_population();
  c.over_selection = 11;
  EXPECT_EQ(error_of(c).rfind("population.over_selection: must be in [1, 10]", 0), 0u);
  c = small_population();
  c.quantization.bits = 63;  // overflows for 6 clients in the 2^64 ring
  EXPECT_EQ(error_of(c).rfind("population.quantization.bits: quantisation overflows", 0), 0u)
      << error_of(c);
  c = small_population();
  c.min_cohort = 50;
  EXPECT_EQ(error_of(c).rfind("population.min_cohort: must be in [2, ", 0), 0u) << error_of(c);
  // Below the secure-aggregation floor only when asked for knowingly.
  c = small_population();
  c.allow_small_cohorts = false;
  EXPECT_EQ(error_of(c).rfind("population.min_cohort: is below 10", 0), 0u) << error_of(c);
  c.cohort_size = 10;
  c.min_cohort = kMinSecureCohort;
  EXPECT_TRUE(validate_population(c).ok()) << validate_population(c).to_string();
  c.selection.policy = SelectionPolicy::kFirstCome;  // the n-1 attack's enabler
  EXPECT_EQ(error_of(c).rfind("population.selection.policy: first_come", 0), 0u) << error_of(c);
  c = small_population();
  c.training.set_algorithm("scaffold");
  EXPECT_EQ(error_of(c).rfind("population.training.population_size: scaffold needs N", 0), 0u)
      << error_of(c);
  c.population_size = 100;
  EXPECT_TRUE(validate_population(c).ok()) << validate_population(c).to_string();
  c.l2_clip = 1.0;
  EXPECT_EQ(error_of(c).rfind("population.quantization.l2_clip: scaffold cannot run with an L2", 0),
            0u)
      << error_of(c);
  c = small_population();
  c.deadlines.share_keys_ms = 0;
  EXPECT_EQ(error_of(c).rfind("population.deadlines_ms.share_keys: must be a positive", 0), 0u)
      << error_of(c);
  c = small_population();
  c.degree = 4;
  c.threshold = 6;
  EXPECT_EQ(error_of(c).rfind("population.secure_aggregation.threshold: exceeds", 0), 0u)
      << error_of(c);
  c = small_population();
  c.training.set_optimizer("adagrad");  // clients know sgd and adam only
  EXPECT_EQ(error_of(c).rfind("population.training.optimizer: must be sgd or adam", 0), 0u);
  c = small_population();
  c.optimizer.set_kind(proto::SERVER_OPTIMIZER_KIND_UNSPECIFIED);
  EXPECT_EQ(error_of(c).rfind("population.server_optimizer.kind: ", 0), 0u) << error_of(c);
  c = small_population();
  c.l2_clip = -1;
  EXPECT_EQ(error_of(c).rfind("population.quantization.l2_clip: ", 0), 0u) << error_of(c);
  c.l2_clip = NAN;
  EXPECT_EQ(error_of(c).rfind("population.quantization.l2_clip: ", 0), 0u) << error_of(c);
}

TEST_F(RoundEngineTest, CreateRefusesAPopulationConfigLoadingWouldRefuse) {
  auto c = small_population();
  c.selection.once_in_rounds = 0;
  auto e = RoundEngine::create(c, *store, rng, now);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "population.selection.once_in_rounds: must be at least 1");
}

}  // namespace
// ---- Differential privacy (issue 11) ----

PopulationConfig dp_population(aggregation::dp::DpMode mode) {
  PopulationConfig c = small_population();
  c.rounds = 10;
  c.dp.mode = mode;
  c.dp.noise_multiplier = mode == aggregation::dp::DpMode::kCentral ? 1.0 : 0.05;
  c.dp.clip = 0.5;
  c.dp.population_size = 20;
  c.dp.sampling_rate = 0.5;  // 10 expected of the 20 enrolled
  c.dp.target_delta = 1e-3;
  return c;
}

double accountant_epsilon(double q, double z, uint64_t rounds, double delta) {
  aggregation::dp::GaussianSchedule s;
  s.sampling_rate = q;
  s.noise_multiplier = z;
  s.rounds = rounds;
  auto e = aggregation::dp::gaussian_epsilon(s, delta);
  EXPECT_TRUE(e.ok()) << e.status().to_string();
  return e.ok() ? e->epsilon : -1;
}

// Central dp: the task tells clients to clip to C unweighted, each round's
// cost is in the ledger in the version's transaction, and epsilon so far is
// the accountant's for that many Poisson-sampled Gaussian rounds.
TEST_F(RoundEngineTest, CentralDpRoundsWriteTheLedgerWithTheAccountantsEpsilon) {
  for (uint64_t s = 1; s <= 20; ++s) enroll(s);
  auto e = make_engine(dp_population(aggregation::dp::DpMode::kCentral));
  std::set<size_t> cohort_sizes;
  for (int round = 1; round <= 3; ++round) {
    auto chosen = checkin_all(*e);
    ASSERT_GE(chosen.size(), 3u);
    cohort_sizes.insert(chosen.size());
    auto task = e->task(chosen.front(), e->snapshot().round_id, now);
    ASSERT_TRUE(task.ok());
    EXPECT_DOUBLE_EQ(task->quantization().l2_clip(), 0.5);
    EXPECT_EQ(task->quantization().max_weight(), 0u);  // unweighted mean
    auto end = run_round(*e, chosen);
    ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
    auto ledger = store->privacy_ledger("test");
    ASSERT_TRUE(ledger.ok());
    ASSERT_EQ(ledger->size(), static_cast<size_t>(round));
    const PrivacyLedgerEntry& row = ledger->back();
    EXPECT_EQ(row.version_id, end.new_version());
    EXPECT_EQ(row.spend.mechanism, "central");
    EXPECT_EQ(row.spend.survivors, chosen.size());
    EXPECT_EQ(row.spend.expected_clients, 10u);
    EXPECT_NEAR(row.spend.epsilon, accountant_epsilon(0.5, 1.0, round, 1e-3), 1e-9);
    EXPECT_DOUBLE_EQ(e->snapshot().dp_epsilon, row.spend.epsilon);
  }
  // Poisson sampling: the cohort's size is not fixed.
  EXPECT_GT(cohort_sizes.size(), 1u);
}

// dp.max_epsilon: the round that would pass the budget is never started, the
// last version stays published, and a restarted coordinator (the ledger is
// in the store) refuses it too.
TEST_F(RoundEngineTest, PrivacyBudgetHaltsTrainingAndHoldsAcrossARestart) {
  for (uint64_t s = 1; s <= 20; ++s) enroll(s);
  PopulationConfig config = dp_population(aggregation::dp::DpMode::kCentral);
  const double eps2 = accountant_epsilon(0.5, 1.0, 2, 1e-3);
  const double eps3 = accountant_epsilon(0.5, 1.0, 3, 1e-3);
  config.dp.max_epsilon = (eps2 + eps3) / 2;  // two rounds fit, a third does not
  int64_t v2 = 0;
  size_t rounds_in_store = 0;
  {
    auto e = make_engine(config);
    for (int round = 1; round <= 2; ++round) {
      auto end = run_round(*e, checkin_all(*e));
      ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
      v2 = end.new_version();
    }
    const auto snap = e->snapshot();
    EXPECT_EQ(snap.phase, RoundEngine::Phase::kFinished);
    EXPECT_NE(snap.halted.find("dp.max_epsilon"), std::string::npos) << snap.halted;
    EXPECT_NEAR(snap.dp_epsilon, eps2, 1e-9);
    proto::CheckinRequest req;
    req.set_population("test");
    auto r = e->checkin(clients.begin()->first, req, now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->decision(), proto::CheckinResponse::FINISHED);
    rounds_in_store = store->list_rounds(100)->size();
  }
  auto published = store->latest_version("tiny", VersionStage::kPublished);
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published->id, v2);

  auto restarted = make_engine(config);
  const auto snap = restarted->snapshot();
  EXPECT_EQ(snap.phase, RoundEngine::Phase::kFinished);
  EXPECT_NE(snap.halted.find("dp.max_epsilon"), std::string::npos) << snap.halted;
  EXPECT_NEAR(snap.dp_epsilon, eps2, 1e-9);
  EXPECT_EQ(snap.global_version, v2);
  EXPECT_EQ(store->list_rounds(100)->size(), rounds_in_store);  // no round was opened

  // A larger budget lets training go on from where the ledger stands.
  config.dp.max_epsilon = eps3 * 1.01;
  auto raised = make_engine(config);
  EXPECT_EQ(raised->snapshot().phase, RoundEngine::Phase::kSelecting);
  auto end = run_round(*raised, checkin_all(*raised));
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  EXPECT_NEAR(raised->snapshot().dp_epsilon, eps3, 1e-9);
  EXPECT_EQ(raised->snapshot().phase, RoundEngine::Phase::kFinished);
}

// Distributed dp through the engine: the clients' noised, rotated, rounded
// inputs decode to the mean of their clipped updates over the expected
// cohort, and the ledger records the survivors whose noise is in the sum.
TEST_F(RoundEngineTest, DistributedDpRoundDecodesTheMeanOverTheExpectedCohort) {
  for (uint64_t s = 1; s <= 20; ++s) enroll(s);
  PopulationConfig config = dp_population(aggregation::dp::DpMode::kDistributed);
  auto e = make_engine(config);
  const int64_t v0 = e->snapshot().global_version;
  auto chosen = checkin_all(*e);
  ASSERT_GE(chosen.size(), 3u);
  auto task = e->task(chosen.front(), e->snapshot().round_id, now);
  ASSERT_TRUE(task.ok());
  EXPECT_TRUE(task->quantization().has_distributed_dp());
  auto end = run_round(*e, chosen);
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  std::vector<double> expected(dim, 0);
  for (uint64_t id : chosen)
    for (size_t j = 0; j < dim; ++j) expected[j] += clients[id].update[j] / 10.0;  // q x N
  auto w0 = weights_of(v0), w1 = weights_of(end.new_version());
  // Noise z*C/(qN) = 0.0025 per coordinate, plus rounding: well under 0.02.
  for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(w1[j] - w0[j], expected[j], 0.02) << j;
  auto ledger = store->privacy_ledger("test");
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 1u);
  EXPECT_EQ(ledger->front().spend.mechanism, "distributed");
  EXPECT_EQ(ledger->front().spend.survivors, chosen.size());
  EXPECT_EQ(ledger->front().spend.bits, 16u);
  EXPECT_GT(ledger->front().spend.epsilon, 0);
}

TEST_F(RoundEngineTest, DpRefusesSettingsItsAccountingCannotHonour) {
  auto refused = [](PopulationConfig c) {
    auto s = validate_population(c);
    return s.ok() ? std::string() : s.message();
  };
  auto c = dp_population(aggregation::dp::DpMode::kCentral);
  EXPECT_EQ(refused(c), "");
  auto once = c;
  once.selection.once_in_rounds = 2;
  EXPECT_NE(refused(once).find("population.selection.once_in_rounds"), std::string::npos);
  auto clip = c;
  clip.dp.clip = 0;
  EXPECT_NE(refused(clip).find("population.dp.clip"), std::string::npos);
  auto delta = c;
  delta.dp.target_delta = 0.1;  // >= 1/20
  EXPECT_NE(refused(delta).find("population.dp.target_delta"), std::string::npos);
  auto both = c;
  both.l2_clip = 0.3;
  EXPECT_NE(refused(both).find("population.quantization.l2_clip"), std::string::npos);
  auto ring = dp_population(aggregation::dp::DpMode::kDistributed);
  ring.dp.bits = 8;  // 50,000 expected clients' noise and inputs in 2^8
  ring.dp.noise_multiplier = 1.0;
  ring.dp.population_size = 100'000;
  ring.dp.target_delta = 1e-6;
  EXPECT_NE(refused(ring).find("population.dp.bits"), std::string::npos) << refused(ring);
}

// Adaptive clipping through the engine: every client's update norm is ~0.2
// (coordinates in +-0.1 over 15 parameters, ||u|| ~ 0.22), so from a clip of
// 1.0 nearly every bit says "unclipped" and the clip shrinks round after
// round towards the median; it is in each version's metadata, and a restarted
// engine resumes from it. The ledger charges z, with the round's clip.
TEST_F(RoundEngineTest, AdaptiveClippingShrinksTheClipAndSurvivesARestart) {
  for (uint64_t s = 1; s <= 20; ++s) enroll(s);
  PopulationConfig config = dp_population(aggregation::dp::DpMode::kCentral);
  config.dp.clip = 0;
  config.dp.adaptive = aggregation::dp::AdaptiveClippingConfig{
      .initial_clip = 1.0, .target_quantile = 0.5, .learning_rate = 0.2, .count_stddev = 1.0};
  std::vector<double> clips;
  {
    auto e = make_engine(config);
    for (int round = 0; round < 4; ++round) {
      auto chosen = checkin_all(*e);
      auto task = e->task(chosen.front(), e->snapshot().round_id, now);
      ASSERT_TRUE(task.ok());
      EXPECT_TRUE(task->quantization().unclipped_bit());
      clips.push_back(task->quantization().l2_clip());
      auto end = run_round(*e, chosen);
      ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
    }
  }
  EXPECT_DOUBLE_EQ(clips.front(), 1.0);
  for (size_t i = 1; i < clips.size(); ++i) EXPECT_LT(clips[i], clips[i - 1]) << i;
  auto ledger = store->privacy_ledger("test");
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 4u);
  EXPECT_DOUBLE_EQ(ledger->back().spend.clip, clips.back());
  EXPECT_NEAR(ledger->back().spend.epsilon, accountant_epsilon(0.5, 1.0, 4, 1e-3), 1e-9);
  auto restarted = make_engine(config);
  auto chosen = checkin_all(*restarted);
  auto task = restarted->task(chosen.front(), restarted->snapshot().round_id, now);
  ASSERT_TRUE(task.ok());
  EXPECT_LT(task->quantization().l2_clip(), clips.back());  // resumed, not reset to 1.0
}

// --- Federated evaluation of a regressor ---------------------------------------

namespace regression_evaluation {

PopulationConfig regression_population(uint32_t min_reports) {
  PopulationConfig c = small_population();
  c.model_spec = model::ModelSpec::linear_regression(4);
  c.over_selection = 1.0;  // every selected client's input makes the version: all are eligible
  c.federated_evaluation.enabled = true;
  c.federated_evaluation.min_reports = min_reports;
  c.federated_evaluation.deadline_ms = 5'000;
  return c;
}

// What the service hears: alerts from the registry, inconclusive evaluations
// from the engine.
struct Heard final : RoundListener {
  void round_started(int64_t, uint32_t) override {}
  void stage_closed(int64_t, std::string_view, double, uint32_t, uint32_t) override {}
  void round_completed(int64_t, int64_t, double) override {}
  void round_failed(int64_t, std::string_view, std::string_view) override {}
  void evaluation_inconclusive(int64_t, int64_t version, std::string_view reason) override {
    inconclusive.emplace_back(version, std::string(reason));
  }
  std::vector<std::pair<int64_t, std::string>> inconclusive;
  std::vector<std::pair<std::string, std::string>> alerts;  // kind, message
};

std::unique_ptr<Registry> gate_on_fed_mse(Store& store, Heard& heard) {
  RegistryOptions options;
  options.gate = {.metric = "fed_mse",
                  .higher_is_better = default_higher_is_better("fed_mse"),
                  .tolerance = 0.0,
                  .require_metric = true};
  options.callbacks.on_alert = [&heard](std::string_view, std::string_view kind,
                                        std::string_view message) {
    heard.alerts.emplace_back(std::string(kind), std::string(message));
  };
  auto r = Registry::create(store, std::move(options));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(*r);
}

// Client `i`'s counts: i + 2 examples, each with squared error i + 1 and
// absolute error 1.
proto::EvaluationReport regression_report(int64_t version, uint64_t i) {
  proto::EvaluationReport r;
  r.set_version(version);
  r.set_examples(i + 2);
  r.set_squared_error_sum(static_cast<double>((i + 1) * (i + 2)));
  r.set_absolute_error_sum(static_cast<double>(i + 2));
  r.set_loss_sum(0.5 * static_cast<double>((i + 1) * (i + 2)));
  return r;
}

}  // namespace regression_evaluation

using regression_evaluation::gate_on_fed_mse;
using regression_evaluation::Heard;
using regression_evaluation::regression_population;
using regression_evaluation::regression_report;

TEST_F(RoundEngineTest, RegressionPopulationPublishesOnItsFederatedMse) {
  dim = 4 + 1;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  Heard heard;
  auto registry = gate_on_fed_mse(*store, heard);
  EngineHooks hooks{
      .registry = registry.get(), .listener = &heard, .gate_waits_for_federated_evaluation = true};
  auto created = RoundEngine::create(regression_population(3), *store, rng, now, hooks);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& e = **created;
  const int64_t round = e.snapshot().round_id;
  auto chosen = checkin_all(e);
  ASSERT_EQ(run_round(e, chosen).state(), proto::SecAggExchangeResponse::COMPLETED);
  const int64_t version = e.snapshot().global_version;
  EXPECT_EQ(store->get_version(version)->stage, VersionStage::kCandidate);  // waits for the clients

  double squared = 0, absolute = 0, examples = 0;
  for (uint64_t id : chosen) {
    const proto::EvaluationReport r = regression_report(version, id);
    squared += r.squared_error_sum();
    absolute += r.absolute_error_sum();
    examples += static_cast<double>(r.examples());
    ASSERT_TRUE(e.report_evaluation(id, round, r, now).ok());
  }
  auto v = store->get_version(version);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->stage, VersionStage::kPublished);
  ASSERT_TRUE(v->metrics.count("fed_mse"));
  EXPECT_DOUBLE_EQ(v->metrics.at("fed_mse"), squared / examples);
  EXPECT_DOUBLE_EQ(v->metrics.at("fed_mae"), absolute / examples);
  EXPECT_EQ(v->metrics.at("fed_examples"), examples);
  EXPECT_TRUE(heard.inconclusive.empty());
  EXPECT_TRUE(heard.alerts.empty());
}

TEST_F(RoundEngineTest, ClassificationCountsForARegressorAreRefusedNamingTheClient) {
  dim = 4 + 1;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  Heard heard;
  auto registry = gate_on_fed_mse(*store, heard);
  EngineHooks hooks{
      .registry = registry.get(), .listener = &heard, .gate_waits_for_federated_evaluation = true};
  auto created = RoundEngine::create(regression_population(2), *store, rng, now, hooks);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& e = **created;
  const int64_t round = e.snapshot().round_id;
  auto chosen = checkin_all(e);
  ASSERT_EQ(run_round(e, chosen).state(), proto::SecAggExchangeResponse::COMPLETED);
  const int64_t version = e.snapshot().global_version;

  // Every client sends a classifier's counts: each is refused, and once all
  // have answered the evaluation is inconclusive at once, not at the deadline.
  for (uint64_t id : chosen) {
    proto::EvaluationReport r;
    r.set_version(version);
    r.set_examples(2);
    r.set_num_classes(2);
    for (uint64_t c : {1u, 0u, 0u, 1u}) r.add_confusion(c);
    Status s = e.report_evaluation(id, round, r, now);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.message().find("client " + std::to_string(id)), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("regressor"), std::string::npos) << s.message();
  }
  ASSERT_EQ(heard.inconclusive.size(), 1u);
  EXPECT_NE(heard.inconclusive[0].second.find(std::to_string(chosen.size()) + " client(s) refused"),
            std::string::npos)
      << heard.inconclusive[0].second;
  EXPECT_NE(heard.inconclusive[0].second.find("every client answered"), std::string::npos);
  // No holdout: the documented rule holds the version, with an alert.
  EXPECT_EQ(store->get_version(version)->stage, VersionStage::kCandidate);
  ASSERT_EQ(heard.alerts.size(), 1u);
  EXPECT_EQ(heard.alerts[0].first, alert_kind::kEvaluationInconclusive);
}

TEST_F(RoundEngineTest, InconclusiveEvaluationIsReportedAndTheGateHoldsWithoutAHoldout) {
  dim = 4 + 1;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  Heard heard;
  auto registry = gate_on_fed_mse(*store, heard);
  EngineHooks hooks{
      .registry = registry.get(), .listener = &heard, .gate_waits_for_federated_evaluation = true};
  auto created = RoundEngine::create(regression_population(2), *store, rng, now, hooks);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& e = **created;
  const int64_t published_before = registry->published_version("tiny")->id;
  const int64_t round = e.snapshot().round_id;
  auto chosen = checkin_all(e);
  ASSERT_EQ(run_round(e, chosen).state(), proto::SecAggExchangeResponse::COMPLETED);
  const int64_t version = e.snapshot().global_version;
  // One valid report of the two needed, then silence until the deadline.
  ASSERT_TRUE(e.report_evaluation(chosen[0], round, regression_report(version, 1), now).ok());
  e.tick(now + 4'000);
  EXPECT_TRUE(heard.inconclusive.empty());  // before the deadline: still waiting
  e.tick(now + 5'000);

  ASSERT_EQ(heard.inconclusive.size(), 1u);
  EXPECT_EQ(heard.inconclusive[0].first, version);
  const std::string& why = heard.inconclusive[0].second;
  EXPECT_NE(why.find("1 valid report(s)"), std::string::npos) << why;
  EXPECT_NE(why.find("min_reports 2"), std::string::npos) << why;
  EXPECT_NE(why.find("deadline passed"), std::string::npos) << why;
  ASSERT_EQ(heard.alerts.size(), 1u);
  EXPECT_EQ(heard.alerts[0].first, alert_kind::kEvaluationInconclusive);
  EXPECT_NE(heard.alerts[0].second.find("held"), std::string::npos) << heard.alerts[0].second;
  EXPECT_EQ(store->get_version(version)->stage, VersionStage::kCandidate);
  EXPECT_EQ(registry->published_version("tiny")->id, published_before);
  // Concluded once: a late report finds no evaluation open.
  EXPECT_EQ(
      e.report_evaluation(chosen[1], round, regression_report(version, 2), now + 5'001).code(),
      ErrorCode::kNotFound);
  e.tick(now + 10'000);
  EXPECT_EQ(heard.inconclusive.size(), 1u);
}

TEST_F(RoundEngineTest, InconclusiveEvaluationFallsBackToTheHoldoutMetric) {
  dim = 4 + 1;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  Heard heard;
  auto registry = gate_on_fed_mse(*store, heard);
  model::Dataset holdout;
  holdout.features = model::FeatureMatrix::Ones(8, 4);
  holdout.targets = Eigen::VectorXf::Constant(8, 2.0f);
  EngineHooks hooks{.registry = registry.get(),
                    .holdout = &holdout,
                    .listener = &heard,
                    .gate_waits_for_federated_evaluation = true};
  auto created = RoundEngine::create(regression_population(2), *store, rng, now, hooks);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& e = **created;
  auto chosen = checkin_all(e);
  ASSERT_EQ(run_round(e, chosen).state(), proto::SecAggExchangeResponse::COMPLETED);
  const int64_t version = e.snapshot().global_version;
  EXPECT_TRUE(store->get_version(version)->metrics.count("mse"));  // the server's holdout score
  e.tick(now + 5'000);                                             // nobody reports

  ASSERT_EQ(heard.inconclusive.size(), 1u);
  EXPECT_NE(heard.inconclusive[0].second.find("0 valid report(s)"), std::string::npos);
  ASSERT_EQ(heard.alerts.size(), 1u);
  EXPECT_NE(heard.alerts[0].second.find("judged on the holdout 'mse'"), std::string::npos)
      << heard.alerts[0].second;
  EXPECT_EQ(store->get_version(version)->stage, VersionStage::kPublished);
  EXPECT_EQ(registry->published_version("tiny")->id, version);
}

// An app-defined model (kind custom): the engine starts it at zero,
// averages and versions the flat vector, and never looks inside.
PopulationConfig custom_population() {
  PopulationConfig c = small_population();
  c.model_name = "app";
  c.model_spec = model::ModelSpec::custom({{"w", 40}, {"b", 1}});
  return c;
}

TEST_F(RoundEngineTest, CustomModelRoundPublishesTheWeightedMeanOfTheFlatVectors) {
  dim = 41;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto e = make_engine(custom_population());
  ASSERT_NE(e, nullptr);
  const int64_t v0 = e->snapshot().global_version;
  EXPECT_EQ(weights_of(v0), std::vector<float>(41, 0.0f));  // the documented start
  auto chosen = checkin_all(*e);
  auto end = run_round(*e, chosen);
  ASSERT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
  const int64_t v1 = end.new_version();
  auto round = store->get_round(e->snapshot().round_id - 1);
  ASSERT_TRUE(round.ok());
  std::vector<uint64_t> included(chosen.begin(), chosen.begin() + round->counts.masked_input);
  double total = 0;
  std::vector<double> expected(dim, 0);
  for (uint64_t id : included) {
    total += clients[id].weight;
    for (size_t j = 0; j < dim; ++j) expected[j] += clients[id].weight * clients[id].update[j];
  }
  const auto w1 = weights_of(v1);
  const double tol = 2 * aggregation::quantization_step(small_population().quantization) *
                     small_population().quantization.max_weight / total * included.size();
  ASSERT_EQ(w1.size(), dim);
  for (size_t j = 0; j < dim; ++j) EXPECT_NEAR(w1[j], expected[j] / total, tol + 1e-6) << j;
  // The version keeps the app's layout, and is what the registry publishes.
  auto stored = model::load_model(store->get_version(v1)->model_bytes, "v1");
  ASSERT_TRUE(stored.ok()) << stored.status().to_string();
  EXPECT_EQ(stored->spec, custom_population().model_spec);
  EXPECT_EQ(store->latest_version("app", VersionStage::kPublished)->id, v1);
}

TEST_F(RoundEngineTest, AMaskedInputOfTheWrongLengthIsRefusedAsBadInputAndTheRoundGoesOn) {
  dim = 41;
  for (uint64_t s = 1; s <= 6; ++s) enroll(s);
  auto e = make_engine(custom_population());
  ASSERT_NE(e, nullptr);
  auto chosen = checkin_all(*e);
  lengthen_masked_input_of = chosen[0];
  // It sends its (refused) masked input, then is silent from unmasking on.
  auto end = run_round(*e, chosen, {{chosen[0], 3}});
  // InvalidArgument is what the service answers with 400 (http_status_for).
  EXPECT_EQ(lengthened_ack.code(), ErrorCode::kInvalidArgument) << lengthened_ack.to_string();
  EXPECT_NE(lengthened_ack.message().find("this session expects"), std::string::npos)
      << lengthened_ack.message();
  // The other five are the cohort: the round completes without the bad upload.
  EXPECT_EQ(end.state(), proto::SecAggExchangeResponse::COMPLETED) << end.failure_reason();
}

}  // namespace fl::coordinator
