#include "coordinator/http/router.h"

#include <algorithm>

namespace fl::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path[0] != '/') return segments;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

Status Router::add(std::string_view method, std::string_view pattern, Handler handler,
                   RouteOptions options) {
  if (method.empty() ||
      !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return InvalidArgument("route method must be an upper-case verb, got '" + std::string(method) +
                           "'");
  if (pattern.empty() || pattern[0] != '/')
    return InvalidArgument("route pattern must start with '/', got '" + std::string(pattern) + "'");
  if (!handler) return InvalidArgument("route " + std::string(pattern) + " has no handler");
  if (options.max_body_bytes > kLargestMaxBodyBytes)
    return InvalidArgument("route " + std::string(pattern) + " body limit " +
                           std::to_string(options.max_body_bytes) + " exceeds the maximum " +
                           std::to_string(kLargestMaxBodyBytes));

  Compiled compiled;
  for (std::string_view text : split_path(pattern)) {
    Segment segment;
    if (!text.empty() && text[0] == '{') {
      const size_t close = text.find('}');
      if (close == std::string_view::npos || close == 1)
        return InvalidArgument("route pattern '" + std::string(pattern) +
                               "' has a malformed {param} segment");
      segment.is_param = true;
      segment.name = std::string(text.substr(1, close - 1));
      segment.literal = std::string(text.substr(close + 1));
      if (!std::all_of(segment.name.begin(), segment.name.end(), is_token_char) ||
          segment.literal.find_first_of("{}") != std::string::npos)
        return InvalidArgument("route pattern '" + std::string(pattern) +
                               "' has a malformed {param} segment");
    } else {
      if (text.find_first_of("{}") != std::string_view::npos)
        return InvalidArgument("route pattern '" + std::string(pattern) +
                               "': braces are only allowed at the start of a segment");
      segment.literal = std::string(text);
    }
    compiled.segments.push_back(std::move(segment));
  }
  for (const Compiled& existing : routes_) {
    if (existing.route.method == method && existing.route.pattern == pattern)
      return AlreadyExists("route " + std::string(method) + " " + std::string(pattern) +
                           " is already registered");
  }
  compiled.route = Route{std::string(method), std::string(pattern), std::move(handler), options};
  routes_.push_back(std::move(compiled));
  return Status::Ok();
}

bool Router::match_segments(const std::vector<Segment>& pattern,
                            const std::vector<std::string_view>& path,
                            std::map<std::string, std::string, std::less<>>* params) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const Segment& segment = pattern[i];
    const std::string_view text = path[i];
    if (!segment.is_param) {
      if (text != segment.literal) return false;
      continue;
    }
    // A parameter matches a non-empty value followed by the literal suffix.
    if (text.size() <= segment.literal.size() ||
        text.substr(text.size() - segment.literal.size()) != segment.literal)
      return false;
    if (params) {
      (*params)[segment.name] =
          percent_decode(text.substr(0, text.size() - segment.literal.size()), false);
    }
  }
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  const std::vector<std::string_view> segments = split_path(path);
  Match result;
  const Compiled* best = nullptr;
  auto more_specific = [](const Compiled& a, const Compiled& b) {
    for (size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
    }
    return false;
  };
  for (const Compiled& compiled : routes_) {
    if (!match_segments(compiled.segments, segments, nullptr)) continue;
    if (compiled.route.method != method) {
      if (std::find(result.allowed_methods.begin(), result.allowed_methods.end(),
                    compiled.route.method) == result.allowed_methods.end())
        result.allowed_methods.push_back(compiled.route.method);
      continue;
    }
    if (best == nullptr || more_specific(compiled, *best)) best = &compiled;
  }
  if (best != nullptr) {
    result.kind = Match::Kind::kFound;
    result.route = &best->route;
    match_segments(best->segments, segments, &result.params);
    result.allowed_methods.clear();
    return result;
  }
  result.kind =
      result.allowed_methods.empty() ? Match::Kind::kNotFound : Match::Kind::kMethodNotAllowed;
  return result;
}

}  // namespace fl::http
