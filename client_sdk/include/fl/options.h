// How an fl::Client reaches its coordinator and who it is there.
//
// Only `coordinator`, `identity_file` and `population` are required; every
// other field has a production default. Validated by fl::Client::create,
// which says which field is wrong.
//
// Thread-safety: a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace fl {

// How transient failures (network errors, timeouts, HTTP 429 and 5xx) are
// retried: capped exponential backoff with full jitter, or the server's
// Retry-After when it sends one.
struct RetryOptions {
  int max_attempts = 6;  // per request, including the first
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30'000};
};

struct TimeoutOptions {
  std::chrono::milliseconds connect{10'000};  // TCP connect plus TLS handshake
  std::chrono::milliseconds request{60'000};  // writing a request, and reading its response
};

// What the SDK knows about one round's update before it is masked. Given to
// ClientOptions::inspect_update, a testing and debugging hook.
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

struct ClientOptions {
  // "http://host:port" or "https://host:port" (port defaults to 80 / 443).
  std::string coordinator;
  std::string ca_file;                // PEM trust anchors for https; empty: the system store
  bool insecure_skip_verify = false;  // https without verification: development only
  // Plain http:// is refused unless the host is loopback (127.0.0.0/8, ::1,
  // localhost): anyone on the path could read and alter the traffic. true
  // allows it anywhere: development networks only.
  bool allow_insecure_http = false;
  // Mutual TLS: this device's certificate chain (PEM, leaf first) and its
  // unencrypted private key (PEM), presented when the coordinator asks for
  // one. Set both or neither; https only.
  std::string client_certificate_file;
  std::string client_key_file;

  // This device's Ed25519 identity: a 32-byte seed. Created (mode 0600) when
  // the file does not exist, so a device keeps its identity, and with it its
  // client id, across restarts.
  std::string identity_file;

  std::string population;
  // What proves to the coordinator that this device may enrol (its
  // enrollment.mode): a one-time device token (64 hex digits, from
  // `fl-coordinator devices issue`), or a device certificate file (from
  // `fl-coordinator devices certify`) for this identity. Neither for a
  // coordinator in open mode. Kept after enrolment: a restarting device
  // presents the same token and gets its client id back.
  std::string device_token;
  std::string device_certificate_file;
  std::string label;  // free text shown to operators: device model, site name

  RetryOptions retry;
  TimeoutOptions timeouts;
  // Upper bound on one round after selection (task, download, training, the
  // protocol). A round still running then ends participate() with a report
  // saying so.
  std::chrono::milliseconds round_timeout{std::chrono::minutes(15)};

  // 0: the OS CSPRNG (production). Otherwise every random choice of the SDK
  // (identity creation, protocol keys, nonces, jitter, stochastic rounding)
  // derives from this seed: for tests and simulations only.
  uint64_t rng_seed = 0;

  // One line per event (check-in, stage reached, retry, outcome). Called on
  // the thread inside participate()/enroll(); may be empty.
  std::function<void(std::string_view)> logger;

  // ---- testing hooks (not for production apps) ---------------------------
  // Called with the clear update just before it is quantised and masked, on
  // the participate() thread. Lets tests compute the federated average in the
  // clear. It sees exactly what secure aggregation hides from the server.
  std::function<void(const UpdateRecord&)> inspect_update;
  // Called right after this client's message for a protocol stage was accepted
  // by the coordinator, with the stage name ("advertise_keys", "share_keys",
  // "masked_input", "unmasking"), on the participate() thread. Lets tests
  // stop a client at a known point (e.g. block forever, then kill it).
  std::function<void(std::string_view stage)> after_stage;
  // Called just before this client first sends its message for a protocol
  // stage, on the participate() thread; it may block. Lets benchmarks release
  // a whole cohort's uploads at one instant, and tests hold a client there.
  std::function<void(std::string_view stage)> before_stage;
};

}  // namespace fl
