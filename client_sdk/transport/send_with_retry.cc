#include "client_sdk/transport/send_with_retry.h"

#include <thread>

namespace fl::transport {

bool is_retryable_status(int status) {
  if (status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

Result<HttpResponse> send_with_retry(HttpClient& client, const OutgoingRequest& request,
                                     const RetryPolicy& policy, const SleepFunction& sleep,
                                     crypto::Rng& rng) {
  const std::string what = request.method + " " + request.target;
  const int attempts = std::max(policy.max_attempts, 1);
  std::string last_failure;
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> result = client.send(request.method, request.target, request.body,
                                              request.content_type, request.headers);
    std::optional<std::chrono::milliseconds> retry_after;
    if (!result.ok()) {
      if (result.status().code() != ErrorCode::kUnavailable) return result;
      last_failure = result.status().message();
    } else if (is_retryable_status(result->status)) {
      // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + string.
      last_failure = "HTTP ";
      last_failure += std::to_string(result->status);
      if (!result->body.empty()) last_failure.append(" ").append(result->body, 0, 200);
      if (auto header = result->header("Retry-After")) retry_after = parse_retry_after(*header);
    } else {
      return result;
    }

    if (attempt >= attempts)
      return Unavailable(what + " failed after " + std::to_string(attempts) +
                         " attempts; last: " + last_failure);
    if (retry_after && *retry_after > policy.max_retry_after)
      return Unavailable(what + ": server asked to retry after " +
                         std::to_string(retry_after->count() / 1000) +
                         " s, beyond this policy's limit; last: " + last_failure);
    sleep(retry_after ? *retry_after : backoff_delay(policy, attempt, rng));
  }
}

}  // namespace fl::transport
