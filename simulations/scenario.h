// A simulation scenario: everything `fl-sim run NAME.yaml` needs to run one
// federated training experiment, read from a YAML file and validated before
// anything runs.
//
// Network mode runs real processes, which cannot do everything a simulated
// client can: keys it cannot honour (dropout, stragglers, availability,
// secagg.enabled: false, synthetic data) are errors in network mode, naming
// the key and its line, not silently ignored.
//
// Every key is optional except `name`; the defaults below are a small
// synthetic run. An unknown key, a value of the wrong type or an impossible
// setting (more clients per round than clients, alpha <= 0, a threshold above
// the cohort, a probability outside its range) is an error naming the file,
// its line and the dotted key, in the form every YAML reader here shares
// (base/yaml_reader.h): "fmnist.yaml:12: partition.alpha: must be > 0, got
// -1". `--set key=value` overrides (dotted keys, values in YAML syntax) are
// applied before validation; an error in an overridden value names the
// override instead: "--set partition.alpha=-1: partition.alpha: must be > 0,
// got -1". The full key reference, with the meaning and default of each key,
// is simulations/scenarios/README.md.
//
// Not for: running the scenario (inprocess.h) or writing its results (report.h).
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregation/dp/dp_config.h"
#include "aggregation/quantization.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/server_optimizer.h"
#include "base/status.h"
#include "model/partition.h"
#include "model/round_lr_schedule.h"

