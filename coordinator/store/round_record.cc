#include "coordinator/store/round_record.h"

namespace fl::coordinator {

std::string_view round_state_name(RoundState state) {
  switch (state) {
    case RoundState::kRunning:
      return "running";
    case RoundState::kCompleted:
      return "completed";
    case RoundState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<RoundState> parse_round_state(std::string_view name) {
  for (RoundState state : {RoundState::kRunning, RoundState::kCompleted, RoundState::kFailed}) {
    if (round_state_name(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace fl::coordinator
