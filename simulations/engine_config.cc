#include "simulations/engine_config.h"

#include <cmath>

namespace fl::sim {
namespace {

int64_t millis(double seconds) { return std::max<int64_t>(1, std::llround(seconds * 1000.0)); }

}  // namespace

Result<coordinator::PopulationConfig> population_config(const Scenario& sc,
                                                        const model::ModelSpec& spec,
                                                        uint64_t largest_client) {
  coordinator::PopulationConfig c;
  c.population = "sim";
  c.model_name = sc.name;
  c.model_spec = spec;
  c.init_seed = sc.seed;
  c.rounds = static_cast<uint32_t>(sc.rounds);
  c.cohort_size = static_cast<uint32_t>(sc.clients_per_round);
  c.over_selection = sc.coordinator.over_selection;
  c.min_cohort = sc.coordinator.min_cohort > 0 ? static_cast<uint32_t>(sc.coordinator.min_cohort)
                                               : std::min<uint32_t>(2, c.selection_target());
  // A simulated population is not an attacker's target: small cohorts are
  // what tests and quick scenarios run.
  c.allow_small_cohorts = c.min_cohort < coordinator::kMinSecureCohort;
  c.deadlines.selection_ms = millis(sc.coordinator.selection_s);
  c.deadlines.advertise_keys_ms = millis(sc.coordinator.advertise_keys_s);
  c.deadlines.share_keys_ms = millis(sc.coordinator.share_keys_s);
  c.deadlines.masked_input_ms = sc.stragglers.deadline_s > 0 ? millis(sc.stragglers.deadline_s)
                                                             : kDefaultMaskedInputDeadlineMs;
  c.deadlines.unmasking_ms = millis(sc.coordinator.unmasking_s);

  c.training.set_epochs(static_cast<uint32_t>(sc.local.epochs));
  c.training.set_batch_size(static_cast<uint32_t>(sc.local.batch_size));
  c.training.set_learning_rate(static_cast<float>(sc.local.lr));
  c.training.set_optimizer(sc.local.optimizer);
  c.training.set_momentum(static_cast<float>(sc.local.momentum));
  c.training.set_weight_decay(static_cast<float>(sc.local.weight_decay));
  c.training.set_fedprox_mu(static_cast<float>(sc.local.fedprox_mu));
  c.training.set_seed(sc.seed);
  c.training.set_algorithm(sc.local.algorithm);
  c.population_size = static_cast<uint64_t>(sc.clients);
  if (auto kind = model::parse_round_lr_schedule(sc.local.lr_schedule); kind.ok())
    c.lr_schedule.kind = *kind;
  c.lr_schedule.lr_decay = sc.local.lr_decay;
  c.lr_schedule.lr_min = sc.local.lr_min;
  c.quantization = quantization_config(sc.secagg, largest_client);
  c.l2_clip = sc.secagg.l2_clip;
  c.prg = sc.secagg.prg;
  c.reveal_pair_seeds = sc.secagg.reveal_pair_seeds;

  c.graph = sc.secagg.graph == "complete" ? aggregation::secagg::GraphKind::kComplete
                                          : aggregation::secagg::GraphKind::kHarary;
  c.expected_dropout = expected_dropout(sc);
  c.corrupt_fraction = sc.secagg.corrupt_fraction;
  if (sc.secagg.threshold > 0) c.threshold = sc.secagg.threshold;
  // In-process clients have no enrolled identity keys: no network attacker
  // can substitute a peer's key inside one process.
  c.require_signed_keys = false;
  c.unmask_threads = static_cast<unsigned>(sc.threads);
  c.dp = sc.dp;
  auto optimizer = server_optimizer_config(sc.server);
  if (!optimizer.ok()) return optimizer.status();
  c.optimizer = *optimizer;
  if (Status s = coordinator::validate_population(c); !s.ok())
    return Status(s.code(), sc.file + ": the coordinator refuses the scenario: " + s.message());
  return c;
}

coordinator::GatePolicy gate_policy(const Scenario& sc) {
  coordinator::GatePolicy g;
  g.metric = sc.coordinator.gate_metric;
  g.higher_is_better = sc.coordinator.gate_higher_is_better;
  g.tolerance = sc.coordinator.gate_tolerance;
  g.require_metric = sc.coordinator.gate_require_metric;
  return g;
}

}  // namespace fl::sim
