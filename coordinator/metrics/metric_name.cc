#include "coordinator/metrics/metric_name.h"

#include <string>

namespace fl::metrics {
namespace {

bool is_letter_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Status validate_metric_name(std::string_view name) {
  if (name.empty()) return InvalidArgument("metric name is empty");
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = is_letter_or_underscore(c) || c == ':' || (i > 0 && is_digit(c));
    if (!ok) {
      return InvalidArgument("metric name '" + std::string(name) + "' has '" + std::string(1, c) +
                             "' at position " + std::to_string(i) +
                             "; names match [a-zA-Z_:][a-zA-Z0-9_:]*");
    }
  }
  return Status::Ok();
}

Status validate_label_name(std::string_view name) {
  if (name.empty()) return InvalidArgument("label name is empty");
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!(is_letter_or_underscore(c) || (i > 0 && is_digit(c)))) {
      return InvalidArgument("label name '" + std::string(name) + "' has '" + std::string(1, c) +
                             "' at position " + std::to_string(i) +
                             "; names match [a-zA-Z_][a-zA-Z0-9_]*");
    }
  }
  if (name.starts_with("__")) {
    return InvalidArgument("label name '" + std::string(name) +
                           "' starts with '__', which Prometheus reserves for internal labels");
  }
  return Status::Ok();
}

}  // namespace fl::metrics
