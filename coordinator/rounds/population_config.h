// What one population trains and how its rounds run: the model, the cohort and
// its over-selection, per-stage deadlines, the local training plan sent to
// clients, quantisation and secure aggregation settings, the server optimiser.
//
// Loaded from the coordinator's YAML (coordinator/service/config.h); validated
// here, in one place with one set of bounds, by both config loading (which
// adds the file and line) and RoundEngine::create, so that a bad setting is
// refused before any round starts.
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aggregation/dp/dp_config.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/server_optimizer.h"
#include "base/status.h"
#include "model/model_spec.h"
#include "model/round_lr_schedule.h"
#include "proto/coordinator.pb.h"

namespace fl::coordinator {

struct StageDeadlines {
  // The selection window: check-ins during it form the pool the cohort is
  // drawn from when it closes (extended while fewer than min_cohort came).
  int64_t selection_ms = 30'000;
  int64_t advertise_keys_ms = 10'000;
  int64_t share_keys_ms = 10'000;
  int64_t masked_input_ms = 120'000;  // includes local training
  int64_t unmasking_ms = 10'000;
};

// After a round completes, its clients score the new version on their local
// held-out data and report counts; the engine combines them into metrics
// named fed_accuracy, fed_precision, fed_recall, fed_f1, fed_loss and
// fed_examples once every included client reported or, with at least
// min_reports, at the deadline.
struct FederatedEvaluationConfig {
  bool enabled = false;
  uint32_t min_reports = 3;
  int64_t deadline_ms = 30'000;
};

// How a round's cohort is drawn from the clients that check in.
enum class SelectionPolicy {
  // Uniformly at random from every eligible client that checked in during the
  // selection window (DESIGN.md section 9): an attacker's chance of filling a
  // cohort depends on its share of the check-ins, not on being first.
  kUniform,
  // The first ceil(cohort x over-selection) to check in, as soon as they do.
  // Insecure (whoever checks in first fills the cohort: the n-1 attack); kept
  // for benchmarks that want no selection window and as the n-1 attack
  // test's control. Refused unless allow_small_cohorts is also set.
  kFirstCome,
};

// Smallest min_cohort accepted with secure aggregation unless
// allow_small_cohorts: the sum the coordinator learns mixes at least this many
// selected clients. With uniform selection, an attacker holding a fraction f
// of a window's check-ins isolates one honest client (all but one of the m
// selected are its own) with probability m(1-f)f^(m-1); at m = 10 that is
// 4.1e-6 for f = 0.2 and 1.4e-4 for f = 0.3 per round (README, "Threat model
// and hardening").
inline constexpr uint32_t kMinSecureCohort = 10;

struct SelectionConfig {
  SelectionPolicy policy = SelectionPolicy::kUniform;
  // A client selected in one window may be selected again only R windows
  // later (1: every round). Caps how often one device spends battery and
  // how much one device weighs in the model; it also bounds each client's
  // participation for privacy accounting.
  uint32_t once_in_rounds = 1;
};

struct PopulationConfig {
  std::string population = "default";
  std::string model_name = "model";
  model::ModelSpec model_spec;
  uint64_t init_seed = 1;  // initial weights when the registry has none
  uint32_t rounds = 10;    // rounds to complete, then check-ins answer FINISHED

  // Reports wanted per round. Selection takes ceil(cohort_size x over_selection)
  // clients (Bonawitz et al., MLSys 2019: 130%), and the masked-input stage
  // closes as soon as cohort_size inputs arrived, so stragglers cost nothing.
  uint32_t cohort_size = 10;
  double over_selection = 1.3;
  // Fewer eligible check-ins when the selection window closes: extend it.
  // At least kMinSecureCohort unless allow_small_cohorts.
  uint32_t min_cohort = 10;
  bool allow_small_cohorts = false;  // tests and demos on a handful of clients only
  SelectionConfig selection;
  uint32_t retry_after_ms = 5'000;  // told to clients not selected (pace steering)
  StageDeadlines deadlines;

  proto::TrainingPlan training;
  // SCAFFOLD (training.algorithm: scaffold, aggregation/scaffold.h): N, the
  // devices of the population. The global control variate moves by |S|/N of
  // the round's mean delta_c, so that it stays the mean of all N devices' c_i.
  uint64_t population_size = 0;
  // The local rate per round (model/round_lr_schedule.h). Only its kind,
  // lr_decay and lr_min are read: the first round's rate is
  // training.learning_rate and a cosine's horizon is `rounds`.
  model::RoundLrSchedule lr_schedule;
  aggregation::QuantizationConfig quantization;
  double l2_clip = 0;  // C sent in the task's QuantizationPlan; 0 = off

  // Secure aggregation: the k/t rule's inputs, or explicit overrides.
  aggregation::secagg::GraphKind graph = aggregation::secagg::GraphKind::kComplete;
  double expected_dropout = 0.1;
  double corrupt_fraction = 0.05;
  std::optional<uint32_t> degree;
  std::optional<uint32_t> threshold;
  crypto::MaskPrg prg = aggregation::secagg::kDefaultMaskPrg;  // the masks' keystream
  // Survivors reveal dropped neighbours' pairwise seeds (proto SecAggConfig
  // .reveal_pair_seeds): unmasking without most X25519 agreements, for a
  // coordinator trusted to follow the protocol. Off by default.
  bool reveal_pair_seeds = false;
  bool require_signed_keys = true;  // put enrolled identity keys into each session
  unsigned unmask_threads = 2;

  aggregation::ServerOptimizerConfig optimizer;
  FederatedEvaluationConfig federated_evaluation;

  // User-level differential privacy (aggregation/dp/dp_config.h). When on,
  // clients clip to dp.clip (quantization.l2_clip stays 0), the mean is
  // unweighted over the expected cohort q x N, the cohort is Poisson-sampled
  // from the selection window's check-ins at rate q (what the accountant
  // assumes), every round's cost goes into the store's privacy ledger, and no
  // round starts that would take epsilon past dp.max_epsilon.
  aggregation::dp::DpConfig dp;

  uint32_t selection_target() const;
  // lr_schedule with its rate and horizon filled in from training and rounds.
  model::RoundLrSchedule local_lr_schedule() const;
  bool scaffold() const { return training.algorithm() == "scaffold"; }
};

// A setting that cannot work: its dotted key in the coordinator's YAML and why.
struct ConfigProblem {
  std::string key;
  std::string why;
};
// The first setting a round cannot run with, its key relative to
// `population:` ("selection.once_in_rounds").
std::optional<ConfigProblem> find_population_problem(const PopulationConfig& config);
// The same as a Status: "population.KEY: why".
Status validate_population(const PopulationConfig& config);

}  // namespace fl::coordinator
