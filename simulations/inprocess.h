// The in-process simulation mode: a scenario's clients, their local training,
// secure aggregation and the server optimiser wired together in one process.
//
// Each round: the online clients are drawn (availability), clients_per_round
// of them selected, each given a drop point (per-stage dropout, and the
// masked-input deadline for stragglers), then the round runs. With secure
// aggregation a client trains only when it reaches the masked-input round,
// inside run_secagg_round's make_input, so only about `threads` updates are in
// memory at once; without it the same clients train in fixed-size batches and
// their updates are averaged with the same weights (example counts), giving
// the plain weighted mean the secure sum approximates up to quantisation.
//
// Deterministic: every random choice derives from (seed, round, client), each
// client trains single-threaded, and sums are taken in cohort order (or exactly
// in the ring), so thread scheduling never changes a result.
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
  double bytes_up = 0, bytes_down = 0;   // per participating client, model download included
  // Wall and compute times: never in rounds.csv, which must be reproducible.
  double wall_s = 0;
  double train_cpu_s = 0;   // local training, summed over clients
  double client_cpu_s = 0;  // quantisation and client protocol, summed over clients
  double server_s = 0;      // secure aggregation server, all stages
  double aggregate_s = 0;   // de-quantisation or plain mean, and the server optimiser
  double eval_s = 0;
  // Network mode: the coordinator's round id and the model version it
  // produced. What only clients or the coordinator's internals know (secure
  // aggregation's k and t, local loss, bytes, compute times) is not measured
  // there, and reports leave it empty.
  bool network = false;
  int64_t coordinator_round = 0;
  std::optional<int64_t> version;
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
  double setup_s = 0;  // loading, partitioning, baseline
  double total_wall_s = 0;
};

// Runs a validated scenario. Progress (partition summary, one line per
// round) goes to `progress` when it is not null.
Result<RunResult> run_inprocess(const Scenario& scenario, std::FILE* progress);

}  // namespace fl::sim
