// The results of a simulation run, as files: rounds.csv (per-round metrics,
// reproducible byte for byte from the scenario and seed, so it holds no wall
// times), timings.csv (the wall and compute times), summary.json and
// accuracy.svg.
//
// Thread-safety: pure functions, except write_reports which writes files.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "simulations/inprocess.h"
#include "simulations/scenario.h"

namespace fl::sim {

std::string rounds_csv(const RunResult& result);
std::string timings_csv(const RunResult& result);
// First evaluated round whose test accuracy reaches `target`.
std::optional<int> rounds_to_target(const RunResult& result, double target);
nlohmann::ordered_json summary_json(const Scenario& scenario, const RunResult& result);

// Creates `scenario.output` and writes the four files into it.
Status write_reports(const Scenario& scenario, const RunResult& result);

// One paragraph for the terminal at the end of a run.
std::string final_summary_text(const Scenario& scenario, const RunResult& result);

}  // namespace fl::sim
