// `fl-sim run SCENARIO.yaml [--set key=value ...]`: load and validate the
// scenario, run it, write its reports. Exit codes: 0 done, 1 the run failed,
// 2 the scenario or an override is invalid (nothing ran).
//
// Thread-safety: writes files under the scenario's output directory.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace fl::sim {

int run_scenario_command(const std::string& path, const std::vector<std::string>& sets,
                         std::FILE* out, std::FILE* err);

}  // namespace fl::sim
