// How an fl::Client reaches its coordinator and who it is there.
//
// Only `coordinator`, `identity_file` and `population` are required; every
// other field has a production default. Validated by fl::Client::create,
// which says which field is wrong.
//
// Test hooks (deterministic keys, a view of the clear update, stage
// callbacks) are not here: they exist only in builds with FL_SDK_TESTING, in
// fl/testing.h, so a release SDK has no way to seed its keys.
//
// Thread-safety: a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
  // After a round this client could not finish (its Trainer failed or was
  // cancelled, the round failed, the coordinator refused it), participate()
  // waits before checking in again: capped exponential backoff with full
  // jitter over consecutive such rounds, reset by a completed round.
  std::chrono::milliseconds round_failure_base_delay{2'000};
  std::chrono::milliseconds round_failure_max_delay{600'000};
};

struct TimeoutOptions {
  std::chrono::milliseconds connect{10'000};  // TCP connect plus TLS handshake
  std::chrono::milliseconds request{60'000};  // writing a request, and reading its response
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

  // One line per event (check-in, stage reached, retry, outcome). Called on
  // the thread inside participate()/enroll(); may be empty.
  std::function<void(std::string_view)> logger;
};

}  // namespace fl
