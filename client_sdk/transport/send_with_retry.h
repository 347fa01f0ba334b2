// Sends a request until it gets an answer worth returning, sleeping between
// attempts per a RetryPolicy.
//
// Retried: network errors and timeouts (Unavailable from HttpClient), 429,
// and 5xx except 501 and 505 (which will not change on retry). The wait is the
// server's Retry-After when present, else the policy's jittered backoff.
// Returned at once: any other response (2xx, 3xx, other 4xx) as an ok Result,
// and non-transient errors (an untrusted certificate). When the attempts run
// out: Unavailable, naming the attempts and the last failure.
//
// Each attempt is signed afresh by the client's signer, so retries are not
// refused as replays. The sleep function and Rng are injected: tests record
// the waits instead of sleeping.
//
// Not for: non-idempotent requests the server cannot de-duplicate; the SDK's
// uploads carry their own ids, so a repeated upload is recognised.
//
// Thread-safety: as HttpClient (one thread).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "client_sdk/transport/http_client.h"
#include "client_sdk/transport/retry_policy.h"
#include "crypto/rng.h"

namespace fl::transport {

// The client injects a sleep that cancel() cuts short; tests record waits.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;

struct OutgoingRequest {
  std::string method;
  std::string target;
  std::string_view body;  // not owned: the caller keeps it until send_with_retry returns
  std::string content_type;
  HeaderList headers;
};

bool is_retryable_status(int status);

Result<HttpResponse> send_with_retry(HttpClient& client, const OutgoingRequest& request,
                                     const RetryPolicy& policy, const SleepFunction& sleep,
                                     crypto::Rng& rng);

}  // namespace fl::transport
