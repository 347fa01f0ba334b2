// A training round as the store records it: which population ran it, from
// which model version, how far each secure aggregation stage got, and how it
// ended (DESIGN.md section 5: an interrupted round is failed cleanly and re-run).
//
// Not for: live round state (deadlines, the secagg session); that lives in
// coordinator/rounds and is lost on a crash by design.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fl::coordinator {

enum class RoundState { kRunning, kCompleted, kFailed };

std::string_view round_state_name(RoundState state);  // "running", ...
std::optional<RoundState> parse_round_state(std::string_view name);

// Clients that reached each stage (DESIGN.md section 3): selected at check-in,
// then those whose AdvertiseKeys, ShareKeys, MaskedInput and Unmasking
// messages arrived in time.
struct StageCounts {
  uint64_t selected = 0;
  uint64_t advertised = 0;
  uint64_t shared_keys = 0;
  uint64_t masked_input = 0;
  uint64_t unmasked = 0;
  bool operator==(const StageCounts&) const = default;
};

struct NewRound {
  std::string population;       // the population/task, e.g. "hospitals/readmission"
  int64_t base_version_id = 0;  // the model version clients train from
  int64_t started_at_ms = 0;
};

struct RoundRecord {
  int64_t id = 0;  // increasing; never reused
  std::string population;
  int64_t base_version_id = 0;
  RoundState state = RoundState::kRunning;
  std::string failure_reason;  // empty unless failed
  StageCounts counts;
  int64_t started_at_ms = 0;
  std::optional<int64_t> ended_at_ms;
  std::optional<int64_t> result_version_id;  // set when completed
};

}  // namespace fl::coordinator
