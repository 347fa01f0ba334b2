// The network simulation mode: a scenario run by a real fl-coordinator and
// one real fl-client process per client, over loopback HTTP.
//
// fl-sim writes the coordinator's YAML from the scenario (model, rounds,
// cohort and over-selection, training plan, quantisation, secure aggregation,
// server optimiser; the store, an admin token and the logs under
// OUTPUT/network/), starts fl-coordinator on a free port, then starts
// `clients` fl-client processes, each with one training thread and the
// scenario's partition (fl-client --partition ... --index I), so process I
// trains on exactly the examples in-process client I would. As rounds
// complete it reads each new version from the coordinator's SQLite store,
// scores it on the scenario's test split and prints the same progress line as
// in-process mode. At the end, on an error, past network.timeout_s or when
// fl-sim gets SIGINT/SIGTERM, every child gets SIGTERM (then SIGKILL), and
// children get SIGTERM from the kernel should fl-sim itself be killed.
//
// What the processes cannot do (per-stage dropout, stragglers, availability,
// plain FedAvg, synthetic data) is refused when the scenario is read
// (scenario.h). Figures only the clients know (local loss, bytes, client
// compute, secure aggregation's k and t) are left empty in the reports.
//
// Not for: thousands of clients (that is what in-process mode is for).
//
// Thread-safety: one run at a time per process (it installs signal handlers).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "base/status.h"
#include "simulations/inprocess.h"
#include "simulations/scenario.h"

namespace fl::sim {

struct NetworkBinaries {
  std::string coordinator;  // fl-coordinator
  std::string client;       // fl-client
};

// The binaries built beside fl-sim, unless FL_COORDINATOR_BIN or
// FL_CLIENT_BIN name others.
NetworkBinaries default_network_binaries();

// The coordinator configuration for a scenario: store, token file and logs in
// `dir`; `max_weight` caps a client's example-count weight.
std::string coordinator_yaml(const Scenario& scenario, const std::string& dir, uint64_t max_weight,
                             int input_dim, int classes);

Result<RunResult> run_network(const Scenario& scenario, const NetworkBinaries& binaries,
                              std::FILE* progress);

}  // namespace fl::sim
