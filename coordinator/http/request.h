// One HTTP request as a route handler sees it: method, target split into path
// and query, headers with case-insensitive lookup, the whole body, the peer
// address, the matched route's path parameters and, after authentication, who
// sent it.
//
// Not for: streaming bodies (the server reads the whole body, bounded by the
// route's limit, before calling the handler).
//
// Thread-safety: a value; handlers get a const reference valid for the call.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"

namespace fl::http {

// Header fields in arrival order; lookup is case-insensitive (RFC 9110 5.1).
class Headers {
 public:
  void add(std::string name, std::string value);
  // Replaces every field called `name` with one.
  void set(std::string_view name, std::string value);
  // The first field called `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

using ::fl::iequals;  // base/ascii.h

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // as on the request line: path and query
  std::string path;    // target before '?', not percent-decoded
  std::string query;   // target after '?', without it; empty if none
  Headers headers;
  std::string body;
  std::string peer_address;  // remote IP, e.g. "127.0.0.1"

  std::string route;  // matched pattern, e.g. "/v1/rounds/{round}"
  std::map<std::string, std::string, std::less<>> params;  // "{round}" -> "17"
  std::optional<uint64_t> client_id;                       // set by client authentication
  bool admin = false;                                      // set by admin authentication
  // Set by client authentication, which runs once the header is read and
  // before any of the body is: the digest (auth::body_hash) the signed header
  // declares for the body. The server reads the body only after that
  // check and refuses it if its digest differs (nullopt: nothing declared).
  std::optional<std::array<uint8_t, 32>> declared_body_hash;

  // A path parameter ("" if the route has none by that name).
  std::string_view param(std::string_view name) const;
  // A query parameter, percent-decoded ('+' as space); nullopt if absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

// Percent-decodes `text`; '+' becomes a space when `plus_as_space`. Invalid
// escapes are kept literally.
std::string percent_decode(std::string_view text, bool plus_as_space);

}  // namespace fl::http
