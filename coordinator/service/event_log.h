// The coordinator's operational log: one line per event (a round's outcome, a
// publication, an alert), as text for people or as JSON objects for log
// pipelines (`logging: {format: json}`), carrying the round and version ids
// so a line can be joined with the store's records and the metrics.
//
// Not for: request access logs (the metrics count requests) or debugging.
//
// Thread-safety: thread-safe; each event is written whole with one fwrite.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace fl::coordinator {

struct LogFields {
  std::optional<int64_t> round;
  std::optional<int64_t> version;
  std::string model;
};

class EventLog {
 public:
  explicit EventLog(bool json, std::FILE* out = stdout) : json_(json), out_(out) {}
  // level: "info", "warning" or "error"; event: a fixed name ("round_completed").
  void write(std::string_view level, std::string_view event, std::string_view message,
             const LogFields& fields = {});

 private:
  const bool json_;
  std::FILE* const out_;
  std::mutex mu_;
};

}  // namespace fl::coordinator
