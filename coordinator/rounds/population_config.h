// What one population trains and how its rounds run: the model, the cohort and
// its over-selection, per-stage deadlines, the local training plan sent to
// clients, quantisation and secure aggregation settings, the server optimiser.
//
// Loaded from the coordinator's YAML (coordinator/service/config.h); validated
// here so that a bad setting is refused before any round starts.
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aggregation/quantization.h"
#include "aggregation/secagg/parameters.h"
#include "aggregation/server_optimizer.h"
#include "base/status.h"
#include "model/model_spec.h"
#include "proto/coordinator.pb.h"

namespace fl::coordinator {

struct StageDeadlines {
  int64_t selection_ms = 30'000;  // wait this long for a full cohort, then start with >= min
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
  uint32_t min_cohort = 3;          // fewer selected by the selection deadline: keep waiting
  uint32_t retry_after_ms = 5'000;  // told to clients not selected (pace steering)
  StageDeadlines deadlines;

  proto::TrainingPlan training;
  aggregation::QuantizationConfig quantization;

  // Secure aggregation: the k/t rule's inputs, or explicit overrides.
  aggregation::secagg::GraphKind graph = aggregation::secagg::GraphKind::kComplete;
  double expected_dropout = 0.1;
  double corrupt_fraction = 0.05;
  std::optional<uint32_t> degree;
  std::optional<uint32_t> threshold;
  bool require_signed_keys = true;  // put enrolled identity keys into each session
  unsigned unmask_threads = 2;

  aggregation::ServerOptimizerConfig optimizer;
  FederatedEvaluationConfig federated_evaluation;

  uint32_t selection_target() const;
};

Status validate_population(const PopulationConfig& config);

}  // namespace fl::coordinator
