// Whether a host name or address stays on this machine: 127.0.0.0/8, ::1 (with
// or without brackets) or "localhost". Plaintext HTTP is allowed only to and
// on such hosts unless an operator opts in (README, "Threat model and
// hardening"): a network attacker can read and rewrite plaintext, including
// the secure aggregation keys that protect an update.
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>

#include "base/ascii.h"

namespace fl {

inline bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (iequals(host, "localhost") || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  // 127.a.b.c with decimal octets 0-255.
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0, digits = 0, value = 0;
  for (char c : host.substr(4)) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = value = 0;
    } else if (c >= '0' && c <= '9') {
      value = value * 10 + (c - '0');
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return dots == 2 && digits > 0;
}

}  // namespace fl
