// The local learning rate of each federated round: a schedule over rounds,
// not over the steps of one client's training (that is TrainConfig::schedule).
//
// On non-IID data a constant local rate leaves the global model oscillating
// between the cohorts' optima round after round; decaying it over rounds
// shrinks that client drift as training converges (Li et al., "On the
// Convergence of FedAvg on Non-IID Data", ICLR 2020, Theorem 1 needs a
// decaying rate). The coordinator puts round_learning_rate() into each task's
// TrainingPlan and the simulator uses it for its clients, so both train a
// given round with the same rate.
//
// Not for: the server optimiser's rate, or rates within one client's run.
//
// Thread-safety: pure functions of values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fl::model {

enum class RoundLrScheduleKind {
  kConstant,     // lr every round
  kExponential,  // max(lr_min, lr * lr_decay^t)
  kCosine,       // lr_min + (lr - lr_min) * (1 + cos(pi * t / rounds)) / 2
};

struct RoundLrSchedule {
  RoundLrScheduleKind kind = RoundLrScheduleKind::kConstant;
  double lr = 0.05;       // the rate of the first round
  double lr_decay = 1.0;  // exponential: factor per round, in (0, 1]
  double lr_min = 0.0;    // floor of exponential and cosine, in [0, lr]
  // cosine: the horizon, normally the run's rounds; later rounds get lr_min.
  uint32_t rounds = 1;
};

// A setting the schedule refuses: the key as users write it (`lr`,
// `lr_schedule`, `lr_decay`, `lr_min`, `rounds`) and why, for the caller to
// report in its own error style (with the file and line it read it from).
struct RoundLrScheduleError {
  std::string key;
  std::string why;
};

std::optional<RoundLrScheduleError> check_round_lr_schedule(const RoundLrSchedule& schedule);

// The rate for the round with 0-based index `round_index` (the first round
// trained is 0). The schedule must have passed check_round_lr_schedule.
double round_learning_rate(const RoundLrSchedule& schedule, uint64_t round_index);

std::string_view round_lr_schedule_name(RoundLrScheduleKind kind);
// InvalidArgument naming the accepted values for anything else.
Result<RoundLrScheduleKind> parse_round_lr_schedule(std::string_view name);

}  // namespace fl::model
