// ASCII helpers shared by the HTTP server, the SDK transport and auth (header
// names and auth schemes compare case-insensitively, RFC 9110 section 5.1).
#pragma once

#include <cctype>
#include <string_view>

namespace fl {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace fl
