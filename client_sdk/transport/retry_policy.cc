#include "client_sdk/transport/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace fl::transport {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, crypto::Rng& rng) {
  const double base = static_cast<double>(policy.base_delay.count());
  const double max = static_cast<double>(policy.max_delay.count());
  const double grown = base * std::pow(std::max(policy.multiplier, 1.0), std::max(retry - 1, 0));
  const uint64_t cap = static_cast<uint64_t>(std::min(grown, max));  // min() also tames inf
  if (!policy.full_jitter) return std::chrono::milliseconds(cap);
  return std::chrono::milliseconds(rng.uniform(cap + 1));
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;  // > 30 years is not a delay
  int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::milliseconds(seconds * 1000);
}

}  // namespace fl::transport
