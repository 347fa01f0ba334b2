// A scenario's settings mapped onto what the coordinator's RoundEngine and
// Registry take (PopulationConfig, GatePolicy), for the in-process run.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "coordinator/registry/quality_gate.h"
#include "coordinator/rounds/population_config.h"
#include "model/model_spec.h"
#include "simulations/scenario.h"

namespace fl::sim {

// What a masked-input stage waits without stragglers.deadline_s: the
// coordinator's default (it includes local training). Simulated time, so
// waiting for it costs no wall time.
inline constexpr int64_t kDefaultMaskedInputDeadlineMs =
    coordinator::StageDeadlines{}.masked_input_ms;

// clients_per_round -> cohort_size, coordinator.* -> over-selection, min cohort
// and stage deadlines, stragglers.deadline_s -> the masked-input deadline,
// local.* -> the training plan, secagg.* -> quantisation and the k/t rule's
// inputs, server.* -> the optimiser. `largest_client` is the default
// max_weight (the largest client's example count). Validated by
// coordinator::validate_population: an error names the setting.
Result<coordinator::PopulationConfig> population_config(const Scenario& sc,
                                                        const model::ModelSpec& spec,
                                                        uint64_t largest_client);
coordinator::GatePolicy gate_policy(const Scenario& sc);

}  // namespace fl::sim
