#include "client_sdk/coordinator_url.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

#include "base/ascii.h"

namespace fl::client_sdk {

Result<CoordinatorUrl> parse_coordinator_url(std::string_view url) {
  const std::string quoted = "coordinator URL '" + std::string(url) + "'";
  CoordinatorUrl out;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    return InvalidArgument(quoted + ": must start with http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find_first_of("/?#@ ") != std::string_view::npos)
    return InvalidArgument(quoted + ": expected scheme://host[:port] with no path, query or user");

  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return InvalidArgument(quoted + ": unclosed '['");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument(quoted + ": junk after ']'");
      port = after.substr(1);
      if (port.empty()) return InvalidArgument(quoted + ": empty port");
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return InvalidArgument(quoted + ": empty port");
  }
  if (host.empty()) return InvalidArgument(quoted + ": no host");
  out.host = std::string(host);
  if (port.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return InvalidArgument(quoted + ": port must be a number in 1..65535");
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  if (iequals(host, "localhost")) return true;
  const std::string text(host);  // inet_pton wants a NUL-terminated string
  unsigned char v4[4];
  // inet_pton takes only the strict dotted quad (no "127.1", no octal).
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) return false;
  static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, kLoopback, 16) == 0) return true;
  return std::memcmp(v6, kMappedPrefix, 12) == 0 && v6[12] == 127;
}

}  // namespace fl::client_sdk
