// Parses the SDK's coordinator address, "http(s)://host[:port][/]", and says
// whether its host is loopback (where plain HTTP is allowed by default).
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

// True for a host that never leaves this machine: "localhost" (any case, an
// optional trailing dot), an IPv4 address in 127.0.0.0/8, or the IPv6
// loopback ::1 (any spelling, also as ::ffff:127.x.y.z). Names are not
// resolved: "localhost.example" or a name that resolves to 127.0.0.1 is not
// loopback here.
bool is_loopback_host(std::string_view host);

}  // namespace fl::client_sdk
