#include "simulations/inprocess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <utility>

#include "aggregation/client_update.h"
#include "aggregation/parallel.h"
#include "aggregation/scaffold.h"
#include "aggregation/secagg/client_session.h"
#include "aggregation/secagg/server_session.h"
#include "aggregation/secagg/session_config.h"
#include "coordinator/registry/registry.h"
#include "coordinator/rounds/round_engine.h"
#include "coordinator/store/sqlite_store.h"
#include "crypto/rng.h"
#include "model/model.h"
#include "model/model_spec.h"
#include "model/serialization.h"
#include "model/train.h"
#include "simulations/engine_config.h"
#include "simulations/run_common.h"
#include "simulations/scenario_data.h"
#include "simulations/secagg_round.h"

namespace fl::sim {
namespace {

using aggregation::secagg::SecAggClient;
using aggregation::secagg::SecAggServer;
using coordinator::RoundEngine;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// CPU time of the calling thread: what a client's work costs, whatever else
// shares the cores.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A seed for one purpose in one round for one client: every random choice of
// the run is a function of these, never of scheduling.
uint64_t derive(uint64_t seed, uint64_t round, uint64_t client, uint64_t purpose) {
  return splitmix(seed ^ splitmix(round ^ splitmix(client ^ splitmix(purpose))));
}
enum Purpose : uint64_t {
  kAvailability = 1,
  kSelection,
  kDrop,
  kTrain,
  kQuantize,
  kSession,
  kSpeed,
  kEngine
};

// The task's training plan as the client's TrainConfig (client_sdk/round.cc's
// to_plan), with the simulator's per-client seed.
Result<model::TrainConfig> train_config(const proto::TrainingPlan& p, uint64_t seed) {
  model::TrainConfig c;
  c.epochs = static_cast<int>(p.epochs());
  c.batch_size = static_cast<int>(p.batch_size());
  c.lr = p.learning_rate();
  auto opt = model::parse_optimizer(p.optimizer());
  if (!opt.ok()) return opt.status();
  c.optimizer = *opt;
  c.momentum = p.momentum();
  c.weight_decay = p.weight_decay();
  c.fedprox_mu = p.fedprox_mu();
  c.seed = seed;
  c.num_threads = 1;  // clients run side by side; each trains on one core
  return c;
}

// The wall time the engine spends after unmasking (de-quantising, the
// optimiser step, evaluation, the commit and the gate), per round.
class AggregationTimes final : public coordinator::RoundListener {
 public:
  void round_started(int64_t, uint32_t) override {}
  void stage_closed(int64_t, std::string_view, double, uint32_t, uint32_t) override {}
  void round_completed(int64_t, int64_t, double seconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_ = seconds;
  }
  void round_failed(int64_t, std::string_view, std::string_view) override {}
  double take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(last_, 0.0);
  }

 private:
  std::mutex mu_;
  double last_ = 0;
};

// One selected client for the length of one round: created when selected,
// destroyed when the round ends.
struct SimClient {
  uint64_t id = 0;  // the engine's client id: population index + 1
  size_t member = 0;
  DropPoint drop = DropPoint::kNone;
  int64_t train_ms = 0;  // simulated training time
  std::unique_ptr<crypto::SeededRng> rng;
  std::unique_ptr<SecAggClient> session;
  std::vector<proto::ServerToClient> inbox;
  std::optional<proto::ClientToServer> reply;
  bool took_part = false, masked = false;
  double train_s = 0, protocol_s = 0, loss = std::nan("");
  double bytes_up = 0, bytes_down = 0;
  // SCAFFOLD: c_i+ after training; it replaces c_i once the round's sum
  // included this client (its masked input arrived and the round completed).
  std::vector<float> next_control;
  Status error;
  // Whether the client still answers at protocol stage s (0 advertise .. 3 unmasking).
  bool answers(int stage) const {
    return drop == DropPoint::kNone || static_cast<int>(drop) - 1 > stage;
  }
};

}  // namespace

