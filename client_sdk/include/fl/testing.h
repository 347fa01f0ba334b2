// Test and simulation hooks of the client SDK: deterministic randomness, a
// view of the clear update, callbacks at protocol stages.
//
// create_client() exists, and this header is installed, only in an SDK
// built with -DFL_SDK_TESTING=ON (the default when the test suites are
// built; release and SDK-only builds leave it off), so a release SDK has no
// way to seed a device's keys or to see its update before masking. Never use these in an app: a
// seeded client's identity and protocol keys are predictable by anyone who knows the seed.
//
// Thread-safety: as fl::Client.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "fl/client.h"

namespace fl::testing {

// What the SDK knows about one round's update before it is masked.
struct UpdateRecord {
  uint64_t round_id = 0;
  uint64_t client_id = 0;
  // New local weights minus global weights, scaled to the task's L2 clip
  // when it is longer.
  std::span<const float> update;
  // This client's weight in the average as aggregated: the example count
  // capped at the plan's max_weight, or 1 when the plan is unweighted.
  double weight = 0;
  uint64_t examples = 0;  // uncapped
};

struct Hooks {
  // 0: the OS CSPRNG. Otherwise every random choice of the SDK (identity
  // creation, protocol keys, nonces, jitter, stochastic rounding) derives
  // from this seed.
  uint64_t rng_seed = 0;
  // Called with the clear update just before it is quantised and masked, on
  // the participate() thread. Lets tests compute the federated average in the
  // clear. It sees exactly what secure aggregation hides from the server.
  std::function<void(const UpdateRecord&)> inspect_update;
  // Called right after this client's message for a protocol stage was
  // accepted ("advertise_keys", "share_keys", "masked_input", "unmasking"),
  // on the participate() thread. Lets tests stop a client at a known point.
  std::function<void(std::string_view stage)> after_stage;
  // Called just before this client first sends its message for a protocol
  // stage, on the participate() thread; it may block. Lets benchmarks release
  // a whole cohort's uploads at one instant.
  std::function<void(std::string_view stage)> before_stage;
  // Called with this client's serialized protocol message for a stage
  // (fl.proto.ClientToServer bytes) before it is sent, on the participate()
  // thread; whatever it leaves in `message` is sent instead. Lets tests play
  // a hostile client through the real SDK (a masked input of the wrong
  // length, say) and check the coordinator refuses it.
  std::function<void(std::string_view stage, std::string& message)> tamper_message;
};

// fl::Client::create with hooks.
FL_EXPORT Result<std::unique_ptr<Client>> create_client(ClientOptions options,
                                                        std::unique_ptr<Trainer> trainer,
                                                        Hooks hooks);

}  // namespace fl::testing
