// The in-process simulation mode: a scenario's clients trained and driven in
// this process against the coordinator's own RoundEngine, Store (SQLite in
// memory) and Registry (quality gate), wired as fl-coordinator wires them, on
// a virtual clock.
//
// Each round: the online clients (availability) check in; the engine's
// selection window closes and it draws ceil(clients_per_round x
// over_selection) of them; each selected client fetches its task and the
// global model and runs a SecAggClient session, stopping at its drop point
// (per-stage dropout). Simulated time moves by event: every protocol reply is
// instant except the masked input, which arrives after the client's simulated
// training time (the straggler model); a stage the cohort leaves open closes
// at the engine's deadline, the masked-input stage at stragglers.deadline_s or
// as soon as clients_per_round inputs arrived (over-selection). The engine
// then unmasks, steps the optimiser, scores the new version on the test set
// and lets the gate publish it or hold it. Deadlines cost no wall time.
//
// Memory grows with the cohort, not the population: a client's session,
// randomness and data rows exist only while it is in a round's cohort; rows
// are materialised when it trains, at most `threads` x a few at a time.
//
// Deterministic: every random choice derives from (seed, round, client); the
// engine is called from one thread in a fixed order, clients train and mask
// on `threads` threads whose results are delivered in simulated-time order.
//
// Thread-safety: run_inprocess may run concurrently with itself.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/partition.h"
#include "simulations/scenario.h"

namespace fl::sim {

struct RoundRecord {
  int round = 0;
  int64_t available = 0;
  int64_t cohort = 0;
  uint32_t dropped[4] = {0, 0, 0, 0};    // by stage: advertise, share keys, masked input, unmasking
  uint32_t stragglers = 0;               // of dropped[2], those cut by the deadline
  int64_t included = 0;                  // clients whose update is in the aggregate
  std::string status;                    // completed | aborted | skipped
  std::string abort_reason;              // for the progress line only
  uint32_t degree = 0, threshold = 0;    // secure aggregation's k and t
  double total_weight = 0;               // examples behind the aggregate
  double train_loss = 0;                 // mean final local loss of the clients that trained
  std::optional<double> accuracy, loss;  // test metrics, when evaluated this round
  bool published = false;                // in-process: the quality gate published the version
  double sim_s = 0;                      // in-process: simulated (virtual) duration of the round
  double bytes_up = 0, bytes_down = 0;   // per participating client, model download included
  // Wall and compute times: never in rounds.csv, which must be reproducible.
  double wall_s = 0;
  double train_cpu_s = 0;   // local training, summed over clients
  double client_cpu_s = 0;  // quantisation and client protocol, summed over clients
  double server_s = 0;      // the coordinator's calls: selection, tasks, every stage, unmasking
  double aggregate_s = 0;   // de-quantisation, the optimiser step, evaluation, commit and gate
  double eval_s = 0;
  // Network mode: the coordinator's round id and the model version it
  // produced. What only clients or the coordinator's internals know (secure
  // aggregation's k and t, local loss, bytes, compute times) is not measured
  // there, and reports leave it empty.
  bool network = false;
  int64_t coordinator_round = 0;
  std::optional<int64_t> version;
  // Differential privacy: the cumulative epsilon after this round, from the
  // privacy ledger row the engine committed with the round's version (at
  // RunResult::privacy's delta). Empty when DP is off or the round failed.
  std::optional<double> epsilon;
};

// The privacy ledger's last word on a run trained with differential privacy.
struct RunPrivacy {
  std::string mechanism;  // "central" or "distributed"
  double epsilon = 0;     // cumulative, after the last accounted round
  double delta = 0;
  uint64_t rounds = 0;  // rounds in the ledger
};

struct RunResult {
  RunMode mode = RunMode::kInProcess;
  std::string scenario_name;
  std::string data_name;
  std::string model_description;
  int64_t num_params = 0;
  model::PartitionSummary partition;
  std::optional<double> baseline;  // centralised test accuracy
  std::string baseline_source;
  std::vector<RoundRecord> rounds;
  std::optional<RunPrivacy> privacy;  // set when any round was accounted
  double setup_s = 0;                 // loading, partitioning, baseline
  double total_wall_s = 0;
  // Why training stopped before `rounds` (the privacy budget), or empty.
  std::string halted;
};

// Runs a validated scenario. Progress (partition summary, one line per
// round) goes to `progress` when it is not null.
Result<RunResult> run_inprocess(const Scenario& scenario, std::FILE* progress);

}  // namespace fl::sim
