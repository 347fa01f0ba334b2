// fl::Client's private state and its HTTP plumbing, shared by client.cc
// (enrolment, check-in, downloads) and round.cc (one round's protocol).
//
// Thread-safety: used by the thread inside the public call only; the training
// thread touches nothing here but the Trainer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "client_sdk/coordinator_url.h"
#include "client_sdk/transport/http_client.h"
#include "client_sdk/transport/retry_policy.h"
#include "client_sdk/transport/send_with_retry.h"
#include "crypto/ed25519.h"
#include "crypto/rng.h"
#include "fl/client.h"
#include "fl/testing.h"

namespace fl {

// Hidden although nested in an exported class: not part of libfl_client.so's ABI.
struct __attribute__((visibility("hidden"))) Client::Impl {
  ClientOptions options;
  testing::Hooks hooks;  // empty unless made by testing::create_client
  std::unique_ptr<Trainer> trainer;
  client_sdk::CoordinatorUrl url;
  transport::HttpClientOptions http_options;
  transport::RetryPolicy retry;
  // Sleeps that cancel() cuts short.
  transport::SleepFunction sleep = [this](std::chrono::milliseconds d) {
    sleep_unless_cancelled(d);
  };
  std::unique_ptr<crypto::Rng> rng;  // protocol keys, jitter, stochastic rounding
  crypto::Ed25519KeyPair identity;
  uint64_t client_id = 0;
  std::optional<transport::HttpClient> anonymous;  // enrolment only
  std::optional<transport::HttpClient> signed_http;
  // Byte counters of the current participate() call.
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  // The last downloaded global model, reused when a round trains from it again.
  int64_t cached_version = -1;
  std::string cached_model;

  // cancel(): read by the Trainer's token and every loop.
  std::atomic<bool> cancelled{false};
  // cancel() sets it too; the transport stops while it is true. A round
  // that leaves after a cancel clears it to send its ClientAbort.
  std::atomic<bool> transport_cancelled{false};
  std::mutex cancel_mutex;
  std::condition_variable cancel_cv;
  // Backoff after rounds this client could not finish.
  int consecutive_failures = 0;
  std::chrono::steady_clock::time_point next_attempt{};

  // Waits `delay` or until cancel(); true when it slept the whole delay.
  bool sleep_unless_cancelled(std::chrono::milliseconds delay);
  Status cancelled_status(const std::string& where) const;
  // Clears a cancel that `status` (Cancelled) shows was consumed.
  void consume_cancel(const Status& status);
  // After a round: updates the failure count and next_attempt; the wait.
  std::chrono::milliseconds note_round_outcome(bool completed);

  // Client::create, and testing::create_client with hooks.
  static Result<std::unique_ptr<Client>> create_client(ClientOptions options,
                                                       std::unique_ptr<Trainer> trainer,
                                                       testing::Hooks hooks);

  void log(const std::string& line) const;

  // One request through the retrying transport, counting bytes. Transport
  // errors (after retries) are errors; any HTTP answer is a response.
  // `body` is sent without a copy.
  Result<transport::HttpResponse> call(transport::HttpClient& http, std::string method,
                                       std::string target, std::string_view body = {});
  // Signed request; enrols first if needed.
  Result<transport::HttpResponse> call_signed(std::string method, std::string target,
                                              std::string_view body = {});

  Status enroll();
  Result<std::string> fetch_model(int64_t version);  // a copy, for the app
  // The model file of `version`, downloaded once and cached: valid until the
  // next call or drop_cached_model().
  Result<const std::string*> cached_model_file(int64_t version);
  // Frees the cached model file (a round does once its update is built: the
  // file is model-sized, and the masking ahead needs the memory).
  void drop_cached_model();
  Result<Model> fetch_published_model();
  Result<RoundReport> participate(std::chrono::milliseconds max_wait);
  // Runs round `round_id` (this client is selected) to its end; fills `report`.
  void run_round(uint64_t round_id, std::chrono::steady_clock::time_point deadline,
                 RoundReport& report);
  void send_evaluation(uint64_t round_id, RoundReport& report);
};

// The server's {"error": "..."} message, or the start of the body.
std::string error_text(const transport::HttpResponse& response);
// A non-2xx answer as a Status: "what: HTTP 409: round 3 is not running".
Status status_from_http(std::string_view what, const transport::HttpResponse& response);

}  // namespace fl
