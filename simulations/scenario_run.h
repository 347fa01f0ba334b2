// `fl-sim run SCENARIO.yaml [--set key=value ...]`: load and validate the
// scenario, run it in its mode (in-process or network), write its reports. Exit codes: 0 done, 1
// the run failed, 2 the scenario or an override is invalid (nothing ran).
//
// Thread-safety: writes files under the scenario's output directory.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "simulations/network.h"

namespace fl::sim {

// `binaries`: network mode's fl-coordinator and fl-client (default: those
// built beside fl-sim, or FL_COORDINATOR_BIN / FL_CLIENT_BIN).
int run_scenario_command(const std::string& path, const std::vector<std::string>& sets,
                         std::FILE* out, std::FILE* err,
                         const NetworkBinaries& binaries = default_network_binaries());

}  // namespace fl::sim
