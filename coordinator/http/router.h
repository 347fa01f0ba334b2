// Maps method + path to a handler. Patterns are '/'-separated segments, each
// either literal or a parameter: `{name}` (one whole segment) or `{name}:verb`
// (a segment ending in a literal suffix, as TensorFlow Serving's
// `/v1/models/{name}:predict`). When several patterns match, the one whose
// first differing segment is literal wins, so `/v1/rounds/current` beats
// `/v1/rounds/{round}` whatever the registration order.
//
// Each route carries its limits and auth class: the body size limit is
// applied from the request header, before any body byte is read; the auth
// class is a tag ("client", "admin", ...) the server's authorizer interprets.
//
// Not for: regexes, wildcards, or routing on headers.
//
// Thread-safety: build it on one thread, then hand it to HttpServer; after that
// it is read-only and shared by the io threads.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "coordinator/http/request.h"
#include "coordinator/http/response.h"

namespace fl::http {

// Runs on an io thread: must not block for long (no disk syncs, no waiting on
// other requests); hand long work to another thread and answer 202.
// Exceptions are caught and answered with 500.
using Handler = std::function<Response(const Request&)>;

inline constexpr size_t kDefaultMaxBodyBytes = size_t{1} << 20;   // 1 MiB
inline constexpr size_t kLargestMaxBodyBytes = size_t{64} << 20;  // 64 MiB: model updates

struct RouteOptions {
  size_t max_body_bytes = kDefaultMaxBodyBytes;  // at most kLargestMaxBodyBytes
  std::string auth_class;                        // "" = no authentication
  bool rate_limited = true;                      // false for probes (/healthz)
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
};

class Router {
 public:
  // InvalidArgument for a malformed pattern or limit, AlreadyExists for a
  // duplicate method + pattern.
  Status add(std::string_view method, std::string_view pattern, Handler handler,
             RouteOptions options = {});

  struct Match {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed } kind = Kind::kNotFound;
    const Route* route = nullptr;                            // when kFound
    std::map<std::string, std::string, std::less<>> params;  // when kFound
    std::vector<std::string> allowed_methods;                // when kMethodNotAllowed
  };
  // `path` without the query string.
  Match match(std::string_view method, std::string_view path) const;

  size_t size() const { return routes_.size(); }

 private:
  struct Segment {
    bool is_param = false;
    std::string literal;  // the literal, or the suffix after "}" for params
    std::string name;     // parameter name
  };
  struct Compiled {
    Route route;
    std::vector<Segment> segments;
  };
  static bool match_segments(const std::vector<Segment>& pattern,
                             const std::vector<std::string_view>& path,
                             std::map<std::string, std::string, std::less<>>* params);
  std::vector<Compiled> routes_;
};

}  // namespace fl::http
