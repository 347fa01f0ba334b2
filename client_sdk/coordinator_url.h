// Parses the SDK's coordinator address, "http(s)://host[:port][/]".
//
// Not for: paths, queries, user info or proxies; the coordinator's API lives
// at the root of its own host and port.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace fl::client_sdk {

struct CoordinatorUrl {
  bool tls = false;
  std::string host;  // name, IPv4, or IPv6 without brackets
  uint16_t port = 0;
};

// InvalidArgument with the reason for anything else.
Result<CoordinatorUrl> parse_coordinator_url(std::string_view url);

}  // namespace fl::client_sdk
