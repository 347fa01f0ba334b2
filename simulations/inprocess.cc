#include "simulations/inprocess.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

#include "aggregation/client_update.h"
#include "aggregation/parallel.h"
#include "aggregation/quantization.h"
#include "aggregation/round_aggregator.h"
#include "aggregation/secagg/session_config.h"
#include "aggregation/server_optimizer.h"
#include "crypto/rng.h"
#include "model/metrics.h"
#include "model/model.h"
#include "model/model_spec.h"
#include "model/train.h"
#include "simulations/run_common.h"
#include "simulations/scenario_data.h"
#include "simulations/secagg_round.h"

namespace fl::sim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
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
  kSpeed
};

Result<model::TrainConfig> local_config(const LocalTrainingSpec& l) {
  model::TrainConfig c;
  c.epochs = l.epochs;
  c.batch_size = l.batch_size;
  c.lr = static_cast<float>(l.lr);
  auto opt = model::parse_optimizer(l.optimizer);
  if (!opt.ok()) return opt.status();
  c.optimizer = *opt;
  c.momentum = static_cast<float>(l.momentum);
  c.weight_decay = static_cast<float>(l.weight_decay);
  c.fedprox_mu = static_cast<float>(l.fedprox_mu);
  c.num_threads = 1;  // clients run side by side; each trains on one core
  return c;
}

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
  auto global_or = model::create_model(*spec, sc.seed);
  if (!global_or.ok()) return global_or.status();
  model::Model global = std::move(*global_or);
  const int64_t num_params = model::num_params(*spec);
  out.model_description = model::describe(*spec);
  out.num_params = num_params;

  const unsigned threads = static_cast<unsigned>(sc.threads);
  const std::vector<model::Dataset> test_parts = split_test_set(data.test(), threads);

  if (progress) print_run_header(progress, sc, data, out);

  // The centralised baseline the plot draws.
  FL_RETURN_IF_ERROR(resolve_baseline(sc, data, *spec, test_parts, progress, out));

  auto opt_config = server_optimizer_config(sc.server);
  if (!opt_config.ok()) return opt_config.status();
  auto optimizer_or = aggregation::ServerOptimizer::create(*opt_config);
  if (!optimizer_or.ok()) return optimizer_or.status();
  std::unique_ptr<aggregation::ServerOptimizer> optimizer = std::move(*optimizer_or);
  auto train_config = local_config(sc.local);
  if (!train_config.ok()) return train_config.status();
  const model::RoundLrSchedule lr_schedule = local_lr_schedule(sc);

  uint64_t largest = 0;
  for (const auto& p : partition) largest = std::max<uint64_t>(largest, p.size());
  const aggregation::ClientUpdateConfig update_config{quantization_config(sc.secagg, largest),
                                                      sc.secagg.l2_clip};
  const aggregation::QuantizationConfig& q = update_config.quantization;
  const uint64_t model_bytes = static_cast<uint64_t>(num_params) * sizeof(float);

  // Compute speed: a fixed property of each device.
  std::vector<double> slowness(static_cast<size_t>(sc.clients), 1.0);
  if (sc.stragglers.sigma > 0) {
    std::mt19937_64 rng(derive(sc.seed, 0, 0, kSpeed));
    for (auto& s : slowness) s = std::exp(sc.stragglers.sigma * model::standard_normal(rng));
  }
  std::map<uint64_t, aggregation::secagg::ProtocolParameters> parameter_cache;
  out.setup_s = seconds_since(run_start);

  for (int round = 1; round <= sc.rounds; ++round) {
    const auto round_start = Clock::now();
    RoundRecord rec;
    rec.round = round;
    const uint64_t r = static_cast<uint64_t>(round);
    // Indexed by completed rounds, as RoundEngine indexes it, so an aborted
    // round is retried at the same rate.
    const auto round_lr =
        static_cast<float>(model::round_learning_rate(lr_schedule, optimizer.steps()));

    // Who is online, and who of them is selected.
    std::vector<int64_t> online;
    {
      std::mt19937_64 rng(derive(sc.seed, r, 0, kAvailability));
      for (int64_t c = 0; c < sc.clients; ++c)
        if (sc.availability >= 1.0 || model::uniform01(rng) < sc.availability) online.push_back(c);
    }
    rec.available = static_cast<int64_t>(online.size());
    const size_t m = static_cast<size_t>(std::min<int64_t>(sc.clients_per_round, rec.available));
    {
      std::mt19937_64 rng(derive(sc.seed, r, 0, kSelection));
      for (size_t i = 0; i < m; ++i) std::swap(online[i], online[i + rng() % (online.size() - i)]);
    }
    std::vector<int64_t> cohort(online.begin(), online.begin() + static_cast<ptrdiff_t>(m));
    std::sort(cohort.begin(), cohort.end());
    rec.cohort = static_cast<int64_t>(m);

    // Where each selected client stops answering.
    std::vector<DropPoint> drops(m, DropPoint::kNone);
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
          drops[order[at++]] = static_cast<DropPoint>(s + 1);
      }
    } else {
      for (size_t i = 0; i < m; ++i) {
        std::mt19937_64 rng(derive(sc.seed, r, static_cast<uint64_t>(cohort[i]), kDrop));
        for (int s = 0; s < 4; ++s)
          if (model::uniform01(rng) < p[s]) {
            drops[i] = static_cast<DropPoint>(s + 1);
            break;
          }
      }
    }
    if (sc.stragglers.deadline_s > 0) {
      for (size_t i = 0; i < m; ++i) {
        if (drops[i] != DropPoint::kNone && drops[i] != DropPoint::kBeforeUnmasking) continue;
        const auto c = static_cast<size_t>(cohort[i]);
        const double simulated = static_cast<double>(sc.local.epochs) *
                                 static_cast<double>(partition[c].size()) *
                                 sc.stragglers.seconds_per_example * slowness[c];
        if (simulated > sc.stragglers.deadline_s) {
          drops[i] = DropPoint::kBeforeMaskedInput;
          ++rec.stragglers;
        }
      }
    }
    for (DropPoint d : drops)
      if (d != DropPoint::kNone) ++rec.dropped[static_cast<int>(d) - 1];

    // Local training of cohort member i from the global weights.
    std::vector<double> losses(m, std::nan("")), train_s(m, 0), quantize_s(m, 0);
    std::mutex error_mu;
    Status client_error;
    auto train_client = [&](size_t i) -> std::optional<std::vector<float>> {
      const auto t = Clock::now();
      const auto c = static_cast<size_t>(cohort[i]);
      const model::Dataset local = data.rows(partition[c]);
      model::Model trained = global;
      model::TrainConfig config = *train_config;
      config.lr = round_lr;
      config.seed = derive(sc.seed, r, c, kTrain);
      auto report = model::train(trained, local, config,
                                 config.fedprox_mu > 0 ? global.params.data() : nullptr);
      train_s[i] = seconds_since(t);
      if (!report.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (client_error.ok()) client_error = report.status();
        return std::nullopt;
      }
      losses[i] = report->final_loss();
      std::vector<float> update(static_cast<size_t>(num_params));
      Eigen::Map<Eigen::VectorXf>(update.data(), num_params) = trained.params - global.params;
      return update;
    };

    std::optional<aggregation::MeanUpdate> mean_update;
    const uint64_t min_cohort = sc.secagg.enabled ? 2 : 1;
    if (m < min_cohort) {
      rec.status = "skipped";
    } else if (sc.secagg.enabled) {
      auto params = parameter_cache.find(m);
      if (params == parameter_cache.end()) {
        auto chosen = protocol_parameters(sc, m);
        if (!chosen.ok()) return chosen.status();
        params = parameter_cache.emplace(m, *chosen).first;
      }
      rec.degree = params->second.degree;
      rec.threshold = params->second.threshold;
      SecAggRoundSpec spec;
      crypto::SeededRng session_rng(derive(sc.seed, r, 0, kSession), "fl.sim.session");
      std::vector<uint64_t> ids;
      for (int64_t c : cohort) ids.push_back(static_cast<uint64_t>(c) + 1);
      const uint64_t qdim = aggregation::quantized_dimension(q, static_cast<uint64_t>(num_params));
      spec.config =
          aggregation::secagg::make_config(session_rng.key32(), ids, params->second, qdim, q.ring,
                                           sc.secagg.prg);
      spec.drops = drops;
      spec.seed = derive(sc.seed, r, 0, kSession);
      spec.client_threads = threads;
      spec.server_threads = threads;
      spec.make_input = [&](uint32_t i) {
        auto update = train_client(i);
        const auto t = Clock::now();
        // A client whose training failed sends a zero update of weight zero:
        // it then counts for nothing in the mean.
        std::vector<uint64_t> input(qdim, 0);
        if (update) {
          const auto c = static_cast<uint64_t>(cohort[i]);
          crypto::SeededRng rng(derive(sc.seed, r, c, kQuantize), "fl.sim.quantize");
          auto built =
              aggregation::build_client_update(*update, partition[c].size(), update_config, rng);
          if (built.ok()) {
            input = std::move(built->ring);
          } else {
            std::lock_guard<std::mutex> lock(error_mu);
            if (client_error.ok()) client_error = built.status();
          }
        }
        quantize_s[i] = seconds_since(t);
        return input;
      };
      SecAggRoundReport report = run_secagg_round(spec);
      for (double s : report.server_ms) rec.server_s += s / 1e3;
      const double participants = static_cast<double>(m - rec.dropped[0]);
      rec.client_cpu_s = report.client_ms_mean * participants / 1e3;
      rec.bytes_up = report.bytes_up_mean;
      rec.bytes_down = report.bytes_down_mean + static_cast<double>(model_bytes);
      if (report.status.ok()) {
        const auto t = Clock::now();
        auto mean = aggregation::decode_secure_sum(report.sum, report.included.size(), {q});
        rec.aggregate_s += seconds_since(t);
        if (mean.ok()) {
          rec.included = static_cast<int64_t>(mean->stats.included);
          rec.total_weight = mean->stats.total_weight;
          mean_update = std::move(*mean);
          rec.status = "completed";
        } else {
          rec.status = "aborted";  // e.g. every included client failed to train
          rec.abort_reason = mean.status().message();
        }
      } else {
        rec.status = "aborted";
        rec.abort_reason = report.status.message();
      }
    } else {
      // Plain FedAvg: the clients whose input would have reached the server.
      std::vector<size_t> senders;
      for (size_t i = 0; i < m; ++i)
        if (drops[i] == DropPoint::kNone || drops[i] == DropPoint::kBeforeUnmasking)
          senders.push_back(i);
      aggregation::PlainUpdateSum sum(static_cast<size_t>(num_params));
      for (size_t base = 0; base < senders.size(); base += threads) {
        const size_t count = std::min<size_t>(threads, senders.size() - base);
        std::vector<std::optional<std::vector<float>>> updates(count);
        aggregation::parallel_for(count, threads,
                                  [&](size_t k) { updates[k] = train_client(senders[base + k]); });
        const auto t = Clock::now();
        for (size_t k = 0; k < count; ++k) {  // in cohort order
          if (!updates[k]) continue;
          const auto c = static_cast<size_t>(cohort[senders[base + k]]);
          auto weighted =
              aggregation::clip_and_weigh(*updates[k], partition[c].size(), update_config);
          Status added = weighted.ok() ? sum.add(*weighted) : weighted.status();
          if (!added.ok() && client_error.ok()) client_error = added;
        }
        rec.aggregate_s += seconds_since(t);
      }
      rec.bytes_up = static_cast<double>(model_bytes + sizeof(uint64_t));
      rec.bytes_down = static_cast<double>(model_bytes);
      rec.included = static_cast<int64_t>(sum.inputs());
      auto mean = aggregation::decode_plain_sum(sum, {q});
      if (mean.ok()) {
        rec.total_weight = mean->stats.total_weight;
        mean_update = std::move(*mean);
        rec.status = "completed";
      } else {
        rec.status = "aborted";
        rec.abort_reason = mean.status().message();
      }
    }
    if (!client_error.ok() && progress)
      std::fprintf(progress, "round %d: a client's update was left out: %s\n", round,
                   client_error.to_string().c_str());

    if (mean_update) {
      const auto t = Clock::now();
      auto next = aggregation::step_server_optimizer(
          std::span<const float>(global.params.data(), static_cast<size_t>(num_params)),
          *mean_update, *optimizer);
      if (!next.ok()) return next.status();
      optimizer = std::move(next->optimizer);
      global.params = Eigen::Map<const Eigen::VectorXf>(next->weights.data(), num_params);
      rec.aggregate_s += seconds_since(t);
    }
    double loss_sum = 0;
    int trained = 0;
    for (size_t i = 0; i < m; ++i) {
      rec.train_cpu_s += train_s[i];
      rec.client_cpu_s += quantize_s[i];
      if (!std::isnan(losses[i])) {
        loss_sum += losses[i];
        ++trained;
      }
    }
    rec.train_loss = trained ? loss_sum / trained : 0.0;

    if (round % sc.eval_every == 0 || round == sc.rounds) {
      const auto t = Clock::now();
      auto e = evaluate_on_test(global, test_parts);
      if (!e.ok()) return e.status();
      rec.accuracy = e->accuracy;
      rec.loss = e->loss;
      rec.eval_s = seconds_since(t);
    }
    rec.wall_s = seconds_since(round_start);
    if (progress) {
      print_round(progress, rec, sc.rounds);
      if (!rec.abort_reason.empty())
        std::fprintf(progress, "round %d aborted: %s\n", round, rec.abort_reason.c_str());
    }
    out.rounds.push_back(std::move(rec));
  }
  out.total_wall_s = seconds_since(run_start);
  return out;
}

}  // namespace fl::sim
