#include "coordinator/rounds/population_config.h"

#include <cmath>

#include "aggregation/scaffold.h"

namespace fl::coordinator {

uint32_t PopulationConfig::selection_target() const {
  return static_cast<uint32_t>(std::ceil(cohort_size * over_selection - 1e-9));
}

model::RoundLrSchedule PopulationConfig::local_lr_schedule() const {
  model::RoundLrSchedule s = lr_schedule;
  s.lr = training.learning_rate();
  s.rounds = rounds;
  return s;
}

namespace {

// Over-selection beyond 10x only wastes clients' battery: Bonawitz et al.
// (MLSys 2019) select 130% of the cohort they need.
constexpr double kMaxOverSelection = 10.0;

std::optional<ConfigProblem> problem(std::string key, std::string why) {
  return ConfigProblem{std::move(key), std::move(why)};
}

std::optional<ConfigProblem> cohort_problem(const PopulationConfig& c) {
  if (c.cohort_size < 2) return problem("cohort_size", "must be at least 2");
  if (!(c.over_selection >= 1.0 && c.over_selection <= kMaxOverSelection))
    return problem("over_selection", "must be in [1, 10]");
  if (c.min_cohort < 2 || c.min_cohort > c.selection_target())
    return problem("min_cohort", "must be in [2, cohort_size x over_selection = " +
                                     std::to_string(c.selection_target()) + "], got " +
                                     std::to_string(c.min_cohort));
  if (!c.allow_small_cohorts && c.min_cohort < kMinSecureCohort)
    return problem("min_cohort", "is below " + std::to_string(kMinSecureCohort) +
                                     ", the smallest cohort secure aggregation is trusted with "
                                     "(README: threat model); set allow_small_cohorts: true to "
                                     "run smaller ones knowingly");
  if (c.selection.policy == SelectionPolicy::kFirstCome && !c.allow_small_cohorts)
    return problem("selection.policy",
                   "first_come lets whoever checks in first fill the cohort (the n-1 attack); "
                   "it needs allow_small_cohorts: true (benchmarks, tests)");
  if (c.selection.once_in_rounds < 1)
    return problem("selection.once_in_rounds", "must be at least 1");
  const std::pair<const char*, int64_t> deadlines[] = {
      {"selection", c.deadlines.selection_ms},
      {"advertise_keys", c.deadlines.advertise_keys_ms},
      {"share_keys", c.deadlines.share_keys_ms},
      {"masked_input", c.deadlines.masked_input_ms},
      {"unmasking", c.deadlines.unmasking_ms}};
  for (const auto& [stage, ms] : deadlines)
    if (ms <= 0)
      return problem(std::string("deadlines_ms.") + stage,
                     "must be a positive number of milliseconds");
  return std::nullopt;
}

std::optional<ConfigProblem> training_problem(const proto::TrainingPlan& t) {
  if (t.epochs() == 0) return problem("training.epochs", "must be positive");
  if (t.batch_size() == 0) return problem("training.batch_size", "must be positive");
  if (!(t.learning_rate() > 0) || !std::isfinite(t.learning_rate()))
    return problem("training.learning_rate", "must be positive");
  if (t.optimizer() != "sgd" && t.optimizer() != "adam")
    return problem("training.optimizer", "must be sgd or adam");
  if (!(t.fedprox_mu() >= 0)) return problem("training.fedprox_mu", "must not be negative");
  if (auto a = aggregation::parse_training_algorithm(t.algorithm()); !a.ok())
    return problem("training.algorithm", "must be fedavg or scaffold, got '" + t.algorithm() + "'");
  return std::nullopt;
}

// SCAFFOLD needs N for the control variate's step, local SGD, and no DP or
// L2 clip (aggregation/scaffold.h says why).
std::optional<ConfigProblem> scaffold_problem(const PopulationConfig& c) {
  if (!c.scaffold()) return std::nullopt;
  if (std::string why = aggregation::scaffold_refusal(c.dp.enabled(), 0, c.training.optimizer());
      !why.empty())
    return problem("training.algorithm", why);
  if (std::string why = aggregation::scaffold_refusal(false, c.l2_clip, "sgd"); !why.empty())
    return problem("quantization.l2_clip", why);
  if (c.population_size < c.selection_target())
    return problem("training.population_size",
                   "scaffold needs N, the devices of the population (the control variate moves "
                   "by |S|/N of the round's mean), at least the " +
                       std::to_string(c.selection_target()) + " selected per round; got " +
                       std::to_string(c.population_size));
  return std::nullopt;
}

std::optional<ConfigProblem> aggregation_problem(const PopulationConfig& c) {
  if (!(c.quantization.clip > 0) || !std::isfinite(c.quantization.clip))
    return problem("quantization.clip", "must be a positive number");
  // The headroom is for the whole selection: every selected client may report.
  if (Status st = aggregation::check_quantization(c.quantization, c.selection_target()); !st.ok())
    return problem("quantization.bits", st.message());
  if (!(c.l2_clip >= 0) || !std::isfinite(c.l2_clip))
    return problem("quantization.l2_clip", "must be 0 (off) or a positive number");
  if (!(c.expected_dropout >= 0 && c.expected_dropout < 1))
    return problem("secure_aggregation.expected_dropout", "must be in [0, 1)");
  if (!(c.corrupt_fraction >= 0 && c.corrupt_fraction < 0.5))
    return problem("secure_aggregation.corrupt_fraction", "must be in [0, 0.5)");
  if (c.threshold && *c.threshold > c.selection_target())
    return problem(
        "secure_aggregation.threshold",
        "is larger than the cohort (" + std::to_string(c.selection_target()) + " selected)");
  if (c.degree && c.threshold && *c.threshold > *c.degree + 1)
    return problem("secure_aggregation.threshold",
                   "exceeds the neighbourhood size degree + 1 = " + std::to_string(*c.degree + 1));
  if (auto opt = aggregation::ServerOptimizer::create(c.optimizer); !opt.ok())
    return problem("server_optimizer.kind", opt.status().message());
  if (c.federated_evaluation.min_reports < 1)
    return problem("federated_evaluation.min_reports", "must be at least 1");
  if (c.federated_evaluation.deadline_ms <= 0)
    return problem("federated_evaluation.deadline_ms", "must be a positive number of milliseconds");
  return std::nullopt;
}

// An app-defined model (kind custom) is aggregated, never interpreted: its
// layout must add up, and nothing that reads its weights may be switched on.
std::optional<ConfigProblem> model_problem(const PopulationConfig& c) {
  if (c.model_spec.kind == model::ModelKind::kCustom) {
    if (auto p = model::find_custom_spec_problem(c.model_spec))
      return problem("model." + p->key, p->why);
    if (c.federated_evaluation.enabled)
      return problem("federated_evaluation.enabled",
                     "must be false for model kind custom: clients report counts of the built-in "
                     "models' predictions, and an app-defined model's weights are not interpreted "
                     "here");
  }
  if (Status s = model::validate_spec(c.model_spec); !s.ok()) return problem("model", s.message());
  return std::nullopt;
}

// "dp.noise_multiplier: must be > 0" -> {dp.noise_multiplier, must be > 0}.
std::optional<ConfigProblem> keyed(const Status& s) {
  if (s.ok()) return std::nullopt;
  const std::string& m = s.message();
  const auto colon = m.find(": ");
  if (colon == std::string::npos) return problem("dp", m);
  return problem(m.substr(0, colon), m.substr(colon + 2));
}

std::optional<ConfigProblem> dp_problem(const PopulationConfig& c) {
  const aggregation::dp::DpConfig& dp = c.dp;
  if (!dp.enabled()) return std::nullopt;
  if (auto p = keyed(aggregation::dp::check_dp_config(dp))) return p;
  if (auto p = keyed(aggregation::dp::check_dp_for_model(
          dp, static_cast<uint64_t>(model::num_params(c.model_spec)),
          static_cast<uint32_t>(c.quantization.ring))))
    return p;
  if (dp.adaptive && dp.mode == aggregation::dp::DpMode::kDistributed)
    return problem("dp.adaptive_clipping",
                   "is supported with mode central only: the distributed mechanism's accounting "
                   "of the clipped-count bit is not implemented");
  if (c.l2_clip != 0)
    return problem("quantization.l2_clip",
                   "leave it out when dp is on: dp.clip is the clients' L2 clip");
  if (c.selection.policy != SelectionPolicy::kUniform)
    return problem("selection.policy",
                   "dp needs uniform: the accountant assumes Poisson sampling of the check-ins");
  if (c.selection.once_in_rounds != 1)
    return problem("selection.once_in_rounds",
                   "must be 1 when dp is on: the accountant assumes each round samples every "
                   "client independently at rate dp.sampling_rate");
  if (dp.expected_clients() < static_cast<double>(c.min_cohort))
    return problem("dp.sampling_rate",
                   "sampling_rate x population_size = " + std::to_string(dp.expected_clients()) +
                       " expected clients per round is below min_cohort " +
                       std::to_string(c.min_cohort) + ": most rounds could not start");
  return std::nullopt;
}

}  // namespace

std::optional<ConfigProblem> find_population_problem(const PopulationConfig& c) {
  if (c.population.empty()) return problem("name", "must not be empty");
  if (c.model_name.empty()) return problem("model.name", "must not be empty");
  if (auto p = model_problem(c)) return p;
  if (auto p = cohort_problem(c)) return p;
  if (auto p = training_problem(c.training)) return p;
  if (auto p = dp_problem(c)) return p;
  if (auto p = scaffold_problem(c)) return p;
  if (auto bad = model::check_round_lr_schedule(c.local_lr_schedule()))
    return problem(bad->key == "lr"       ? "training.learning_rate"
                   : bad->key == "rounds" ? "rounds"
                                          : "training." + bad->key,
                   bad->why);
  return aggregation_problem(c);
}

Status validate_population(const PopulationConfig& config) {
  if (auto p = find_population_problem(config))
    return InvalidArgument("population." + p->key + ": " + p->why);
  return Status::Ok();
}

}  // namespace fl::coordinator
