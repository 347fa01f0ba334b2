#include "model/round_lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

namespace fl::model {
namespace {

std::string format(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

std::optional<RoundLrScheduleError> check_round_lr_schedule(const RoundLrSchedule& s) {
  if (!(s.lr > 0) || !std::isfinite(s.lr))
    return RoundLrScheduleError{"lr", "must be positive and finite, got " + format(s.lr)};
  if (!(s.lr_decay > 0 && s.lr_decay <= 1))
    return RoundLrScheduleError{"lr_decay", "must be in (0, 1], got " + format(s.lr_decay)};
  if (!(s.lr_min >= 0 && s.lr_min <= s.lr)) {
    return RoundLrScheduleError{
        "lr_min", "must be in [0, lr] = [0, " + format(s.lr) + "], got " + format(s.lr_min)};
  }
  if (s.kind == RoundLrScheduleKind::kCosine && s.rounds == 0)
    return RoundLrScheduleError{"rounds", "a cosine schedule needs rounds >= 1"};
  return std::nullopt;
}

double round_learning_rate(const RoundLrSchedule& s, uint64_t round_index) {
  switch (s.kind) {
    case RoundLrScheduleKind::kConstant:
      return s.lr;
    case RoundLrScheduleKind::kExponential: {
      // pow underflows to 0 for late rounds; the floor then holds.
      const double decayed = s.lr * std::pow(s.lr_decay, static_cast<double>(round_index));
      return std::max(s.lr_min, decayed);
    }
    case RoundLrScheduleKind::kCosine: {
      // t / rounds rather than t / (rounds - 1): the last round still trains
      // (with lr_min = 0 it would otherwise be a round at rate 0).
      if (round_index >= s.rounds) return s.lr_min;
      const double t = static_cast<double>(round_index) / static_cast<double>(s.rounds);
      return s.lr_min + 0.5 * (s.lr - s.lr_min) * (1.0 + std::cos(std::numbers::pi * t));
    }
  }
  return s.lr;
}

std::string_view round_lr_schedule_name(RoundLrScheduleKind kind) {
  switch (kind) {
    case RoundLrScheduleKind::kConstant:
      return "constant";
    case RoundLrScheduleKind::kExponential:
      return "exponential";
    case RoundLrScheduleKind::kCosine:
      return "cosine";
  }
  return "constant";
}

Result<RoundLrScheduleKind> parse_round_lr_schedule(std::string_view name) {
  for (RoundLrScheduleKind kind :
       {RoundLrScheduleKind::kConstant, RoundLrScheduleKind::kExponential,
        RoundLrScheduleKind::kCosine}) {
    if (name == round_lr_schedule_name(kind)) return kind;
  }
  return InvalidArgument("lr_schedule: unknown schedule '" + std::string(name) +
                         "'; expected constant, exponential or cosine");
}

}  // namespace fl::model