Result<RunResult> run_inprocess(const Scenario& sc, std::FILE* progress) {
  const auto run_start = Clock::now();
  RunResult out;
  out.scenario_name = sc.name;
  auto data_or = FederatedData::load(sc.data, sc.seed);
  if (!data_or.ok()) return data_or.status();
  const FederatedData& data = *data_or;
  out.data_name = data.name();

  auto partition_or = model::make_partition(data.train_labels(), data.num_classes(), sc.clients,
                                            sc.partition, sc.seed);
  if (!partition_or.ok()) return partition_or.status();
  const model::Partition& partition = *partition_or;
  out.partition = model::summarize_partition(partition, data.train_labels(), data.num_classes());

  auto spec = model_spec(sc.model, data.dim(), data.num_classes());
  if (!spec.ok()) return spec.status();
  out.model_description = model::describe(*spec);
  out.num_params = model::num_params(*spec);

  const unsigned threads = static_cast<unsigned>(sc.threads);
  const std::vector<model::Dataset> test_parts = split_test_set(data.test(), threads);
  if (progress) print_run_header(progress, sc, data, out);
  FL_RETURN_IF_ERROR(resolve_baseline(sc, data, *spec, test_parts, progress, out));

  // The coordinator, wired as fl-coordinator wires it (coordinator_service.cc):
  // store, registry with its gate, the test set as the server's holdout.
  uint64_t largest = 0;
  for (const auto& p : partition) largest = std::max<uint64_t>(largest, p.size());
  auto config = population_config(sc, *spec, largest);
  if (!config.ok()) return config.status();
  auto store = coordinator::SqliteStore::open(":memory:");
  if (!store.ok()) return store.status();
  coordinator::RegistryOptions registry_options;
  registry_options.gate = gate_policy(sc);
  auto registry = coordinator::Registry::create(**store, std::move(registry_options));
  if (!registry.ok()) return registry.status();
  AggregationTimes aggregation_times;
  coordinator::EngineHooks hooks;
  hooks.registry = registry->get();
  hooks.holdout = &data.test();
  hooks.listener = &aggregation_times;
  crypto::SeededRng engine_rng(derive(sc.seed, 0, 0, kEngine), "fl.sim.engine");
  int64_t now = 0;  // the virtual clock, in ms
  auto engine_or = RoundEngine::create(*config, **store, engine_rng, now, hooks);
  if (!engine_or.ok()) return engine_or.status();
  RoundEngine& engine = **engine_or;
  const SecAggServer::Stage stages[4] = {
      SecAggServer::Stage::kAdvertiseKeys, SecAggServer::Stage::kShareKeys,
      SecAggServer::Stage::kMaskedInput, SecAggServer::Stage::kUnmasking};
  const int64_t stage_deadline_ms[4] = {
      config->deadlines.advertise_keys_ms, config->deadlines.share_keys_ms,
      config->deadlines.masked_input_ms, config->deadlines.unmasking_ms};
  proto::CheckinRequest checkin_request;
  checkin_request.set_population(config->population);

  // A client's compute speed: a fixed property of the device, drawn when needed.
  auto slowness = [&](size_t member) {
    if (sc.stragglers.sigma <= 0) return 1.0;
    std::mt19937_64 rng(derive(sc.seed, 0, member, kSpeed));
    return std::exp(sc.stragglers.sigma * model::standard_normal(rng));
  };
  // SCAFFOLD: each client's control variate c_i, kept as its device would
  // keep it, created the first time it trains (absent: zeros), so memory
  // grows with the clients that trained, d floats each.
  std::unordered_map<size_t, std::vector<float>> client_controls;
  out.setup_s = seconds_since(run_start);

  for (int round = 1; round <= sc.rounds; ++round) {
    const auto round_start = Clock::now();
    const int64_t round_start_ms = now;
    RoundRecord rec;
    rec.round = round;
    const uint64_t r = static_cast<uint64_t>(round);
    double server_s = 0;
    // Every call into the coordinator goes through here, timed.
    auto call = [&](auto&& fn) {
      const auto t = Clock::now();
      auto result = fn();
      server_s += seconds_since(t);
      return result;
    };
    auto finish_record = [&] {
      rec.server_s = std::max(0.0, server_s - rec.aggregate_s);
      rec.sim_s = static_cast<double>(now - round_start_ms) / 1000.0;
      rec.wall_s = seconds_since(round_start);
      if (progress) {
        print_round(progress, rec, sc.rounds);
        if (!rec.abort_reason.empty())
          std::fprintf(progress, "round %d %s: %s\n", round, rec.status.c_str(),
                       rec.abort_reason.c_str());
      }
      out.rounds.push_back(std::move(rec));
    };
    if (engine.snapshot().phase == RoundEngine::Phase::kFinished) break;

    // The online clients check in during the selection window; it closes.
    std::vector<uint64_t> online;
    {
      std::mt19937_64 rng(derive(sc.seed, r, 0, kAvailability));
      for (int64_t c = 0; c < sc.clients; ++c)
        if (sc.availability >= 1.0 || model::uniform01(rng) < sc.availability)
          online.push_back(static_cast<uint64_t>(c) + 1);
    }
    rec.available = static_cast<int64_t>(online.size());
    for (uint64_t id : online) {
      auto c = call([&] { return engine.checkin(id, checkin_request, now); });
      if (!c.ok()) return c.status();
    }
    const int64_t selecting_round = engine.snapshot().round_id;
    now += config->deadlines.selection_ms;
    call([&] {
      engine.tick(now);
      return 0;
    });
    auto snap = engine.snapshot();
    if (snap.round_id != selecting_round && !online.empty()) {
      // The round could not start (e.g. no k/t for the cohort drawn): failed, re-run.
      auto outcome = call([&] {
        return engine.exchange(online.front(), selecting_round, proto::SecAggExchange(), now);
      });
      rec.status = "aborted";
      rec.abort_reason = outcome.ok() ? outcome->failure_reason() : outcome.status().message();
      finish_record();
      continue;
    }
    if (snap.phase != RoundEngine::Phase::kRunning) {
      rec.status = "skipped";
      rec.abort_reason = std::to_string(snap.pool) + " clients checked in, fewer than min_cohort " +
                         std::to_string(config->min_cohort) + "; the window is extended";
      finish_record();
      continue;
    }
    const int64_t round_id = snap.round_id;

    // The draw: the pool comes back and learns who was selected.
    std::vector<SimClient> cohort;
    for (uint64_t id : online) {
      auto c = call([&] { return engine.checkin(id, checkin_request, now); });
      if (!c.ok()) return c.status();
      if (c->decision() != proto::CheckinResponse::SELECTED) continue;
      SimClient s;
      s.id = id;
      s.member = static_cast<size_t>(id - 1);
      cohort.push_back(std::move(s));
    }
    const size_t m = cohort.size();
    rec.cohort = static_cast<int64_t>(m);
    if (cohort.empty()) return Internal("the engine started a round but selected none of the pool");

    // Where each selected client stops answering.
    const double p[4] = {sc.dropout.before_advertise, sc.dropout.before_share_keys,
                         sc.dropout.before_masked_input, sc.dropout.before_unmasking};
    if (sc.dropout.exact) {
      std::mt19937_64 rng(derive(sc.seed, r, 0, kDrop));
      std::vector<size_t> order(m);
      for (size_t i = 0; i < m; ++i) order[i] = i;
      for (size_t i = m; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
      size_t at = 0;
      for (int s = 0; s < 4; ++s) {
        const size_t count = static_cast<size_t>(std::llround(p[s] * static_cast<double>(m)));
        for (size_t j = 0; j < count && at < m; ++j)
          cohort[order[at++]].drop = static_cast<DropPoint>(s + 1);
      }
    } else {
      for (auto& c : cohort) {
        std::mt19937_64 rng(derive(sc.seed, r, c.member, kDrop));
        for (int s = 0; s < 4; ++s)
          if (model::uniform01(rng) < p[s]) {
            c.drop = static_cast<DropPoint>(s + 1);
            break;
          }
      }
    }
    for (const auto& c : cohort)
      if (c.drop != DropPoint::kNone) ++rec.dropped[static_cast<int>(c.drop) - 1];

    // Tasks, and the global model each client downloads.
    proto::TaskAssignment task;
    for (auto& c : cohort) {
      auto t = call([&] { return engine.task(c.id, round_id, now); });
      if (!t.ok()) return t.status();
      task = std::move(*t);
    }
    rec.degree = task.secagg().degree();
    rec.threshold = task.secagg().threshold();
    // The client update as the task describes it (clip, weight, quantise or
    // distributed DP encoding), as client_sdk/round.cc reads it.
    auto update_config = aggregation::client_update_config(task.quantization());
    if (!update_config.ok()) return update_config.status();
    auto global_bytes = call([&] { return engine.model_bytes(task.model_version()); });
    if (!global_bytes.ok()) return global_bytes.status();
    auto global_or = model::load_model(
        **global_bytes, "global model version " + std::to_string(task.model_version()));
    if (!global_or.ok()) return global_or.status();
    const model::Model& global = *global_or;
    // SCAFFOLD's task also carries c: d more floats to download.
    const double model_download =
        static_cast<double>((*global_bytes)->size()) +
        static_cast<double>(task.control_variate_size()) * static_cast<double>(sizeof(float));
    auto algorithm = aggregation::parse_training_algorithm(task.training().algorithm());
    if (!algorithm.ok()) return algorithm.status();
    const bool scaffold = *algorithm == aggregation::TrainingAlgorithm::kScaffold;
    const std::span<const float> global_control(task.control_variate().data(),
                                                static_cast<size_t>(task.control_variate_size()));

    // Still this round, in this protocol stage?
    auto in_stage = [&](int s) {
      auto now_snap = engine.snapshot();
      return now_snap.phase == RoundEngine::Phase::kRunning && now_snap.round_id == round_id &&
             now_snap.secagg_stage == aggregation::secagg::stage_name(stages[s]);
    };
    // A client's exchange: sends `message` if any, and collects what the
    // coordinator holds for it.
    auto exchange = [&](SimClient& c, const proto::ClientToServer* message) {
      proto::SecAggExchange request;
      if (message) {
        *request.mutable_message() = *message;
        c.bytes_up += static_cast<double>(message->ByteSizeLong());
      }
      auto response = call([&] { return engine.exchange(c.id, round_id, request, now); });
      if (!response.ok()) {
        if (c.error.ok()) c.error = response.status();
        return false;
      }
      for (auto& msg : *response->mutable_messages()) {
        c.bytes_down += static_cast<double>(msg.ByteSizeLong());
        c.inbox.push_back(std::move(msg));
      }
      return true;
    };
    // The client's protocol work on what it received, on a worker thread.
    auto respond = [&](SimClient& c) {
      const double t = thread_cpu_s();
      for (const auto& msg : c.inbox) {
        auto reply = c.session->handle(msg);
        if (!reply.ok()) {
          c.error = reply.status();
          continue;
        }
        if (*reply) c.reply = std::move(**reply);
      }
      c.inbox.clear();
      c.protocol_s += thread_cpu_s() - t;
    };
    // Closes a stage the cohort left open, at its deadline.
    auto close_at_deadline = [&](int s, int64_t started) {
      if (!in_stage(s)) return;
      now = std::max(now, started + stage_deadline_ms[s]);
      call([&] {
        engine.tick(now);
        return 0;
      });
    };

    // Stage 0: sessions are created only now, for the cohort, sharing one
    // validated configuration (each device would hold its own copy; a
    // process holding 10,000 copies of a 10,000-client graph would not fit).
    auto session_config = aggregation::secagg::SessionConfig::create(task.secagg());
    if (!session_config.ok()) return session_config.status();
    {
      const int64_t started = now;
      std::vector<SimClient*> live;
      for (auto& c : cohort)
        if (c.answers(0)) live.push_back(&c);
      aggregation::parallel_for(live.size(), threads, [&](size_t k) {
        SimClient& c = *live[k];
        const double t = thread_cpu_s();
        c.rng = std::make_unique<crypto::SeededRng>(derive(sc.seed, r, c.member, kSession),
                                                    "fl.sim.client");
        auto session = SecAggClient::create(*session_config, c.id, *c.rng);
        if (!session.ok()) {
          c.error = session.status();
          return;
        }
        c.session = std::move(*session);
        auto advertise = c.session->start();
        if (advertise.ok())
          c.reply = std::move(*advertise);
        else
          c.error = advertise.status();
        c.protocol_s += thread_cpu_s() - t;
      });
      for (SimClient* c : live) {
        c->took_part = true;
        c->bytes_down += model_download;
        if (c->reply) exchange(*c, &*c->reply);
        c->reply.reset();
      }
      close_at_deadline(0, started);
    }

    // Stages 1 and 3 answer at once; stage 2 after training, in simulated-time order.
    for (int s = 1; s < 4 && in_stage(s); ++s) {
      const int64_t started = now;
      std::vector<SimClient*> live;
      for (auto& c : cohort)
        if (c.session && c.error.ok() && c.answers(s) && (s < 3 || c.masked)) live.push_back(&c);
      for (SimClient* c : live) exchange(*c, nullptr);  // poll: the stage's requests
      if (s != 2) {
        aggregation::parallel_for(live.size(), threads, [&](size_t k) { respond(*live[k]); });
        for (SimClient* c : live) {
          if (!in_stage(s)) break;
          if (c->reply) exchange(*c, &*c->reply);
          c->reply.reset();
        }
        close_at_deadline(s, started);
        continue;
      }
      // Masked input: arrival = simulated training time.
      for (SimClient* c : live) {
        const double seconds = static_cast<double>(sc.local.epochs) *
                               static_cast<double>(partition[c->member].size()) *
                               sc.stragglers.seconds_per_example * slowness(c->member);
        c->train_ms = std::llround(seconds * 1000.0);
      }
      std::stable_sort(live.begin(), live.end(), [](const SimClient* a, const SimClient* b) {
        return a->train_ms < b->train_ms;
      });
      const int64_t deadline = started + stage_deadline_ms[2];
      const size_t batch_max = std::max<size_t>(1, 4 * threads);
      size_t next = 0;
      while (next < live.size() && in_stage(2) && started + live[next]->train_ms < deadline) {
        // Only clients the engine will still take: it closes the stage once
        // clients_per_round inputs arrived, or at the deadline.
        // (With dp the whole Poisson draw is taken: no early close.)
        const uint64_t arrived = engine.snapshot().counts.masked_input;
        const size_t room = config->dp.enabled()            ? live.size()
                            : config->cohort_size > arrived ? config->cohort_size - arrived
                                                            : 1;
        std::vector<SimClient*> batch;
        while (next < live.size() && batch.size() < std::min(room, batch_max) &&
               started + live[next]->train_ms < deadline)
          batch.push_back(live[next++]);
        aggregation::parallel_for(batch.size(), threads, [&](size_t k) {
          SimClient& c = *batch[k];
          const double t = thread_cpu_s();
          const model::Dataset local = data.rows(partition[c.member]);
          model::Model trained = global;
          const std::span<const float> x(global.params.data(),
                                         static_cast<size_t>(global.params.size()));
          std::span<const float> client_control;  // c_i; empty: zeros
          if (auto it = client_controls.find(c.member); scaffold && it != client_controls.end())
            client_control = it->second;
          Result<std::vector<float>> correction = std::vector<float>();
          if (scaffold)
            correction = aggregation::gradient_correction(global_control, client_control);
          auto tc = train_config(task.training(), derive(sc.seed, r, c.member, kTrain));
          if (tc.ok() && !correction.ok()) tc = correction.status();
          Result<model::TrainReport> report =
              tc.ok() ? model::train(trained, local, *tc,
                                     tc->fedprox_mu > 0 ? global.params.data() : nullptr,
                                     scaffold ? correction->data() : nullptr)
                      : Result<model::TrainReport>(tc.status());
          c.train_s = thread_cpu_s() - t;
          if (!report.ok()) {
            c.error = report.status();  // it leaves the round: a dropout to the others
            c.inbox.clear();
            return;
          }
          c.loss = report->final_loss();
          const double tq = thread_cpu_s();
          const std::span<const float> y(trained.params.data(),
                                         static_cast<size_t>(trained.params.size()));
          crypto::SeededRng qrng(derive(sc.seed, r, c.member, kQuantize), "fl.sim.quantize");
          Result<aggregation::ClientUpdate> input = Internal("no update");
          if (scaffold) {
            auto control = aggregation::step_control_variate(x, y, global_control, client_control,
                                                             report->unit_gradient_travel);
            input = control.ok() ? aggregation::build_scaffold_client_update(
                                       x, y, control->delta, local.size(), *update_config, qrng)
                                 : Result<aggregation::ClientUpdate>(control.status());
            if (control.ok()) c.next_control = std::move(control->next);
          } else {
            input = aggregation::build_client_update(x, y, local.size(), *update_config, qrng);
          }
          Status set = input.ok() ? c.session->set_input(std::move(input->ring)) : input.status();
          c.protocol_s += thread_cpu_s() - tq;
          if (!set.ok()) {
            c.error = set;
            c.inbox.clear();
            return;
          }
          respond(c);
        });
        for (SimClient* c : batch) {
          now = std::max(now, started + c->train_ms);
          if (c->reply && exchange(*c, &*c->reply)) c->masked = true;
          c->reply.reset();
        }
      }
      for (SimClient* c : live)
        if (!c->masked && c->error.ok())
          ++rec.stragglers;  // late: cut by the deadline or the count
      rec.dropped[2] += rec.stragglers;
      close_at_deadline(2, started);
    }

    // The outcome, as a polling client learns it.
    proto::SecAggExchange poll;
    auto outcome = call([&] { return engine.exchange(cohort.front().id, round_id, poll, now); });
    rec.aggregate_s = aggregation_times.take();
    if (outcome.ok() && outcome->state() == proto::SecAggExchangeResponse::COMPLETED) {
      auto version = (*store)->get_version(outcome->new_version());
      if (!version.ok()) return version.status();
      auto metric = [&](const char* name) -> std::optional<double> {
        auto it = version->metrics.find(name);
        if (it == version->metrics.end()) return std::nullopt;
        return it->second;
      };
      rec.status = "completed";
      // The clients whose input is in the sum keep their new c_i.
      for (auto& c : cohort)
        if (c.masked && !c.next_control.empty())
          client_controls[c.member] = std::move(c.next_control);
      rec.included = static_cast<int64_t>(metric("clients").value_or(0));
      rec.total_weight = metric("total_weight").value_or(0);
      rec.accuracy = metric("accuracy");
      rec.loss = metric("loss");
      rec.version = outcome->new_version();
      auto published = (*store)->list_publications(config->model_name, 1);
      rec.published = published.ok() && !published->empty() &&
                      published->front().version_id == outcome->new_version();
      // The privacy spent so far, as the engine committed it with the version.
      auto ledger = (*store)->privacy_ledger_tail(config->population, 1);
      if (!ledger.ok()) return ledger.status();
      if (!ledger->rows.empty() && ledger->rows.back().version_id == outcome->new_version()) {
        const coordinator::PrivacySpend& spend = ledger->rows.back().spend;
        rec.epsilon = spend.epsilon;
        out.privacy = RunPrivacy{spend.mechanism, spend.epsilon, spend.delta, ledger->rounds};
      }
    } else {
      rec.status = "aborted";
      rec.abort_reason = outcome.ok() ? outcome->failure_reason() : outcome.status().message();
    }

    double loss_sum = 0, up = 0, down = 0;
    int trained = 0, participants = 0;
    Status client_error;
    for (const auto& c : cohort) {
      rec.train_cpu_s += c.train_s;
      rec.client_cpu_s += c.protocol_s;
      if (!std::isnan(c.loss)) {
        loss_sum += c.loss;
        ++trained;
      }
      if (c.took_part) {
        ++participants;
        up += c.bytes_up;
        down += c.bytes_down;
      }
      if (client_error.ok() && !c.error.ok()) client_error = c.error;
    }
    rec.train_loss = trained ? loss_sum / trained : 0.0;
    if (participants) {
      rec.bytes_up = up / participants;
      rec.bytes_down = down / participants;
    }
    if (!client_error.ok() && progress)
      std::fprintf(progress, "round %d: a client reported: %s\n", round,
                   client_error.to_string().c_str());
    finish_record();
  }
  out.halted = engine.snapshot().halted;
  if (!out.halted.empty() && progress)
    std::fprintf(progress, "training halted: %s\n", out.halted.c_str());
  out.total_wall_s = seconds_since(run_start);
  return out;
}

}  // namespace fl::sim