namespace fl::sim {

enum class RunMode { kInProcess, kNetwork };

struct DataSpec {
  std::string source = "synthetic";  // fashion-mnist | synthetic
  std::string dir = "/usr/share/datasets/fashion-mnist";
  int64_t train_limit = 0;  // fashion-mnist: a seeded subset of this many training examples
  int64_t test_limit = 0;   // fashion-mnist: the first this many test examples; 0 = all
  // synthetic: a Gaussian mixture, one mean per class (see scenario_data.h)
  int64_t n = 4000;
  int64_t test_n = 1000;
  int dim = 20;
  int classes = 5;
  double separation = 3.0;
};

struct ModelSection {
  std::string kind = "softmax";  // softmax | mlp
  std::vector<int> hidden = {100};
  std::string activation = "relu";
};

struct LocalTrainingSpec {
  int epochs = 1;
  int batch_size = 32;
  double lr = 0.05;
  std::string optimizer = "sgd";  // sgd | adam
  double momentum = 0.0;
  double weight_decay = 0.0;
  double fedprox_mu = 0.0;
  // fedavg | scaffold (aggregation/scaffold.h): SCAFFOLD's control variates,
  // each client's c_i kept by the simulator from the first round it trains.
  std::string algorithm = "fedavg";
  // The rate per round (model/round_lr_schedule.h): lr in the first round,
  // then constant | exponential (x lr_decay per round) | cosine over the
  // run's rounds, never below lr_min.
  std::string lr_schedule = "constant";
  double lr_decay = 1.0;
  double lr_min = 0.0;
};

struct ServerSpec {
  std::string optimizer = "fedavg";  // fedavg | fedavgm | fedadam | fedyogi | fedadagrad
  std::optional<double> server_lr, momentum, beta1, beta2, tau;
};

struct SecAggSpec {
  bool enabled = true;
  std::string graph = "harary";  // complete | harary
  uint32_t bits = 20;
  double clip = 1.0;
  uint32_t ring = 32;
  uint64_t max_weight = 0;  // 0: the largest client's example count
  double l2_clip = 0;       // C: clients clip their update to this L2 norm; 0 = off
  // The k/t rule's expected dropout; unset: the scenario's own dropout
  // probability plus a margin (see scenario.cc).
  std::optional<double> expected_dropout;
  double corrupt_fraction = 0.05;
  uint32_t threshold = 0;                                      // 0: chosen by the k/t rule
  crypto::MaskPrg prg = aggregation::secagg::kDefaultMaskPrg;  // aes256ctr | chacha20
  bool reveal_pair_seeds = false;  // as fl-coordinator's secure_aggregation.reveal_pair_seeds
};

// Per-stage probability that a client still in the round stops answering.
struct DropoutSpec {
  double before_advertise = 0, before_share_keys = 0, before_masked_input = 0, before_unmasking = 0;
  // false: each client drops independently with these probabilities; true:
  // exactly round(p x cohort) clients of each cohort drop at each stage.
  bool exact = false;
  double total() const;  // P[a client drops at some stage]
};

// Compute speed: a client's simulated training time is
// examples processed x seconds_per_example x slowness, slowness lognormal(0,
// sigma) drawn once per client. Past the masked-input deadline it is dropped
// before masked input (a straggler).
struct StragglerSpec {
  double sigma = 0;
  double seconds_per_example = 1e-3;
  double deadline_s = 0;  // the masked-input deadline; 0: the coordinator's default, 120 s
};

// Network mode (mode: network): fl-sim runs a real fl-coordinator and one
// fl-client process per client on loopback. In-process mode ignores these.
struct NetworkSpec {
  double over_selection = 1.3;  // the coordinator selects ceil(clients_per_round x this)
  int64_t min_cohort = 0;       // selected clients a round needs to start; 0: clients_per_round
  double stage_timeout_s = 30;  // selection and every secure aggregation stage but masked input
  double masked_input_timeout_s = 120;  // includes local training, on shared cores
  double timeout_s = 600;               // the whole run; past it fl-sim stops and fails
};

// In-process mode drives the coordinator's own RoundEngine and registry
// (inprocess.h); these are its population and quality-gate settings, named as
// in fl-coordinator's YAML (population.over_selection, population.min_cohort,
// population.deadlines_ms, registry.gate). The masked-input deadline is
// stragglers.deadline_s. Network mode reads network.* instead and refuses
// this section.
struct EngineSpec {
  double over_selection = 1.0;  // selects ceil(clients_per_round x this)
  int64_t min_cohort = 0;       // fewer check-ins extend the window; 0: 2
  double selection_s = 1, advertise_keys_s = 10, share_keys_s = 10, unmasking_s = 10;
  std::string gate_metric = "accuracy";  // scored on the test set by the engine
  bool gate_higher_is_better = true;
  double gate_tolerance = 0;
  bool gate_require_metric = true;
};

struct Scenario {
  std::string file;  // where it was read from, for messages
  std::string name;
  uint64_t seed = 1;
  RunMode mode = RunMode::kInProcess;
  DataSpec data;
  model::PartitionSpec partition;
  int64_t clients = 20;
  int64_t clients_per_round = 10;
  int rounds = 5;
  ModelSection model;
  LocalTrainingSpec local;
  ServerSpec server;
  SecAggSpec secagg;
  DropoutSpec dropout;
  StragglerSpec stragglers;
  double availability = 1.0;
  int eval_every = 1;
  std::optional<double> target_accuracy;
  // A number in (0, 1], the path of an `fl-train --json` result, "centralized"
  // (train centrally on the pooled data before the run) or "none".
  std::string baseline = "none";
  int baseline_epochs = 5;
  std::string output;  // default results/NAME
  int threads = 2;     // clients trained side by side; server unmasking threads
  NetworkSpec network;
  EngineSpec coordinator;
  // dp: user-level differential privacy, run by the engine as in production
  // (coordinator/rounds/population_config.h). population_size defaults to
  // `clients`, sampling_rate to clients_per_round / population_size.
  aggregation::dp::DpConfig dp;
};

// One --set override: "partition.alpha=0.1".
struct Override {
  std::string key;
  std::string value;
};
Result<Override> parse_override(const std::string& text);

// Reads and validates a scenario file with overrides applied.
Result<Scenario> load_scenario(const std::string& path, const std::vector<Override>& overrides);
// The same from text; `file` is only used in messages and to resolve relative paths.
Result<Scenario> parse_scenario(const std::string& yaml, const std::string& file,
                                const std::vector<Override>& overrides);

// Settings derived from a scenario, shared by validation and the run.
Result<aggregation::ServerOptimizerConfig> server_optimizer_config(const ServerSpec& spec);
aggregation::QuantizationConfig quantization_config(const SecAggSpec& spec, uint64_t max_weight);
// The local rate per round from `local.lr*` and `rounds` (unchecked; the
// loader refuses a bad one with model::check_round_lr_schedule).
model::RoundLrSchedule local_lr_schedule(const Scenario& scenario);
// The k/t rule for a cohort of n. The expected dropout, unless set, is the
// scenario's total dropout probability plus a margin of 0.05 (0.15 with a
// straggler deadline), at least 0.1.
double expected_dropout(const Scenario& scenario);
Result<aggregation::secagg::ProtocolParameters> protocol_parameters(const Scenario& scenario,
                                                                    uint64_t n);
// Network mode: the clients fl-coordinator selects per round,
// ceil(clients_per_round x network.over_selection).
int64_t network_selection_target(const Scenario& scenario);
// The test accuracy in an `fl-train --json` result.
Result<double> read_baseline_file(const std::string& path);

}  // namespace fl::sim
