#include "coordinator/service/event_log.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace fl::coordinator {
namespace {

// RFC 3339 UTC with milliseconds, e.g. 2026-11-23T12:41:07.315Z.
std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace

void EventLog::write(std::string_view level, std::string_view event, std::string_view message,
                     const LogFields& fields) {
  std::string line;
  if (json_) {
    nlohmann::json j = {{"ts", timestamp()}, {"level", level}, {"event", event}, {"msg", message}};
    if (!fields.model.empty()) j["model"] = fields.model;
    if (fields.round) j["round"] = *fields.round;
    if (fields.version) j["version"] = *fields.version;
    // Replace rather than throw on invalid UTF-8 (a message may quote input).
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = std::string(message) + "\n";
  }
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace fl::coordinator
