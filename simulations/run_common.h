// What both run modes share around the training itself: the model a scenario
// names, test-set evaluation, the centralised baseline, and the progress
// lines printed while a run goes.
//
// Not for: running rounds (inprocess.h, network.h) or writing result files
// (report.h).
//
// Thread-safety: pure functions apart from printing; evaluate_on_test uses one
// thread per test part.
#pragma once

#include <cstdio>
#include <vector>

#include "base/status.h"
#include "model/dataset.h"
#include "model/model.h"
#include "model/model_spec.h"
#include "simulations/inprocess.h"
#include "simulations/scenario.h"
#include "simulations/scenario_data.h"

namespace fl::sim {

Result<model::ModelSpec> model_spec(const ModelSection& m, int dim, int classes);

// The test set cut into `threads` contiguous parts, evaluated side by side.
std::vector<model::Dataset> split_test_set(const model::Dataset& test, unsigned threads);

struct Evaluation {
  double accuracy = 0;
  double loss = 0;
};
// Test metrics over the parts, combined by example count (accuracy and mean
// loss are both means), so the result does not depend on the split.
Result<Evaluation> evaluate_on_test(const model::Model& m,
                                    const std::vector<model::Dataset>& parts);

// Sets out.baseline from the scenario's `baseline`, training centrally first
// when it is "centralized" (printed to `progress`).
Status resolve_baseline(const Scenario& sc, const FederatedData& data, const model::ModelSpec& spec,
                        const std::vector<model::Dataset>& test_parts, std::FILE* progress,
                        RunResult& out);

// "scenario ...: data, model" and "partition ... over N clients: ..." lines.
void print_run_header(std::FILE* f, const Scenario& sc, const FederatedData& data,
                      const RunResult& out);
// One round's line. Network-mode records (RoundRecord::network) print the
// coordinator's round and version instead of what only clients know.
void print_round(std::FILE* f, const RoundRecord& r, int rounds);

}  // namespace fl::sim
