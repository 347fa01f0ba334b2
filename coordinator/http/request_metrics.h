// What the server reports about each finished exchange, and a thread-safe
// tally of it. The server calls HttpServerOptions::on_request once per
// response written (or failed to write); RequestCounters is a ready-made sink
// whose snapshot the Prometheus exposition (metrics/) will render.
//
// Not for: tracing; the latency histograms live in metrics/.
//
// Thread-safety: RequestMetrics is a value; RequestCounters is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace fl::http {

struct RequestMetrics {
  std::string_view route;   // matched pattern, or "unmatched" (404, 400 before routing)
  std::string_view method;  // "" if the request could not be parsed
  int status = 0;
  uint64_t bytes_in = 0;   // request header + body bytes read
  uint64_t bytes_out = 0;  // response bytes written
  // From the end of the request header to the end of the response's write:
  // reading the body, handling, writing. Not the keep-alive idle time before.
  std::chrono::nanoseconds duration{0};
};

using MetricsSink = std::function<void(const RequestMetrics&)>;

class RequestCounters {
 public:
  struct Key {
    std::string route;
    std::string method;
    int status;
    auto operator<=>(const Key&) const = default;
  };
  struct Snapshot {
    std::map<Key, uint64_t> requests;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
  };

  void record(const RequestMetrics& metrics);
  Snapshot snapshot() const;
  // A sink that records into this object; it must outlive the server.
  MetricsSink sink();

 private:
  mutable std::mutex mu_;
  Snapshot totals_;
};

}  // namespace fl::http
